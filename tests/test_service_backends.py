"""The facade takes its ASR and speech emotion backends from the registries.

``MOODTUNE_ASR_BACKEND`` and ``MOODTUNE_SPEECH_BACKEND`` switch the backends the voice path
of :meth:`Moodtune.emotion_from_audio` uses; the optional ones run on tiny local models
(``tiny_hf``) put in place of their hub default. Speaker statistics are kept only for a
backend that is :class:`~moodtune.speech.backends.SpeakerAdaptive`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moodtune.service import Moodtune

SPEECH = Path(__file__).parent / "data" / "speech"


@pytest.fixture()
def hf() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch", reason="needs the hf extra (torch)")
    transformers = pytest.importorskip("transformers", reason="needs the hf extra (transformers)")
    torch.manual_seed(0)
    return torch, transformers


@pytest.fixture()
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
    assert set(result.transcript) == {"h", "i"} and result.language == "en"
    assert set(result.parts) == {"voice", "text"}
    # the default speech head encoded the voice itself and kept ann's statistics
    stored = svc.catalog().get_voice_stats("ann")
    assert stored is not None and stored["count"] == 1
    monkeypatch.delenv("MOODTUNE_ASR_BACKEND")
    default = svc.emotion_from_audio(SPEECH / "en_happy.ogg", user="ann")
    assert "hi" * 5 not in default.transcript and default.language == "en"
    assert svc.catalog().get_voice_stats("ann")["count"] == 2


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
