"""The facade takes its ASR and speech emotion backends from the registries.

``MOODTUNE_ASR_BACKEND`` and ``MOODTUNE_SPEECH_BACKEND`` switch the backends the voice path
of :meth:`Moodtune.emotion_from_audio` uses; the optional ones run on tiny local models
(``tiny_hf``) put in place of their hub default. Speaker statistics are kept only for a
backend that is :class:`~moodtune.speech.backends.SpeakerAdaptive`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodtune.service import Moodtune

SPEECH = Path(__file__).parent / "data" / "speech"


@pytest.fixture
def hf() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch", reason="needs the hf extra (torch)")
    transformers = pytest.importorskip("transformers", reason="needs the hf extra (transformers)")
    torch.manual_seed(0)
    return torch, transformers


@pytest.fixture
def fresh_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backends load anew in this test (the registries cache them per process)."""
    from moodtune.speech import asr_backends, backends

    monkeypatch.setattr(asr_backends._REGISTRY, "_cache", {})
    monkeypatch.setattr(backends._REGISTRY, "_cache", {})


@pytest.mark.slow
@pytest.mark.requires_hf
@pytest.mark.usefixtures("fresh_registries")
def test_asr_backend_from_the_environment(
    hf: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moodtune.speech.asr_backends import transformers_whisper
    from tiny_hf import tiny_whisper

    model = tiny_whisper(tmp_path, hf, logits={"<|en|>": 2.0, "<|ru|>": 1.0, "hi": 3.0})
    monkeypatch.setattr(transformers_whisper, "DEFAULT_MODEL", str(model))
    monkeypatch.setenv("MOODTUNE_ASR_BACKEND", "transformers_whisper")
    monkeypatch.delenv("MOODTUNE_SPEECH_BACKEND", raising=False)
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    result = svc.emotion_from_audio(SPEECH / "en_happy.ogg", user="ann")
    # the tiny model says "hi" until its length limit, in English: it was the one used
    assert result.transcript is not None and set(result.transcript) == {"h", "i"}
    assert result.language == "en"
    assert set(result.parts) == {"voice", "text"}
    # the default speech head encoded the voice itself and kept ann's statistics
    stored = svc.catalog().get_voice_stats("ann")
    assert stored is not None and stored["count"] == 1
    monkeypatch.delenv("MOODTUNE_ASR_BACKEND")
    default = svc.emotion_from_audio(SPEECH / "en_happy.ogg", user="ann")
    assert default.transcript and "hi" * 5 not in default.transcript
    assert default.language == "en"
    stored = svc.catalog().get_voice_stats("ann")
    assert stored is not None and stored["count"] == 2


@pytest.mark.slow
@pytest.mark.requires_hf
@pytest.mark.usefixtures("fresh_registries")
def test_speech_backend_without_speaker_adaptation(
    hf: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moodtune.speech.backends import SpeakerAdaptive, get_backend, hubert
    from tiny_hf import tiny_hubert

    monkeypatch.setattr(hubert, "DEFAULT_MODEL", str(tiny_hubert(tmp_path, hf[1], winner="ang")))
    monkeypatch.setenv("MOODTUNE_SPEECH_BACKEND", "hubert")
    monkeypatch.delenv("MOODTUNE_ASR_BACKEND", raising=False)
    assert not isinstance(get_backend(), SpeakerAdaptive)
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    result = svc.emotion_from_audio(SPEECH / "en_happy.ogg", user="bob")
    assert result.parts["voice"].label == "anger"  # the tiny HuBERT's dominant class
    assert result.transcript  # the default ASR still transcribed it
    assert svc.catalog().get_voice_stats("bob") is None


@pytest.mark.slow
def test_whisper_head_encodes_a_message_once_without_asr_states(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moodtune.audio.decode import load_audio
    from moodtune.speech.backends import whisper_head
    from moodtune.speech.whisper import WhisperASR, get_whisper

    calls: list[int] = []
    original = WhisperASR.speech_states

    def counting(self: WhisperASR, y: Any, **kwargs: Any) -> Any:
        calls.append(len(y))
        return original(self, y, **kwargs)

    monkeypatch.setattr(WhisperASR, "speech_states", counting)
    backend = whisper_head.load()
    voice = load_audio(SPEECH / "en_happy.ogg")
    features = backend.speaker_features(voice)
    est = backend.predict(voice.copy())  # same samples, another array
    assert len(calls) == 1 and features.ndim == 1
    reference = original(get_whisper(), voice)  # unpatched: not counted
    np.testing.assert_allclose(
        est.probabilities, backend.predict(voice, states=reference).probabilities, atol=1e-6
    )
    backend.predict(load_audio(SPEECH / "en_sad.ogg"))
    assert len(calls) == 2
