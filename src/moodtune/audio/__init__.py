"""Audio input: decoding any container, resampling, limits, and voice activity."""

from __future__ import annotations

from moodtune.audio.decode import MAX_BYTES, MAX_SECONDS, DecodedAudio, decode, load_audio
from moodtune.audio.encode import encode_audio
from moodtune.audio.vad import has_speech, is_silent, speech_segments, trim_to_speech

__all__ = [
    "MAX_BYTES",
    "MAX_SECONDS",
    "DecodedAudio",
    "decode",
    "encode_audio",
    "has_speech",
    "is_silent",
    "load_audio",
    "speech_segments",
    "trim_to_speech",
]
