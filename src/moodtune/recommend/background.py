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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import CatalogError, ParameterError
from moodtune.recommend.ranking import Filters
from moodtune.recommend.reasons import MOOD_WORDS

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.table import TrackTable
    from moodtune.recommend.ranking import Recommender
    from moodtune.types import EmotionEstimate


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


#: How many of the best-fitting tracks a background track is chosen from.
BACKGROUND_CANDIDATES = 5


def given_track(catalog: Catalog, track: str) -> dict[str, Any]:
    """The music a caller named: a music file, or a catalog track with a scanned file.

    Returns
    -------
    dict
        ``id`` (None for a file), ``name`` and ``local_path``.

    Raises
    ------
    ParameterError
        A catalog track without a served file, or neither an id nor a file.
    """
    p = Path(track).expanduser()
    if p.is_file():
        return {"id": None, "name": p.stem, "local_path": str(p)}
    row = catalog.get_track(track)
    if row is None:
        raise ParameterError(
            f"--track {track!r} is neither a catalog id nor an existing music file"
        )
    served = catalog.playable_path(track)
    if served is None:
        raise ParameterError(
            f"catalog track {track!r} has no local audio file; scan its folder with "
            "`moodtune scan` or pass --track FILE"
        )
    return {"id": track, "name": row.get("name"), "local_path": str(served)}


def local_mask(table: TrackTable, playable_ids: set[str]) -> np.ndarray:
    """Boolean mask of the tracks with a served local file.

    Raises
    ------
    CatalogError
        No track has one (nothing was scanned).
    """
    local = np.array([str(t) in playable_ids for t in table.id.tolist()], dtype=bool)
    if not local.any():
        raise CatalogError(
            f"the catalog has no track with a local audio file ({len(table):,} tracks, none "
            "scanned); run `moodtune scan MUSIC_FOLDER` first, or pass --track FILE"
        )
    return local


def choose_track(
    catalog: Catalog,
    rec: Recommender,
    table: TrackTable,
    emotion: EmotionEstimate,
    *,
    strategy: str = "match",
    voice_s: float = 0.0,
    loopable: Callable[[BackgroundCandidate], bool] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Choose the track to lay under a voice of ``emotion`` lasting ``voice_s`` seconds.

    The candidates are the :data:`BACKGROUND_CANDIDATES` best fits that are songs (60 s
    or more, not silent: :func:`moodtune.recommend.songs.song_mask`; any length when no
    local track is one, and a note says so); among them :func:`choose_background`
    picks one long enough, else one made to loop, else the longest, played once.

    Parameters
    ----------
    catalog : Catalog
        Where the candidates' files are looked up.
    rec : Recommender
        A recommender over ``table`` (the tracks with a local file).
    table : TrackTable
        The candidate tracks.
    emotion : EmotionEstimate
        The voice's emotion.
    loopable : callable, optional
        Whether a candidate is made to loop; default: :func:`moodtune.music.loop.
        loop_check_file` on its file.

    Returns
    -------
    info, loop
        ``id``, ``name``, ``local_path``, ``reason`` (why it fits) and, when a fallback
        was taken, ``note``; and whether to loop the track under the voice.
    """
    notes: list[str] = []

    def best(filters: Filters) -> list[Any]:
        return list(
            rec.recommend(
                emotion.valence,
                emotion.arousal,
                strategy=strategy,
                n=min(BACKGROUND_CANDIDATES, len(table)),
                mood=MOOD_WORDS[emotion.label],
                filters=filters,
                variety=0.0,
            )
        )

    try:
        picks = best(Filters())
    except ParameterError:
        picks = best(Filters(min_duration_s=None))
        notes.append("no local track is a song of 60 s or more; a shorter one is used")
    length = np.asarray(table.duration_ms, dtype=np.float64) / 1000.0
    reasons = {str(table.id[p.index]): p.reason for p in picks}
    candidates = [
        BackgroundCandidate(
            track_id=str(table.id[p.index]),
            name=str(table.name[p.index]),
            duration_s=float(length[p.index]),
        )
        for p in picks
    ]

    def file_loops(c: BackgroundCandidate) -> bool:
        from moodtune.music.loop import loop_check_file

        path = catalog.playable_path(c.track_id)
        return path is not None and loop_check_file(path).loopable

    choice = choose_background(candidates, voice_s=voice_s, loopable=loopable or file_loops)
    if choice.note:
        notes.append(choice.note)
    tid = choice.candidate.track_id
    info = {
        "id": tid,
        "name": choice.candidate.name,
        "local_path": str(catalog.playable_path(tid)),
        "reason": reasons[tid],
    }
    if notes:
        info["note"] = "; ".join(notes)
    return info, choice.loop
