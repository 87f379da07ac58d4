"""Cheap prosodic and spectral statistics of one utterance (pitch, energy, rate, MFCC).

They complement the Whisper encoder states, which are trained to ignore how a thing is
said. Everything is computed with librosa on the 16 kHz waveform in a few milliseconds
per second of audio.

The vector, in :data:`PROSODY_NAMES` order (``PROSODY_DIM`` values):

- pitch (YIN, 60-500 Hz) over voiced frames, in semitones re 100 Hz: mean, std, 10th,
  50th and 90th percentiles, range (p90 - p10), slope (semitones per second), mean
  absolute frame-to-frame change (semitones per 10 ms);
- energy (RMS in dB re the 95th percentile of the non-silent frames) over active frames:
  mean, std, p10, p90; share of voiced frames among active ones;
- rate: onsets per second of active speech, pauses (150 ms to 2 s) per second of active
  speech;
- spectrum: centroid mean and std (kHz), flatness mean, zero-crossing-rate mean;
- 13 MFCC means and 13 MFCC standard deviations.

Every statistic is taken over active frames (or counted per active second), so leading
and trailing silence barely changes the vector: it may be computed on the whole message
or on its VAD-trimmed speech. Silence or very short input gives zeros for the statistics
it cannot measure, never NaN.
"""

from __future__ import annotations

import numpy as np

from moodtune.errors import ParameterError

#: Analysis hop (10 ms at 16 kHz) and frame (64 ms).
HOP = 160
FRAME = 1024
#: Pitch search range, Hz.
FMIN, FMAX = 60.0, 500.0
#: Frames within this many dB of the clip's loud frames count as active speech.
ACTIVE_DB = -35.0

_PITCH = ["f0_mean", "f0_std", "f0_p10", "f0_p50", "f0_p90", "f0_range", "f0_slope", "f0_delta"]
_ENERGY = ["rms_mean", "rms_std", "rms_p10", "rms_p90", "voiced_share"]
_RATE = ["onset_rate", "pause_rate"]
_SPEC = ["centroid_mean", "centroid_std", "flatness_mean", "zcr_mean"]
_MFCC = [f"mfcc{i}_mean" for i in range(13)] + [f"mfcc{i}_std" for i in range(13)]

#: Names of the prosody vector's entries.
PROSODY_NAMES: tuple[str, ...] = tuple(_PITCH + _ENERGY + _RATE + _SPEC + _MFCC)
#: Length of the prosody vector.
PROSODY_DIM = len(PROSODY_NAMES)


def _stats(x: np.ndarray) -> tuple[float, float, float, float]:
    if x.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    p10, p90 = np.percentile(x, [10, 90])
    return float(x.mean()), float(x.std()), float(p10), float(p90)


def prosody_features(y: np.ndarray, *, sr: int = 16000) -> np.ndarray:
    """Return the prosody vector of one utterance.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), mono waveform, float in [-1, 1].
    sr : int
        Sample rate in Hz; must be 16000.

    Returns
    -------
    np.ndarray
        Shape (:data:`PROSODY_DIM`,), float64, finite.

    Raises
    ------
    ParameterError
        If ``sr`` is not 16000 or ``y`` is not a 1-D float array of finite values.
    """
    import librosa

    if sr != 16000:
        raise ParameterError(f"sr={sr} must be 16000; resample the audio first")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or not np.all(np.isfinite(y)):
        raise ParameterError(f"y must be a 1-D array of finite samples, got shape {y.shape}")
    out = np.zeros(PROSODY_DIM, dtype=np.float64)
    if y.size < FRAME or float(np.max(np.abs(y))) < 1e-5:
        return out

    rms = librosa.feature.rms(y=y, frame_length=FRAME, hop_length=HOP, center=True)[0]
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-8))
    loud = rms_db[rms_db > rms_db.max() - 60.0]
    ref = float(np.percentile(loud, 95))
    rel_db = rms_db - ref
    active = rel_db > ACTIVE_DB

    f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=sr, frame_length=FRAME, hop_length=HOP)
    n = min(len(f0), len(active))
    f0, active_f = f0[:n], active[:n]
    # YIN always returns a value; keep frames that are loud enough and inside the range.
    voiced = active_f & (f0 > FMIN * 1.05) & (f0 < FMAX * 0.95)
    st = 12.0 * np.log2(f0[voiced] / 100.0)
    i = 0
    if st.size >= 3:
        mean, std, p10, p90 = _stats(st)
        t = np.flatnonzero(voiced) * HOP / sr
        slope = float(np.polyfit(t, st, 1)[0]) if np.ptp(t) > 0 else 0.0
        delta = np.abs(np.diff(st))
        out[i : i + 8] = [
            mean,
            std,
            p10,
            float(np.median(st)),
            p90,
            p90 - p10,
            slope,
            float(np.median(delta)),
        ]
    i += 8

    act = rel_db[active]
    mean, std, p10, p90 = _stats(act)
    n_active = int(active.sum())
    out[i : i + 5] = [mean, std, p10, p90, float(voiced.sum()) / max(n_active, 1)]
    i += 5

    active_s = n_active * HOP / sr
    onsets = librosa.onset.onset_detect(y=y, sr=sr, hop_length=HOP, units="frames")
    # A pause: an inactive run of 150 ms to 2 s between active frames.
    edges = np.diff(active.astype(np.int8))
    starts = np.flatnonzero(edges == -1)
    ends = np.flatnonzero(edges == 1)
    pauses = 0
    for s in starts:
        later = ends[ends > s]
        if later.size and 0.15 <= (later[0] - s) * HOP / sr <= 2.0:
            pauses += 1
    onsets_active = int(np.sum(active[np.clip(onsets, 0, len(active) - 1)]))
    out[i : i + 2] = [onsets_active / max(active_s, 0.1), pauses / max(active_s, 0.1)]
    i += 2

    S = np.abs(librosa.stft(y, n_fft=FRAME, hop_length=HOP))
    cent = librosa.feature.spectral_centroid(S=S, sr=sr)[0][: len(active)]
    flat = librosa.feature.spectral_flatness(S=S)[0][: len(active)]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=FRAME, hop_length=HOP)[0]
    zcr = zcr[: len(active)]
    m = active[: len(cent)]
    out[i : i + 4] = [
        float(cent[m].mean()) / 1000.0,
        float(cent[m].std()) / 1000.0,
        float(flat[m].mean()),
        float(zcr[m[: len(zcr)]].mean()),
    ]
    i += 4

    mel = librosa.feature.melspectrogram(S=S**2, sr=sr, n_mels=40)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=13)
    mm = mfcc[:, active[: mfcc.shape[1]]]
    out[i : i + 13] = mm.mean(axis=1)
    out[i + 13 : i + 26] = mm.std(axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def warm_up() -> None:
    """Import librosa and compile its numba kernels now (about 1-2 s once per process).

    The first :func:`prosody_features` call pays this otherwise; a server can call this
    in a background thread at start-up.
    """
    t = np.arange(FRAME * 4) / 16000.0
    prosody_features((0.1 * np.sin(2 * np.pi * 150.0 * t)).astype(np.float32))
