"""Voice activity: where the speech is, and whether there is any.

Uses the Silero VAD v6 (MIT) ONNX model that the faster-whisper wheel carries
(``faster_whisper.vad``), run by onnxruntime on one thread; about 10 ms of compute per
second of audio. Audio at another rate than 16 kHz is resampled first.
"""

from __future__ import annotations

import logging

import numpy as np

from moodtune.errors import NoSpeechError, ParameterError

logger = logging.getLogger(__name__)

#: The VAD's sample rate, in Hz.
VAD_SR = 16000
#: Audio quieter than this RMS (about -70 dBFS) is treated as silence without the model.
SILENCE_RMS = 3e-4
#: Least total speech, in seconds, for a message to count as speech.
MIN_SPEECH_S = 0.25


def _as_16k(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"audio must be mono with shape (n,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)):
        raise ParameterError("audio must be finite floating-point samples")
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or sr <= 0:
        raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if sr != VAD_SR:
        import soxr

        y = soxr.resample(y, sr, VAD_SR, quality="HQ").astype(np.float32, copy=False)
    return y


def speech_segments(
    y: np.ndarray,
    *,
    sr: int = VAD_SR,
    threshold: float = 0.5,
    min_speech_s: float = MIN_SPEECH_S,
    min_silence_s: float = 2.0,
    pad_s: float = 0.4,
) -> list[tuple[int, int]]:
    """Find the speech in audio with Silero VAD.

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float.
    sr : int
        Sample rate of ``y`` in Hz.
    threshold : float
        Speech probability above which a 32 ms window is speech, in (0, 1).
    min_speech_s : float
        Speech runs shorter than this (seconds) are dropped.
    min_silence_s : float
        Silences shorter than this (seconds) do not split a speech run.
    pad_s : float
        Seconds of context kept on each side of a speech run.

    Returns
    -------
    list of (int, int)
        ``(start, end)`` sample indices into ``y`` (at ``sr``), sorted, not overlapping.
    """
    if not 0.0 < threshold < 1.0:
        raise ParameterError(f"threshold={threshold!r} must lie between 0 and 1")
    y16 = _as_16k(y, sr)
    if y16.size == 0 or float(np.sqrt(np.mean(np.square(y16)))) < SILENCE_RMS:
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=threshold,
        min_speech_duration_ms=int(min_speech_s * 1000),
        min_silence_duration_ms=int(min_silence_s * 1000),
        speech_pad_ms=int(pad_s * 1000),
    )
    chunks = get_speech_timestamps(y16, options, sampling_rate=VAD_SR)
    scale = sr / VAD_SR
    n = np.asarray(y).shape[0]
    return [(int(c["start"] * scale), min(n, int(round(c["end"] * scale)))) for c in chunks]


def has_speech(y: np.ndarray, *, sr: int = VAD_SR, min_speech_s: float = MIN_SPEECH_S) -> bool:
    """Whether audio holds at least ``min_speech_s`` seconds of speech.

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float.
    sr : int
        Sample rate of ``y`` in Hz.
    min_speech_s : float
        Least total speech in seconds.
    """
    segments = speech_segments(y, sr=sr, min_speech_s=min_speech_s, pad_s=0.0)
    return sum(end - start for start, end in segments) >= min_speech_s * sr


def is_silent(
    y: np.ndarray, *, sr: int = VAD_SR, floor_db: float = -45.0, min_sound_s: float = 0.25
) -> bool:
    """Whether audio is silence: less than ``min_sound_s`` of it is louder than ``floor_db``.

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float, full scale 1.0.
    sr : int
        Sample rate of ``y`` in Hz.
    floor_db : float
        RMS level in dBFS (30 ms frames) below which a frame is silent.
    min_sound_s : float
        Least duration of louder frames, in seconds, for the audio to count as sound.
    """
    y = np.asarray(y, dtype=np.float32)
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or sr <= 0:
        raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
    hop = max(1, int(0.03 * sr))
    n = y.shape[0] // hop
    if n == 0:
        return True
    rms = np.sqrt(np.mean(np.square(y[: n * hop].reshape(n, hop)), axis=1))
    loud = rms > 10.0 ** (floor_db / 20.0)
    return float(np.count_nonzero(loud)) * hop / sr < min_sound_s


def trim_to_speech(y: np.ndarray, *, sr: int = VAD_SR, pad_s: float = 0.4) -> np.ndarray:
    """Keep only the speech of a message (silences over 2 s dropped, 0.4 s kept around speech).

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float.
    sr : int
        Sample rate of ``y`` in Hz.
    pad_s : float
        Seconds of context kept on each side of each speech run.

    Returns
    -------
    numpy.ndarray
        The speech runs of ``y`` concatenated, shape (m,), float32, m <= n, at ``sr``.

    Raises
    ------
    NoSpeechError
        If the audio holds no speech (silence, noise, a tone, music without voice).
    """
    segments = speech_segments(y, sr=sr, pad_s=pad_s)
    if not segments:
        duration = np.asarray(y).shape[0] / sr
        raise NoSpeechError(
            f"no speech found in {duration:.1f} s of audio; record the message again, "
            "closer to the microphone"
        )
    y = np.asarray(y, dtype=np.float32)
    return np.concatenate([y[start:end] for start, end in segments])
