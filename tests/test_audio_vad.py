from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodtune.audio.decode import load_audio
from moodtune.audio.vad import has_speech, is_silent, speech_segments, trim_to_speech
from moodtune.errors import NoSpeechError, ParameterError

SPEECH = Path(__file__).parent / "data" / "speech"
SR = 16000


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(SPEECH / "en_happy.ogg")


def test_speech_is_found(speech):
    assert has_speech(speech)
    segments = speech_segments(speech)
    assert segments and all(0 <= a < b <= speech.size for a, b in segments)


def test_silence_around_speech_is_trimmed(speech):
    pause = np.zeros(3 * SR, dtype=np.float32)
    y = np.concatenate([pause, speech, pause])
    trimmed = trim_to_speech(y)
    # the 6 s of added silence go, the speech (and at most 0.4 s each side) stays
    assert speech.size - SR <= trimmed.size <= speech.size + SR


def test_other_sample_rates(speech):
    import soxr

    y44 = soxr.resample(speech, SR, 44100)
    segments = speech_segments(y44, sr=44100)
    assert segments and segments[-1][1] <= y44.size
    assert has_speech(y44, sr=44100)


@pytest.mark.parametrize(
    "kind",
    ["digital_silence", "room_noise", "tone", "loud_noise"],
)
def test_no_speech_found(kind, rng):
    n = 3 * SR
    y = {
        "digital_silence": np.zeros(n),
        "room_noise": 0.003 * rng.standard_normal(n),
        "tone": 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / SR),
        "loud_noise": 0.3 * rng.standard_normal(n),
    }[kind].astype(np.float32)
    assert not has_speech(y)
    with pytest.raises(NoSpeechError, match=r"no speech found in 3\.0 s"):
        trim_to_speech(y)


def test_bad_audio_is_rejected():
    with pytest.raises(ParameterError, match="mono"):
        has_speech(np.zeros((2, SR), dtype=np.float32))
    with pytest.raises(ParameterError, match="finite"):
        has_speech(np.full(SR, np.nan, dtype=np.float32))
    with pytest.raises(ParameterError, match="threshold"):
        speech_segments(np.zeros(SR, dtype=np.float32), threshold=1.5)


def test_is_silent(speech, rng):
    assert is_silent(np.zeros(SR, dtype=np.float32))
    assert is_silent((0.001 * rng.standard_normal(SR)).astype(np.float32))
    assert not is_silent(speech)
    assert not is_silent((0.1 * rng.standard_normal(SR)).astype(np.float32))
