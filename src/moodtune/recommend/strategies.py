"""Strategies: the path a playlist takes through the emotion circumplex.

A strategy turns the listener's current point (valence, arousal in [-1, 1]) into one
target point per playlist position (:func:`trajectory`).

``match``
    Every position targets the listener's own point: music that mirrors the mood.
``uplift``
    The iso principle of music therapy (Altshuler 1948, "A psychiatrist's experience with
    music as a therapeutic agent"; Heiderscheit & Madson 2015, "Use of the iso principle
    as a central method in mood management: a music psychotherapy clinical case study",
    Music Therapy Perspectives 33(1)): first meet the listener where they are, then move
    step by step towards the wished state. The first track targets the current point; the
    last targets the end point below; the positions in between lie on the straight line
    between them (equal steps).

    End point: valence ``max(valence, 0.6)`` (at least as positive as Russell's
    "pleased"/"glad" region) and arousal ``0.1 - 0.35 * arousal``: a highly aroused
    listener (angry, afraid, anxious; arousal 0.6-0.8) ends calmer (about -0.1 … -0.2), a
    low-arousal one (sad, tired; arousal about -0.4) ends a bit more energetic (about
    0.25), a neutral one ends at a mild 0.1.
``calm``
    Towards low arousal: end point ``(max(valence, 0.2), min(arousal, -0.6))``, calm and
    mildly pleasant (Russell's "relaxed"/"serene" quadrant) rather than sad.
``energize``
    Towards high arousal and positive valence: end point
    ``(max(valence, 0.5), max(arousal, 0.7))``.

``calm`` and ``energize`` are explicit wishes, so they move faster than ``uplift``: the
first track is already one step away from the current point and the end point is
reached half-way through the playlist, where it stays.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from moodtune.config import MAX_TRACKS, MIN_TRACKS
from moodtune.errors import ParameterError
from moodtune.recommend.targets import check_point

#: Valid strategy names.
STRATEGIES: tuple[str, ...] = ("match", "uplift", "calm", "energize")

#: Lowest valence an ``uplift`` playlist ends at.
UPLIFT_VALENCE = 0.6
#: ``uplift`` end arousal is ``UPLIFT_AROUSAL_CENTRE - UPLIFT_AROUSAL_PULL * arousal``.
UPLIFT_AROUSAL_CENTRE = 0.1
UPLIFT_AROUSAL_PULL = 0.35
#: ``calm`` end point: arousal at most this, valence at least :data:`CALM_VALENCE`.
CALM_AROUSAL = -0.6
CALM_VALENCE = 0.2
#: ``energize`` end point: arousal at least this, valence at least :data:`ENERGIZE_VALENCE`.
ENERGIZE_AROUSAL = 0.7
ENERGIZE_VALENCE = 0.5


def check_strategy(strategy: str) -> str:
    """Return ``strategy`` if valid.

    Raises
    ------
    ParameterError
        Naming the valid strategies.
    """
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ParameterError(
            f"strategy {strategy!r} is unknown; use one of: {', '.join(STRATEGIES)}"
        )
    return strategy


def check_n(n: int) -> int:
    """Return the playlist length ``n`` if it is an integer in [MIN_TRACKS, MAX_TRACKS].

    Raises
    ------
    ParameterError
        If ``n`` is not an integer in range.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ParameterError(f"n={n!r} must be an integer from {MIN_TRACKS} to {MAX_TRACKS}")
    if not MIN_TRACKS <= int(n) <= MAX_TRACKS:
        raise ParameterError(f"n={n} is out of range; ask for {MIN_TRACKS} to {MAX_TRACKS} tracks")
    return int(n)


def _uplift_end(valence: float, arousal: float) -> tuple[float, float]:
    return (
        max(valence, UPLIFT_VALENCE),
        UPLIFT_AROUSAL_CENTRE - UPLIFT_AROUSAL_PULL * arousal,
    )


def _calm_end(valence: float, arousal: float) -> tuple[float, float]:
    return max(valence, CALM_VALENCE), min(arousal, CALM_AROUSAL)


def _energize_end(valence: float, arousal: float) -> tuple[float, float]:
    return max(valence, ENERGIZE_VALENCE), max(arousal, ENERGIZE_AROUSAL)


_END: dict[str, Callable[[float, float], tuple[float, float]]] = {
    "match": lambda v, a: (v, a),
    "uplift": _uplift_end,
    "calm": _calm_end,
    "energize": _energize_end,
}


def end_point(valence: float, arousal: float, *, strategy: str) -> tuple[float, float]:
    """Return the point a strategy's playlist ends at (see the module docstring).

    Parameters
    ----------
    valence, arousal : float
        The listener's current point, each in [-1, 1].
    strategy : str
        One of :data:`STRATEGIES`.
    """
    v, a = check_point(valence, arousal)
    return _END[check_strategy(strategy)](v, a)


def progress(n: int, *, strategy: str) -> np.ndarray:
    """Return how far along its path each position is, shape (n,), values in [0, 1].

    ``match``: all 0. ``uplift``: 0 … 1 in equal steps (0 for a single track).
    ``calm``/``energize``: ``(i + 1) / ceil(n / 2)`` capped at 1.
    """
    check_strategy(strategy)
    i = np.arange(n, dtype=np.float64)
    if strategy == "match":
        return np.zeros(n)
    if strategy == "uplift":
        return i / (n - 1) if n > 1 else np.zeros(n)
    return np.minimum(1.0, (i + 1.0) / math.ceil(n / 2))


def trajectory(valence: float, arousal: float, *, strategy: str, n: int) -> np.ndarray:
    """Return the target point of every playlist position.

    Parameters
    ----------
    valence, arousal : float
        The listener's current point on the circumplex, each in [-1, 1].
    strategy : str
        One of :data:`STRATEGIES` (see the module docstring).
    n : int
        Playlist length, 1 to 100.

    Returns
    -------
    np.ndarray
        Shape (n, 2) float64: target (valence, arousal) per position, in [-1, 1].

    Raises
    ------
    ParameterError
        For an unknown strategy (the message names the valid ones), a point outside
        [-1, 1] or ``n`` out of range.

    Examples
    --------
    >>> trajectory(-0.7, -0.4, strategy="uplift", n=3).round(3).tolist()
    [[-0.7, -0.4], [-0.05, -0.08], [0.6, 0.24]]
    """
    v, a = check_point(valence, arousal)
    check_strategy(strategy)
    n = check_n(n)
    start = np.array([v, a])
    end = np.array(_END[strategy](v, a))
    t = progress(n, strategy=strategy)[:, None]
    return np.clip(start + t * (end - start), -1.0, 1.0)
