"""The JSON form of playlist tracks: the one builder every playlist answer uses.

``moodtune recommend --json``, ``POST /v1/recommend``, journeys and the bot all give
tracks in this shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from moodtune.catalog.table import spotify_track_url

if TYPE_CHECKING:
    from moodtune.catalog.table import TrackTable
    from moodtune.recommend.ranking import Recommendation


def _round(x: Any, nd: int = 4) -> float | None:
    """``x`` rounded, or None when it is not a finite number."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return round(value, nd) if math.isfinite(value) else None


def track_json(table: TrackTable, rec: Recommendation, *, liked: bool = False) -> dict[str, Any]:
    """The JSON form of one playlist track.

    Returns
    -------
    dict
        ``id, name, artists`` (a list), ``genre, valence, energy, danceability, tempo,
        mode, acousticness, url, reason, target: {valence, arousal}, duration_s, liked``;
        ``url`` is the track's link, else its Spotify link when the id is a Spotify id;
        unknown numbers, an empty genre or url, and an unknown length become ``None``.
    """
    i = rec.index
    duration_ms = float(table.duration_ms[i])
    mode = int(table.mode[i])
    return {
        "id": str(table.id[i]),
        "name": str(table.name[i]),
        "artists": [a for a in str(table.artists[i]).split(", ") if a],
        "genre": str(table.genre[i]) or None,
        "valence": _round(table.valence[i]),
        "energy": _round(table.energy[i]),
        "danceability": _round(table.danceability[i]),
        "tempo": _round(table.tempo[i], 1),
        "mode": mode,
        "acousticness": _round(table.acousticness[i]),
        "url": str(table.url[i]) or spotify_track_url(str(table.id[i])) or None,
        "reason": rec.reason,
        "target": {
            "valence": _round(rec.target_valence),
            "arousal": _round(rec.target_arousal),
        },
        "duration_s": _round(duration_ms / 1000.0, 1) if duration_ms > 0 else None,
        "liked": liked,
    }


def tracks_json(
    table: TrackTable, picks: Iterable[Recommendation], *, liked: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """:func:`track_json` of each pick; tracks whose id is in ``liked`` are marked ``liked``."""
    liked_set = set(liked)
    return [track_json(table, p, liked=str(table.id[p.index]) in liked_set) for p in picks]
