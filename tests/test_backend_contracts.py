"""One contract for every registered backend of every registry.

In the spirit of implicit's ``RecommenderBaseTestMixin`` and mirdata's ``test_loaders``:
the backends are discovered from the registries (``available_backends()``), so a new
module in a backend package is tested here without editing this file, and a new
registry makes :func:`test_every_registry_is_covered` fail until it is added.

- text emotion (``moodtune.text``): labels, shape (7,), probabilities sum to 1, valence,
  arousal and confidence in range, batch and single agree, empty batch, bad input is a
  ``ParameterError``;
- speech emotion (``moodtune.speech.backends``): the same for one clip, with and without
  the Whisper states, speaker adaptation when the backend offers it, bad audio;
- ASR (``moodtune.speech.asr_backends``): a ``Transcript`` with an allowed language and a
  probability in range, encoder states when given, a forced language, bad audio and an
  unknown language;
- every backend: the saved form loads back to the same answers, and a missing or corrupt
  one is a ``ModelError``.

Offline defaults load with no options. Optional (``moodtune[hf]``) backends run on tiny
models of their real architecture built here (``tiny_hf``), never on stubs; they skip
only when torch/transformers are not installed. Every case that loads a model is
``slow``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from moodtune.errors import ModelError, NoSpeechError, ParameterError
from moodtune.types import LABELS, EmotionEstimate

ROOT = Path(__file__).resolve().parents[1]
SPEECH = Path(__file__).parent / "data" / "speech"
SR = 16000

#: kind -> (package of the backend modules, module with available_backends/get_backend)
REGISTRIES: dict[str, tuple[str, str]] = {
    "text": ("moodtune.text.backends", "moodtune.text"),
    "speech": ("moodtune.speech.backends", "moodtune.speech.backends"),
    "asr": ("moodtune.speech.asr_backends", "moodtune.speech.asr_backends"),
}

TEXTS = [
    "I am so happy today, everything went well!",
    "Мне очень грустно и одиноко",
    "why does this always happen to me",
    "",
]


# ------------------------------------------------------------------ how to build the optional ones
def _hf() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch", reason="needs the hf extra (torch)")
    transformers = pytest.importorskip("transformers", reason="needs the hf extra (transformers)")
    torch.manual_seed(0)
    return torch, transformers


def _tiny_rubert(tmp: Path) -> dict[str, Any]:
    from tiny_hf import tiny_bert

    return {"model": str(tiny_bert(tmp, _hf()[1], winner="sadness"))}


def _tiny_hubert(tmp: Path) -> dict[str, Any]:
    from tiny_hf import tiny_hubert

    return {"model": str(tiny_hubert(tmp, _hf()[1], winner="ang"))}


def _tiny_transformers_whisper(tmp: Path) -> dict[str, Any]:
    from tiny_hf import tiny_whisper

    path = tiny_whisper(tmp, _hf(), logits={"<|en|>": 2.0, "<|ru|>": 1.0, "hi": 3.0})
    return {"model": str(path)}


#: Load options of backends that need more than ``load()`` (the optional hf ones).
BUILDERS: dict[tuple[str, str], Callable[[Path], dict[str, Any]]] = {
    ("text", "rubert"): _tiny_rubert,
    ("speech", "hubert"): _tiny_hubert,
    ("asr", "transformers_whisper"): _tiny_transformers_whisper,
}


def _registry(kind: str) -> ModuleType:
    return importlib.import_module(REGISTRIES[kind][1])


def _backend_module(kind: str, name: str) -> ModuleType:
    return importlib.import_module(f"{REGISTRIES[kind][0]}.{name}")


def _cases(kind: str) -> list[Any]:
    names = _registry(kind).available_backends()
    return [pytest.param(name, id=f"{kind}-{name}", marks=pytest.mark.slow) for name in names]


@pytest.fixture(scope="module")
def backend_options(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Load options per backend, built once per module (tiny models are written once)."""
    return {}


def _load_options(
    kind: str, name: str, cache: dict[tuple[str, str], dict[str, Any]], factory: Any
) -> dict[str, Any]:
    if (kind, name) not in cache:
        builder = BUILDERS.get((kind, name))
        cache[(kind, name)] = builder(factory.mktemp(f"{kind}-{name}")) if builder else {}
    return cache[(kind, name)]


def _load(kind: str, name: str, cache: Any, factory: Any) -> Any:
    options = _load_options(kind, name, cache, factory)
    try:
        return _registry(kind).get_backend(name, **options)
    except (ModelError, ImportError) as exc:  # pragma: no cover - a new backend
        pytest.fail(
            f"{kind} backend {name!r} does not load with {options or 'no options'} ({exc}); "
            "add a builder of a tiny local model to BUILDERS in this file"
        )


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    from moodtune.audio.decode import load_audio

    return load_audio(SPEECH / "en_happy.ogg")


def _check_estimate(est: Any, *, source: str) -> None:
    assert isinstance(est, EmotionEstimate)
    assert est.source == source
    p = est.probabilities
    assert p.shape == (len(LABELS),) and np.issubdtype(p.dtype, np.floating)
    assert np.all(np.isfinite(p)) and np.all(p >= 0.0)
    np.testing.assert_allclose(p.sum(), 1.0, atol=1e-6)
    assert est.label in LABELS and est.label == LABELS[int(np.argmax(p))]
    assert -1.0 <= est.valence <= 1.0 and -1.0 <= est.arousal <= 1.0
    assert 0.0 <= est.confidence <= 1.0
    assert est.mixed == () or (len(est.mixed) == 2 and set(est.mixed) <= set(LABELS))


# ------------------------------------------------------------------ the registries themselves
def test_every_registry_is_covered() -> None:
    """Each ``BackendRegistry("pkg", ...)`` in the source is one of :data:`REGISTRIES`."""
    found = set()
    for path in (ROOT / "src" / "moodtune").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "BackendRegistry"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    assert found == {package for package, _ in REGISTRIES.values()}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_registry_lists_and_resolves(kind: str) -> None:
    registry = _registry(kind)
    names = registry.available_backends()
    assert names and names == sorted(set(names))
    for name in names:
        module = _backend_module(kind, name)
        assert callable(getattr(module, "load", None)), f"{name} has no load()"
    with pytest.raises(ParameterError, match="unknown"):
        registry.get_backend("no_such_backend")


def test_asr_default_is_registered_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from moodtune.speech import asr_backends

    monkeypatch.delenv("MOODTUNE_ASR_BACKEND", raising=False)
    assert asr_backends.selected_backend() == asr_backends.DEFAULT_BACKEND == "faster_whisper"
    assert "faster_whisper" in asr_backends.available_backends()
    monkeypatch.setenv("MOODTUNE_ASR_BACKEND", "transformers_whisper")
    assert asr_backends.selected_backend() == "transformers_whisper"
    monkeypatch.setenv("MOODTUNE_ASR_BACKEND", "whisper.cpp")
    with pytest.raises(ParameterError, match=r"from \$MOODTUNE_ASR_BACKEND"):
        asr_backends.get_backend()


# ------------------------------------------------------------------ text emotion
@pytest.mark.parametrize("name", _cases("text"))
def test_text_backend_contract(name: str, backend_options: Any, tmp_path_factory: Any) -> None:
    backend = _load("text", name, backend_options, tmp_path_factory)
    assert backend.name == name
    batch = backend.predict_batch(TEXTS)
    assert isinstance(batch, list) and len(batch) == len(TEXTS)
    for est in batch:
        _check_estimate(est, source="text")
    for text, est in zip(TEXTS, batch, strict=True):
        single = backend.predict(text)
        _check_estimate(single, source="text")
        np.testing.assert_allclose(single.probabilities, est.probabilities, atol=1e-5)
    assert backend.predict_batch([]) == []
    assert backend.predict_batch(tuple(TEXTS[:1]))[0].label == batch[0].label


@pytest.mark.parametrize("name", _cases("text"))
def test_text_backend_bad_input(name: str, backend_options: Any, tmp_path_factory: Any) -> None:
    backend = _load("text", name, backend_options, tmp_path_factory)
    with pytest.raises(ParameterError, match="list of strings"):
        backend.predict_batch("one string, not a list")
    with pytest.raises(ParameterError, match=r"texts\[1\]"):
        backend.predict_batch(["fine", 42])
    with pytest.raises(ParameterError):
        backend.predict(None)


# ------------------------------------------------------------------ speech emotion
@pytest.mark.parametrize("name", _cases("speech"))
def test_speech_backend_contract(
    name: str, backend_options: Any, tmp_path_factory: Any, voice: np.ndarray
) -> None:
    from moodtune.speech.whisper import get_whisper

    backend = _load("speech", name, backend_options, tmp_path_factory)
    assert backend.name == name
    est = backend.predict(voice)
    _check_estimate(est, source="voice")
    # the Whisper states of the same message change nothing but the cost
    states = get_whisper().speech_states(voice)
    with_states = backend.predict(voice, states=states)
    np.testing.assert_allclose(with_states.probabilities, est.probabilities, atol=1e-5)
    again = backend.predict(voice.copy())
    np.testing.assert_allclose(again.probabilities, est.probabilities, atol=1e-6)
    middle = voice.size // 2
    short = backend.predict(voice[middle - SR // 2 : middle + SR // 2])  # one second of speech
    _check_estimate(short, source="voice")


@pytest.mark.parametrize("name", _cases("speech"))
def test_speech_backend_speaker_adaptation(
    name: str, backend_options: Any, tmp_path_factory: Any, voice: np.ndarray
) -> None:
    from moodtune.speech.backends import SpeakerAdaptive
    from moodtune.speech.emotion import SpeakerStats

    backend = _load("speech", name, backend_options, tmp_path_factory)
    if not isinstance(backend, SpeakerAdaptive):
        params = inspect.signature(backend.predict).parameters
        assert "speaker_stats" not in params, "takes speaker_stats but is not SpeakerAdaptive"
        return
    features = backend.speaker_features(voice)
    assert features.ndim == 1 and features.size > 0 and np.all(np.isfinite(features))
    stats = SpeakerStats()
    for part in (voice, voice[: voice.size // 2], voice[voice.size // 2 :]):
        stats.update(backend.speaker_features(part))
    assert stats.count == 3
    _check_estimate(backend.predict(voice, speaker_stats=stats), source="voice")


@pytest.mark.parametrize("name", _cases("speech"))
def test_speech_backend_bad_audio(name: str, backend_options: Any, tmp_path_factory: Any) -> None:
    backend = _load("speech", name, backend_options, tmp_path_factory)
    for bad, match in [
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.zeros((2, SR), dtype=np.float32), "mono"),
        (np.full(SR, np.nan, dtype=np.float32), "NaN"),
        (np.zeros(SR, dtype=np.int16), "floating point"),
    ]:
        with pytest.raises(ParameterError, match=match):
            backend.predict(bad)


# ------------------------------------------------------------------ ASR
@pytest.mark.parametrize("name", _cases("asr"))
def test_asr_backend_contract(
    name: str, backend_options: Any, tmp_path_factory: Any, voice: np.ndarray
) -> None:
    from moodtune.speech.asr_backends import Transcript

    backend = _load("asr", name, backend_options, tmp_path_factory)
    assert backend.name == name
    heard = backend.transcribe(voice)
    assert isinstance(heard, Transcript)
    assert isinstance(heard.text, str) and heard.text == heard.text.strip() and heard.text
    assert heard.language in ("ru", "en")
    assert 0.0 <= heard.language_probability <= 1.0
    if heard.states is not None:
        assert heard.states.ndim == 2 and heard.states.shape[1] == 512
        assert heard.states.dtype == np.float32 and np.all(np.isfinite(heard.states))
        assert 0 < heard.states.shape[0] <= -(-voice.size // 320)
    again = backend.transcribe(voice.copy())
    assert (again.text, again.language) == (heard.text, heard.language)
    forced = backend.transcribe(voice, language="ru")
    assert (forced.language, forced.language_probability) == ("ru", 1.0)
    try:  # silence: an empty transcript or NoSpeechError, nothing else
        quiet = backend.transcribe(np.zeros(SR, dtype=np.float32))
        assert isinstance(quiet, Transcript)
    except NoSpeechError:
        pass


@pytest.mark.parametrize("name", _cases("asr"))
def test_asr_backend_bad_input(
    name: str, backend_options: Any, tmp_path_factory: Any, voice: np.ndarray
) -> None:
    backend = _load("asr", name, backend_options, tmp_path_factory)
    with pytest.raises(ParameterError, match="floating point"):
        backend.transcribe(np.zeros(SR, dtype=np.int16))
    with pytest.raises(ParameterError, match="mono"):
        backend.transcribe(np.zeros((2, SR), dtype=np.float32))
    with pytest.raises(ParameterError, match="NaN"):
        backend.transcribe(np.full(SR, np.inf, dtype=np.float32))
    with pytest.raises(ParameterError):
        backend.transcribe(voice, language="xx")


# ------------------------------------------------------------------ saved form round trip
def _answer(kind: str, backend: Any, voice: np.ndarray) -> Any:
    """What the backend says about fixed inputs, for comparing two loads."""
    if kind == "text":
        return np.stack([e.probabilities for e in backend.predict_batch(TEXTS)])
    if kind == "speech":
        return backend.predict(voice).probabilities
    heard = backend.transcribe(voice)
    return (heard.text, heard.language, round(heard.language_probability, 5))


def _resave(kind: str, name: str, backend: Any, options: dict[str, Any], tmp: Path) -> Any:
    """Write the backend's saved form to ``tmp`` and load it back through its ``load``.

    The saved form is found from ``load``'s signature: ``head_path`` (an ``.npz`` head next
    to ``default_head_path()``), ``model`` (a ``save_pretrained`` directory) or ``path`` (a
    CTranslate2 model directory). Also checks that a missing or corrupt one is a ModelError.
    """
    module = _backend_module(kind, name)
    params = inspect.signature(module.load).parameters
    if "head_path" in params:
        with np.load(module.default_head_path(), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        np.savez(tmp / "head.npz", **arrays)
        with pytest.raises(ModelError):
            module.load(head_path=tmp / "missing.npz")
        (tmp / "corrupt.npz").write_bytes(b"not a numpy file")
        with pytest.raises(ModelError):
            module.load(head_path=tmp / "corrupt.npz")
        return module.load(head_path=tmp / "head.npz")
    if "model" in params:
        out = tmp / "resaved"
        backend.model.save_pretrained(out)
        for attr in ("tokenizer", "processor", "feature_extractor"):
            if hasattr(backend, attr):
                getattr(backend, attr).save_pretrained(out)
        with pytest.raises(ModelError):
            module.load(**(options | {"model": str(tmp / "missing")}))
        return module.load(**(options | {"model": str(out)}))
    if "path" in params:
        directory = Path(backend.whisper.path)
        with pytest.raises(ModelError):
            module.load(path=tmp / "missing")
        return module.load(path=directory, cpu_threads=1)
    pytest.fail(f"{kind} backend {name!r}: load() takes none of head_path, model, path")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        pytest.param(kind, p.values[0], id=p.id, marks=pytest.mark.slow)
        for kind in sorted(REGISTRIES)
        for p in _cases(kind)
    ],
)
def test_saved_form_round_trip(
    kind: str,
    name: str,
    backend_options: Any,
    tmp_path_factory: Any,
    tmp_path: Path,
    voice: np.ndarray,
) -> None:
    backend = _load(kind, name, backend_options, tmp_path_factory)
    options = _load_options(kind, name, backend_options, tmp_path_factory)
    again = _resave(kind, name, backend, options, tmp_path)
    assert again is not backend and again.name == backend.name
    before, after = _answer(kind, backend, voice), _answer(kind, again, voice)
    if isinstance(before, np.ndarray):
        np.testing.assert_allclose(after, before, atol=1e-6)
    else:
        assert after == before
