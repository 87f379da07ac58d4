"""Which track goes under a voice, whether it loops, and what the listener is told.

The rule (issue 16, point 3: "a mix prefers music at least as long as the voice and
loops only music made to loop, saying so"):

1. Candidates come in order of fit (best first), already songs (60 s or more, not
   silent) where the catalog has any.
2. The best-fitting candidate at least as long as the voice plays once under it: no loop,
   no note.
3. Otherwise the best-fitting shorter candidate that is made to loop
   (:func:`moodtune.music.loop.is_loopable`, asked lazily: at most one decode per
   candidate, best first) loops, and the note says so.
4. Otherwise the longest candidate plays once and fades out under the voice, and the
   note says why it does not loop.

A candidate of unknown length counts as shorter than the voice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from moodtune.errors import ParameterError


@dataclass(frozen=True)
class BackgroundCandidate:
    """A track that could go under the voice.

    Attributes
    ----------
    track_id : str
    name : str
    duration_s : float
        Its length in seconds (NaN when unknown).
    """

    track_id: str
    name: str
    duration_s: float


@dataclass(frozen=True)
class BackgroundChoice:
    """The track chosen by :func:`choose_background`.

    Attributes
    ----------
    candidate : BackgroundCandidate
    loop : bool
        Repeat it under the voice (``fit_music(..., loop=...)``).
    note : str or None
        One line for the listener when the track is shorter than the voice.
    """

    candidate: BackgroundCandidate
    loop: bool
    note: str | None


def choose_background(
    candidates: Sequence[BackgroundCandidate],
    *,
    voice_s: float,
    loopable: Callable[[BackgroundCandidate], bool],
) -> BackgroundChoice:
    """Choose the background track for a voice of ``voice_s`` seconds (rule above).

    Parameters
    ----------
    candidates : sequence of BackgroundCandidate
        Best fit first.
    voice_s : float
        Length of the voice in seconds.
    loopable : callable
        Whether a candidate is made to loop (decodes its audio; called only for
        candidates shorter than the voice, best first, until one is).

    Returns
    -------
    BackgroundChoice

    Raises
    ------
    ParameterError
        No candidates, or a voice length that is not a non-negative number.
    """
    if not candidates:
        raise ParameterError("no background track to choose from; scan a music folder first")
    if (
        isinstance(voice_s, bool)
        or not isinstance(voice_s, int | float)
        or not math.isfinite(voice_s)
        or voice_s < 0
    ):
        raise ParameterError(f"voice_s={voice_s!r} must be a number of seconds >= 0")

    def length(c: BackgroundCandidate) -> float:
        d = float(c.duration_s)
        return d if math.isfinite(d) else -1.0

    for c in candidates:
        if length(c) >= voice_s:
            return BackgroundChoice(c, loop=False, note=None)
    short = f"no fitting track is as long as the voice ({voice_s:.0f} s)"
    for c in candidates:
        if loopable(c):
            return BackgroundChoice(
                c,
                loop=True,
                note=f"{short}; “{c.name}” ({_seconds(c)}) is made to loop, so it loops "
                "under the voice",
            )
    longest = max(candidates, key=length)
    return BackgroundChoice(
        longest,
        loop=False,
        note=f"{short}; “{longest.name}” ({_seconds(longest)}) is not made to loop, so "
        "it plays once and fades out under the voice",
    )


def _seconds(c: BackgroundCandidate) -> str:
    d = float(c.duration_s)
    return f"{d:.0f} s" if math.isfinite(d) else "length unknown"
