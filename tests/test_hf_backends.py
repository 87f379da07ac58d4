"""Optional Hugging Face backends on tiny models built here (no download, random weights).

Each test builds a model of the real architecture (BERT, HuBERT, Whisper) from a tiny
config, writes it with ``save_pretrained`` into a temporary directory, loads it through
moodtune's backend, and checks the wiring: shapes, the 7-label distribution, and that the
label mapping puts the mass where the model's logits say (classifier biases are set so
one class dominates). Tests that need torch/transformers are marked ``requires_hf`` and
skip only when those are not importable.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodtune.errors import MissingDependencyError, ModelError, ParameterError
from moodtune.hf import label_index_map, require_hf, scores_to_probabilities, split_windows
from moodtune.types import LABELS
from tiny_hf import RUBERT_LABELS, SR, SUPERB_LABELS
from tiny_hf import tiny_bert as _tiny_bert
from tiny_hf import tiny_hubert as _tiny_hubert
from tiny_hf import tiny_whisper as _tiny_whisper


@pytest.fixture
def hf() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch", reason="needs the hf extra (torch)")
    transformers = pytest.importorskip("transformers", reason="needs the hf extra (transformers)")
    torch.manual_seed(0)
    return torch, transformers


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ---------------------------------------------------------------- torch-free helpers


def test_label_index_map_rubert_and_superb() -> None:
    idx = label_index_map({str(i): n for i, n in enumerate(RUBERT_LABELS)})
    assert [LABELS[i] for i in idx] == [
        "neutral",
        "happiness",
        "sadness",
        "surprise",
        "fear",
        "anger",
    ]
    from moodtune.speech.backends.hubert import SUPERB_LABELS as ALIASES

    idx = label_index_map(dict(enumerate(SUPERB_LABELS)), ALIASES)
    assert [LABELS[i] for i in idx] == ["neutral", "happiness", "anger", "sadness"]


def test_label_index_map_rejects_unknown_and_gaps() -> None:
    with pytest.raises(ModelError, match="'LABEL_3'"):
        label_index_map({0: "joy", 1: "LABEL_3"})
    with pytest.raises(ModelError, match="0..n-1"):
        label_index_map({0: "joy", 2: "sadness"})


def test_scores_to_probabilities_sums_and_zeros_missing_labels() -> None:
    idx = label_index_map(
        dict(enumerate(SUPERB_LABELS)),
        {"neu": "neutral", "hap": "happiness", "ang": "anger", "sad": "sadness"},
    )
    p = scores_to_probabilities(np.array([[0.1, 0.2, 0.6, 0.1], [0.0, 0.0, 0.0, 0.0]]), idx)
    assert p.shape == (2, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert LABELS[int(np.argmax(p[0]))] == "anger"
    for lab in ("fear", "disgust", "surprise"):
        assert p[0, LABELS.index(lab)] == 0.0
    # all-zero scores: uniform over the labels the model has
    np.testing.assert_allclose(p[1, [LABELS.index(x) for x in ("neutral", "anger")]], 0.25)


def test_split_windows_cover_balanced() -> None:
    w = split_windows(65 * SR, 30 * SR)
    assert len(w) == 3 and w[0][0] == 0 and w[-1][1] == 65 * SR
    assert all(b - a <= 30 * SR for a, b in w)
    assert all(a == b for (_, a), (b, _) in zip(w[:-1], w[1:], strict=True))
    assert split_windows(10, 30) == [(0, 10)]
    with pytest.raises(ParameterError):
        split_windows(10, 0)


def test_missing_extra_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch":
            return types.ModuleType("torch")
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr("moodtune.hf.importlib.import_module", fake)
    with pytest.raises(
        MissingDependencyError, match=r"transformers .*pip install 'moodtune\[hf\]'"
    ):
        require_hf()
    from moodtune.speech.asr_backends import transformers_whisper
    from moodtune.speech.backends import hubert
    from moodtune.text.backends import rubert

    for module in (rubert, hubert, transformers_whisper):
        with pytest.raises(MissingDependencyError, match="transformers"):
            module.load(model="/nonexistent")


def test_missing_torch_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr("moodtune.hf.importlib.import_module", fake)
    with pytest.raises(MissingDependencyError, match=r"torch .*moodtune\[hf\]"):
        require_hf()


def test_backends_are_registered() -> None:
    from moodtune.speech import asr_backends, backends
    from moodtune.text import available_backends

    assert "rubert" in available_backends()
    assert "hubert" in backends.available_backends()
    assert "transformers_whisper" in asr_backends.available_backends()


def test_asr_registry_default_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from moodtune.speech import asr_backends

    monkeypatch.delenv("MOODTUNE_ASR_BACKEND", raising=False)
    assert asr_backends.selected_backend() == "faster_whisper"
    assert "faster_whisper" in asr_backends.available_backends()
    with pytest.raises(ParameterError, match="'nope' is unknown"):
        asr_backends.get_backend("nope")
    monkeypatch.setenv("MOODTUNE_ASR_BACKEND", "transformers_whisper")
    assert asr_backends.selected_backend() == "transformers_whisper"
    monkeypatch.setenv("MOODTUNE_ASR_BACKEND", "nope")
    with pytest.raises(ParameterError, match=r"'nope' \(from \$MOODTUNE_ASR_BACKEND\)"):
        asr_backends.get_backend()


# ---------------------------------------------------------------- rubert (BERT)


@pytest.mark.requires_hf
@pytest.mark.parametrize(
    ("winner", "label"), [("sadness", "sadness"), ("joy", "happiness"), ("no_emotion", "neutral")]
)
def test_rubert_maps_dominant_class(
    hf: tuple[Any, Any], tmp_path: Path, winner: str, label: str
) -> None:
    from moodtune.text.backends import rubert

    backend = rubert.load(model=str(_tiny_bert(tmp_path, hf[1], winner=winner)))
    assert backend.name == "rubert" and backend.activation == "sigmoid"
    texts = ["мне очень грустно сегодня", "I am very happy today.", "", "x " * 2000]
    results = backend.predict_batch(texts)
    assert len(results) == len(texts)
    for est in results:
        assert est.source == "text"
        assert est.probabilities.shape == (7,)
        np.testing.assert_allclose(est.probabilities.sum(), 1.0)
        assert est.label == label
        assert est.probabilities[LABELS.index("disgust")] == 0.0
        # sigmoid(4) against five sigmoid(-4): 0.982 / (0.982 + 5 * 0.018)
        np.testing.assert_allclose(est.probabilities.max(), 0.9159, atol=1e-3)
        assert -1.0 <= est.valence <= 1.0 and -1.0 <= est.arousal <= 1.0
    single = backend.predict("мне очень грустно сегодня")
    np.testing.assert_allclose(single.probabilities, results[0].probabilities, atol=1e-6)
    assert backend.predict_batch([]) == []


@pytest.mark.requires_hf
def test_rubert_through_registry_and_bad_dir(hf: tuple[Any, Any], tmp_path: Path) -> None:
    from moodtune.text import get_backend

    backend = get_backend("rubert", model=str(_tiny_bert(tmp_path, hf[1], winner="fear")))
    assert backend.predict("страшно").label == "fear"
    from moodtune.text.backends import rubert

    with pytest.raises(ModelError, match="save_pretrained"):
        rubert.load(model=str(tmp_path / "nothing-here"))


# ---------------------------------------------------------------- hubert


@pytest.mark.requires_hf
@pytest.mark.parametrize(
    ("winner", "label"), [("ang", "anger"), ("neu", "neutral"), ("hap", "happiness")]
)
def test_hubert_maps_dominant_class_any_length(
    hf: tuple[Any, Any], tmp_path: Path, rng: np.random.Generator, winner: str, label: str
) -> None:
    from moodtune.speech.backends import hubert

    backend = hubert.load(model=str(_tiny_hubert(tmp_path, hf[1], winner=winner)), max_window_s=1.0)
    assert backend.name == "hubert"
    states = np.zeros((50, 512), dtype=np.float32)
    for seconds in (0.02, 0.5, 1.0, 2.7):
        y = (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
        est = backend.predict(y, states=states)
        assert est.source == "voice"
        assert est.probabilities.shape == (7,)
        np.testing.assert_allclose(est.probabilities.sum(), 1.0)
        assert est.label == label
        # softmax of (3, 0, 0, 0): e^3 / (e^3 + 3)
        np.testing.assert_allclose(est.probabilities.max(), 0.8700, atol=1e-3)
        for missing in ("fear", "disgust", "surprise"):
            assert est.probabilities[LABELS.index(missing)] == 0.0


@pytest.mark.requires_hf
def test_hubert_windows_are_duration_weighted(
    hf: tuple[Any, Any], tmp_path: Path, rng: np.random.Generator
) -> None:
    from moodtune.speech.backends import hubert

    path = str(_tiny_hubert(tmp_path, hf[1], winner="sad"))
    # make the head input-dependent again so windows differ
    torch = hf[0]
    net = hf[1].HubertForSequenceClassification.from_pretrained(path)
    with torch.no_grad():
        net.classifier.weight.normal_(0.0, 1.0)
    net.save_pretrained(path)
    backend = hubert.load(model=path, max_window_s=1.0)
    y = (0.1 * rng.standard_normal(int(2.5 * SR))).astype(np.float32)
    whole = backend.class_probabilities(y)
    parts = [backend.class_probabilities(y[a:b]) * (b - a) for a, b in split_windows(y.size, SR)]
    np.testing.assert_allclose(whole, np.sum(parts, axis=0) / y.size, atol=1e-5)


@pytest.mark.requires_hf
def test_hubert_bad_audio(hf: tuple[Any, Any], tmp_path: Path) -> None:
    from moodtune.speech.backends import hubert

    backend = hubert.load(model=str(_tiny_hubert(tmp_path, hf[1], winner="ang")))
    with pytest.raises(ParameterError, match="empty"):
        backend.predict(np.zeros(0, dtype=np.float32))
    with pytest.raises(ParameterError, match="mono"):
        backend.predict(np.zeros((2, 1600), dtype=np.float32))
    with pytest.raises(ParameterError, match="NaN"):
        backend.predict(np.full(1600, np.nan, dtype=np.float32))


# ---------------------------------------------------------------- whisper


@pytest.mark.requires_hf
def test_whisper_detects_language_and_decodes(
    hf: tuple[Any, Any], tmp_path: Path, rng: np.random.Generator
) -> None:
    from moodtune.speech.asr_backends import get_backend
    from moodtune.speech.asr_backends import transformers_whisper as tw

    path = _tiny_whisper(tmp_path, hf, logits={"<|ru|>": 2.0, "<|en|>": 1.0, "hi": 3.0})
    backend = get_backend("transformers_whisper", model=str(path))
    assert backend.name == "transformers_whisper"
    y = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    out = backend.transcribe(y)
    assert out.language == "ru"
    # softmax over the allowed language tokens (2, 1)
    np.testing.assert_allclose(out.language_probability, 1 / (1 + np.exp(-1.0)), atol=1e-4)
    # "hi" wins every step until the length limit: 15 tokens per second of audio
    assert out.text == "hi" * 45
    forced = backend.transcribe(y, language="EN")
    assert (forced.language, forced.language_probability) == ("en", 1.0)
    only_en = tw.load(model=str(path), languages=("en",)).transcribe(y)
    assert (only_en.language, only_en.language_probability) == ("en", 1.0)


@pytest.mark.requires_hf
def test_whisper_lengths_windows_and_end_of_text(
    hf: tuple[Any, Any], tmp_path: Path, rng: np.random.Generator
) -> None:
    from moodtune.speech.asr_backends import transformers_whisper as tw

    talk = tw.load(model=str(_tiny_whisper(tmp_path, hf, logits={"<|en|>": 1.0, "hi": 3.0})))
    for seconds in (0.05, 1.0):
        y = (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
        assert talk.transcribe(y).text == "hi" * tw.MIN_TOKENS
    # 40 s: two 20 s windows, each capped by the model's 64 target positions
    y = (0.1 * rng.standard_normal(40 * SR)).astype(np.float32)
    out = talk.transcribe(y)
    cap = 64 - tw.PROMPT_TOKENS - 1
    assert out.text == " ".join(["hi" * cap] * 2)
    assert out.language == "en"
    # end-of-text wins at once: an empty transcript, not an error
    quiet = tw.load(
        model=str(_tiny_whisper(tmp_path, hf, logits={"<|endoftext|>": 5.0, "<|ru|>": 1.0}))
    )
    out = quiet.transcribe(np.zeros(SR, dtype=np.float32))
    assert (out.text, out.language) == ("", "ru")


@pytest.mark.requires_hf
def test_whisper_bad_input(hf: tuple[Any, Any], tmp_path: Path) -> None:
    from moodtune.speech.asr_backends import transformers_whisper as tw

    path = _tiny_whisper(tmp_path, hf, logits={"hi": 1.0})
    with pytest.raises(ParameterError, match="no token <\\|de\\|>"):
        tw.load(model=str(path), languages=("ru", "de"))
    backend = tw.load(model=str(path))
    with pytest.raises(ParameterError, match="no token"):
        backend.transcribe(np.zeros(SR, dtype=np.float32), language="xx")
    with pytest.raises(ParameterError, match="floating point"):
        backend.transcribe(np.zeros(SR, dtype=np.int16))
    with pytest.raises(ModelError):
        tw.load(model=str(tmp_path / "missing"))
