"""Whether a music track is made to loop: its end joins its start seamlessly.

A track made to loop (game music, a loop from a sample pack) ends where it begins: the
last seconds sound like the first, at the same loudness, and playing the end straight
into the start is no bigger a change than any step inside the track. A song that fades
out, fades in, ends on silence or on a different chord is not. The check is
conservative: a track passes only if every test passes.

The tests, on the mono signal (``y``, ``sr``):

1. **No fade at either end.** The loudness (RMS, dB) of the first and last
   :data:`EDGE_S` seconds is within :data:`FADE_DB` of the track's typical loudness (the
   median of its 100 ms blocks), and the last :data:`EDGE_S` is not more than
   :data:`FADE_DB` below the stretch just before it (a fade-out in progress).
2. **A seam like any other moment.** Log-band spectra (:data:`N_BANDS` log-spaced
   bands, 46 ms frames) of the end played into the start: the largest frame-to-frame
   change across the seam is no larger than :data:`SEAM_QUANTILE` of the changes
   inside the track (times :data:`SEAM_SLACK`), and the sample step at the seam is no
   larger than the largest step inside the track.
3. **The seam keeps the pattern.** The spectra of :data:`SEAM_S` seconds either side
   of the seam (the end played into the start) recur somewhere inside the track about
   as closely as a stretch from the track's middle recurs (a loop cut mid-bar breaks
   its rhythm there). Music with no repetition at all passes when its middle does not
   recur either.
4. **The end sounds like the start.** The mean log-band spectrum of the last
   :data:`MATCH_S` seconds is as close to that of the first :data:`MATCH_S` as
   neighbouring stretches of the track usually are to each other (at most
   :data:`MATCH_SLACK` times their median distance).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import ParameterError

#: Seconds at each end whose loudness is compared with the track's typical loudness.
EDGE_S = 0.5
#: A fade: an end this many dB below the track's typical loudness (or than just before).
FADE_DB = 6.0
#: Log-spaced spectral bands of the seam and match tests.
N_BANDS = 40
#: Quantile of the track's own frame-to-frame changes the seam may reach ...
SEAM_QUANTILE = 0.99
#: ... times this.
SEAM_SLACK = 1.25
#: Seconds of the end and the start compared as wholes.
MATCH_S = 1.0
#: The end-start distance may be this many times the median distance of neighbouring
#: stretches of the track.
MATCH_SLACK = 1.5
#: Seconds on each side of the seam whose spectra must recur somewhere in the track ...
SEAM_S = 1.5
#: ... about as closely as a stretch from the middle of the track recurs: the excess may
#: be this many median frame-to-frame changes.
REPEAT_SLACK = 0.25
#: Shortest track checked, in seconds (a shorter one is not treated as a loop).
MIN_LOOP_S = 2.0
#: Blocks quieter than this (dBFS) count as silence.
SILENCE_DB = -60.0


@dataclass(frozen=True)
class LoopCheck:
    """What :func:`loop_check` found.

    Attributes
    ----------
    loopable : bool
        Every test passed.
    reason : str
        The first test that failed, in words, or ``"its end joins its start"``.
    head_db, tail_db, body_db : float
        Loudness (dBFS, RMS) of the first and last :data:`EDGE_S` and the median of the
        track's 100 ms blocks.
    repeat_gap : float
        How much worse (in median frame-to-frame changes) the stretch across the seam
        recurs in the track than a stretch from its middle does (0 or less: as well).
    seam_ratio : float
        Largest spectral change across the seam over the track's own
        :data:`SEAM_QUANTILE` change (1 or less reads "like any other moment").
    match_ratio : float
        End-start spectral distance over the median distance of neighbouring stretches.
    """

    loopable: bool
    reason: str
    head_db: float
    tail_db: float
    body_db: float
    seam_ratio: float
    match_ratio: float
    repeat_gap: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (numbers rounded to 3 digits)."""
        return {
            "loopable": self.loopable,
            "reason": self.reason,
            **{
                k: round(float(getattr(self, k)), 3)
                for k in (
                    "head_db",
                    "tail_db",
                    "body_db",
                    "seam_ratio",
                    "match_ratio",
                    "repeat_gap",
                )
            },
        }


def _db(x: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def _band_spectra(y: np.ndarray, sr: int, n_fft: int, hop: int) -> np.ndarray:
    """Log-band magnitude spectra (frames, N_BANDS) of ``y`` (no padding)."""
    if y.size < n_fft:
        return np.zeros((0, N_BANDS))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = np.geomspace(40.0, min(16000.0, sr / 2), N_BANDS + 1)
    band = np.searchsorted(edges, freqs, side="right") - 1
    onehot = (band[:, None] == np.arange(N_BANDS)[None, :]).astype(np.float64)
    return np.log10((spec**2) @ onehot + 1e-10)


def _best_match(seq: np.ndarray, probe: np.ndarray, *, exclude: int | None) -> float:
    """Smallest mean frame distance (RMS over bands) of ``probe`` to any window of ``seq``.

    Windows within ``len(probe)`` frames of ``exclude`` (the probe's own place) are skipped.
    """
    from scipy.signal import fftconvolve

    m, n = probe.shape[0], seq.shape[0]
    if n < m or m == 0:
        return float("inf")
    cross = np.zeros(n - m + 1)
    for b in range(seq.shape[1]):
        cross += fftconvolve(seq[:, b], probe[::-1, b], mode="valid")
    sq = np.concatenate([[0.0], np.cumsum(np.sum(seq**2, axis=1))])
    window_sq = sq[m:] - sq[:-m]
    d2 = (window_sq + float(np.sum(probe**2)) - 2.0 * cross) / (m * seq.shape[1])
    if exclude is not None:
        lo, hi = max(0, exclude - m + 1), min(d2.size, exclude + m)
        d2[lo:hi] = np.inf
    return float(np.sqrt(max(float(np.min(d2)), 0.0)))


def _level_check(y: np.ndarray, sr: int) -> tuple[str | None, dict[str, float]]:
    """Why the levels rule a loop out (mostly silent, a fade), or ``None``; and the levels.

    The levels are ``head_db``, ``tail_db`` and ``body_db`` (the median of the loud 0.1 s
    blocks), none when the track is mostly silent.
    """
    block = int(0.1 * sr)
    levels = 10.0 * np.log10(
        np.mean(np.square(y[: y.size // block * block].reshape(-1, block)), axis=1) + 1e-12
    )
    loud = levels[levels > SILENCE_DB]
    if loud.size < levels.size // 2:
        return "it is mostly silent", {}
    edge = int(EDGE_S * sr)
    body, head, tail = float(np.median(loud)), _db(y[:edge]), _db(y[-edge:])
    before = _db(y[-4 * edge : -edge])
    parts = {"head_db": head, "tail_db": tail, "body_db": body}
    if head < body - FADE_DB:
        return "it fades in (or starts on silence)", parts
    if tail < body - FADE_DB or tail < before - FADE_DB:
        return "it fades out (or ends on silence)", parts
    return None, parts


def loop_check(y: np.ndarray, *, sr: int) -> LoopCheck:
    """Decide from the audio whether a track is made to loop (see the module docstring).

    Parameters
    ----------
    y : np.ndarray
        Shape (n,) mono or (channels, n), float, full scale 1.0.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    LoopCheck

    Raises
    ------
    ParameterError
        For a bad sample rate or samples that are not finite numbers.
    """
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or sr < 4000:
        raise ParameterError(f"sr={sr!r} must be a sample rate of 4000 Hz or more")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1:
        raise ParameterError(f"audio has shape {y.shape}; give (n,) or (channels, n)")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio holds NaN or infinite samples")
    nan = float("nan")

    def no(reason: str, **parts: float) -> LoopCheck:
        values = {"head_db": nan, "tail_db": nan, "body_db": nan}
        values.update(parts)
        return LoopCheck(
            False,
            reason,
            values["head_db"],
            values["tail_db"],
            values["body_db"],
            values.get("seam_ratio", nan),
            values.get("match_ratio", nan),
            values.get("repeat_gap", nan),
        )

    if y.size < MIN_LOOP_S * sr:
        return no(f"it is shorter than {MIN_LOOP_S:g} s")
    reason, parts = _level_check(y, sr)
    if reason is not None:
        return no(reason, **parts)
    head, tail, body = parts["head_db"], parts["tail_db"], parts["body_db"]

    n_fft = 1 << int(np.round(np.log2(0.046 * sr)))
    hop = n_fft // 2
    inside = _band_spectra(y, sr, n_fft, hop)
    steps = np.linalg.norm(np.diff(inside, axis=0), axis=1)
    typical = float(np.quantile(steps, SEAM_QUANTILE)) if steps.size else 0.0
    w = max(4 * n_fft, int(SEAM_S * sr))
    if y.size < 4 * w:
        return no(f"it is shorter than {4 * w / sr:g} s", **parts)
    wrap = np.concatenate([y[-w:], y[:w]])
    across = _band_spectra(wrap, sr, n_fft, hop)
    seam = float(np.linalg.norm(np.diff(across, axis=0), axis=1).max())
    seam_ratio = seam / max(typical, 1e-9)
    parts["seam_ratio"] = seam_ratio
    sample_step = abs(float(y[0] - y[-1]))
    if seam_ratio > SEAM_SLACK:
        return no("its end does not run on into its start (a jump at the seam)", **parts)
    if sample_step > float(np.abs(np.diff(y)).max()) * SEAM_SLACK + 1e-6:
        return no("its end does not run on into its start (a click at the seam)", **parts)

    m = across.shape[0]
    wrap_best = _best_match(inside, across, exclude=None)
    mid = (inside.shape[0] - m) // 2
    ref_best = _best_match(inside, inside[mid : mid + m], exclude=mid)
    scale = float(np.median(steps)) if steps.size else 0.0
    parts["repeat_gap"] = (wrap_best - ref_best) / max(scale, 1e-9)
    if not np.isfinite(parts["repeat_gap"]) or parts["repeat_gap"] > REPEAT_SLACK:
        return no("its end does not run on into its start (the seam breaks the pattern)", **parts)

    per = max(1, int(round(MATCH_S * sr / hop)))
    n_win = inside.shape[0] // per
    means = inside[: n_win * per].reshape(n_win, per, N_BANDS).mean(axis=1)
    neighbour = float(np.median(np.linalg.norm(np.diff(means, axis=0), axis=1))) if n_win > 2 else 0
    end_start = float(np.linalg.norm(inside[-per:].mean(axis=0) - inside[:per].mean(axis=0)))
    match_ratio = end_start / max(neighbour, 1e-9)
    parts["match_ratio"] = match_ratio
    if n_win < 3 or match_ratio > MATCH_SLACK:
        return no("its end does not sound like its start", **parts)
    return LoopCheck(
        True,
        "its end joins its start",
        head,
        tail,
        body,
        seam_ratio,
        match_ratio,
        parts["repeat_gap"],
    )


def is_loopable(y: np.ndarray, *, sr: int) -> bool:
    """Whether :func:`loop_check` finds the track made to loop."""
    return loop_check(y, sr=sr).loopable


def loop_check_file(path: str | Path, *, sr: int = 22050) -> LoopCheck:
    """:func:`loop_check` of an audio file (decoded mono at ``sr``)."""
    from moodtune import config
    from moodtune.audio.decode import load_audio

    y = load_audio(Path(path), sr=sr, max_seconds=config.limits().music_seconds, kind="music")
    return loop_check(y, sr=sr)
