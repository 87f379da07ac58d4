"""Speech models: Whisper ASR (transcript, language) and its encoder states."""

from __future__ import annotations

from moodtune.speech.whisper import VoiceAnalysis, WhisperASR, ensure_model_files, get_whisper

__all__ = ["VoiceAnalysis", "WhisperASR", "ensure_model_files", "get_whisper"]
