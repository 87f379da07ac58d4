"""The ducking gain envelope: music dips while someone speaks and rises in the pauses.

This is the one piece of DSP moodtune writes by hand (decoding, resampling, loudness and
encoding come from PyAV, soxr/scipy and pyloudnorm). It works on a frame grid (10 ms by
default) and is then interpolated to the sample rate.

The envelope is computed offline, so it can look ahead: the attack starts ``attack_s``
*before* speech begins, and the music is fully down when the first syllable lands, the
way an engineer draws a duck by hand. After speech stops the gain is *held* down for
``hold_s`` (short breaths between words do not pump the music), then *released* back to
0 dB over ``release_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from moodtune.errors import ParameterError


@dataclass(frozen=True)
class DuckingParams:
    """How the music ducks under speech.

    Attributes
    ----------
    depth_db : float
        Gain applied to the music during speech, in dB below its level in the pauses (> 0).
    attack_s : float
        Time the gain takes to fall to ``-depth_db``, in seconds; it starts this long before
        speech (look-ahead).
    hold_s : float
        Time the gain stays down after speech ends, in seconds.
    release_s : float
        Time the gain takes to rise back to 0 dB after the hold, in seconds.
    hop_s : float
        Frame step of the envelope, in seconds.
    """

    depth_db: float = 12.0
    attack_s: float = 0.15
    hold_s: float = 0.35
    release_s: float = 0.6
    hop_s: float = 0.01

    def __post_init__(self) -> None:
        if not np.isfinite(self.depth_db) or not 0.0 < self.depth_db <= 60.0:
            raise ParameterError(f"depth_db={self.depth_db!r} must be in (0, 60] dB")
        for name in ("attack_s", "hold_s", "release_s"):
            value = getattr(self, name)
            if not np.isfinite(value) or not 0.0 <= value <= 10.0:
                raise ParameterError(f"{name}={value!r} must be in [0, 10] seconds")
        if not np.isfinite(self.hop_s) or not 0.001 <= self.hop_s <= 0.1:
            raise ParameterError(f"hop_s={self.hop_s!r} must be in [0.001, 0.1] seconds")


def segments_to_activity(
    segments: Sequence[tuple[int, int]], *, n_samples: int, sr: int, hop_s: float = 0.01
) -> np.ndarray:
    """Turn speech segments (sample indices) into a boolean activity per frame.

    Parameters
    ----------
    segments : sequence of (int, int)
        ``(start, end)`` sample indices of speech, at ``sr``.
    n_samples : int
        Length of the audio, in samples.
    sr : int
        Sample rate in Hz.
    hop_s : float
        Frame step in seconds.

    Returns
    -------
    numpy.ndarray
        Shape (n_frames,), bool; frame ``i`` covers time ``i * hop_s``.
    """
    hop = hop_s * sr
    n_frames = int(np.ceil(n_samples / hop)) + 1
    active = np.zeros(n_frames, dtype=bool)
    for start, end in segments:
        a = max(0, int(np.floor(start / hop)))
        b = min(n_frames, int(np.ceil(end / hop)) + 1)
        active[a:b] = True
    return active


def ducking_gain_db(active: np.ndarray, params: DuckingParams) -> np.ndarray:
    """Compute the ducking gain per frame from voice activity.

    Parameters
    ----------
    active : numpy.ndarray
        Shape (n_frames,), bool: speech in frame ``i``.
    params : DuckingParams
        Depth, attack, hold, release and frame step.

    Returns
    -------
    numpy.ndarray
        Shape (n_frames,), float64 gain in dB, in [-depth_db, 0]: ``-depth_db`` throughout
        every speech frame, 0 dB in pauses longer than hold + release + attack.

    Examples
    --------
    >>> p = DuckingParams(depth_db=10, attack_s=0.2, hold_s=0.2, release_s=0.3, hop_s=0.1)
    >>> act = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    >>> ducking_gain_db(act, p).round(1).tolist()
    [0.0, 0.0, -5.0, -10.0, -10.0, -10.0, -10.0, -6.7, -3.3, 0.0, 0.0]
    """
    active = np.asarray(active, dtype=bool)
    n = active.shape[0]
    hop = params.hop_s
    attack = max(1, int(round(params.attack_s / hop)))
    hold = int(round(params.hold_s / hop))
    release = max(1, int(round(params.release_s / hop)))
    depth = float(params.depth_db)
    # Duck amount in [0, 1] (1 = fully down). Hold: extend each run of speech forwards.
    held = active.copy()
    if hold > 0 and n:
        last = -(10**9)
        for i in range(n):
            if active[i]:
                last = i
            elif i - last <= hold:
                held[i] = True
    duck = np.zeros(n, dtype=np.float64)
    # Release: after a held run, fall linearly (in dB) from 1 to 0 over `release` frames.
    level = 0.0
    for i in range(n):
        level = 1.0 if held[i] else max(0.0, level - 1.0 / release)
        duck[i] = level
    # Attack with look-ahead: reach 1 at the first speech frame, starting `attack` earlier.
    ahead = np.zeros(n, dtype=np.float64)
    level = 0.0
    for i in range(n - 1, -1, -1):
        level = 1.0 if held[i] else max(0.0, level - 1.0 / attack)
        ahead[i] = level
    duck = np.maximum(duck, ahead)
    duck[duck < 1e-9] = 0.0  # rounding residue of the ramps
    return -depth * duck + 0.0  # + 0.0 turns -0.0 into 0.0


def gain_curve(gain_db: np.ndarray, *, n_samples: int, sr: int, hop_s: float = 0.01) -> np.ndarray:
    """Interpolate a per-frame dB gain to a linear gain per sample.

    Parameters
    ----------
    gain_db : numpy.ndarray
        Shape (n_frames,), gain in dB, frame ``i`` at time ``i * hop_s``.
    n_samples : int
        Number of samples wanted.
    sr : int
        Sample rate in Hz.
    hop_s : float
        Frame step in seconds.

    Returns
    -------
    numpy.ndarray
        Shape (n_samples,), float32 linear gain.
    """
    t = np.arange(n_samples, dtype=np.float64) / sr
    frames_t = np.arange(gain_db.shape[0], dtype=np.float64) * hop_s
    return np.power(10.0, np.interp(t, frames_t, gain_db) / 20.0).astype(np.float32)
