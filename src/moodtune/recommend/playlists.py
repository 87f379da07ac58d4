"""Playlists for a listener: feedback, listener memory, revisions and journeys.

The rules the facade's :meth:`~moodtune.service.Moodtune.recommend` and
:meth:`~moodtune.service.Moodtune.journey` follow, once:

* **Feedback.** A user's latest word on a track counts (:func:`latest_feedback`): liked
  tracks pull the targets towards them and are marked ``liked``; skipped tracks push
  away and are left out.
* **Listener memory.** A listener is not given tracks of their last
  :data:`LISTENER_MEMORY` playlists again unless too few other tracks pass the filters
  (a note says so); a liked track may come again. Each playlist is remembered. A
  ``seed`` makes a request reproducible, so memory is neither read nor written.
* **Revisions.** ``current`` revises a playlist after feedback: its tracks stay in place
  except those skipped, each replaced by a new track.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from moodtune.errors import ParameterError
from moodtune.recommend.output import tracks_json
from moodtune.recommend.reasons import MOOD_WORDS
from moodtune.recommend.requests import check_playlist_request, journey_end
from moodtune.recommend.results import EmotionResult, PlaylistResult
from moodtune.types import estimate_from_point

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.table import TrackTable
    from moodtune.recommend.ranking import Filters, Recommender

#: Playlists a listener's memory spans: their tracks are not played again (catalog permitting).
LISTENER_MEMORY = 5


def latest_feedback(catalog: Catalog, user: str) -> tuple[list[str], list[str]]:
    """Return (liked, skipped) track ids of ``user``; the latest word on a track counts."""
    latest: dict[str, str] = {}
    for row in catalog.feedback_for(user):
        latest[row["track_id"]] = row["kind"]
    liked = [t for t, k in latest.items() if k == "like"]
    skipped = [t for t, k in latest.items() if k == "skip"]
    return liked, skipped


def playlist(  # noqa: PLR0913 (the facade's request passed on, options keyword-only)
    catalog: Catalog,
    table: TrackTable,
    rec: Recommender,
    emotion: EmotionResult,
    *,
    strategy: str,
    n: int,
    targets: dict[str, Any],
    feature_targets: dict[str, float] | None = None,
    filters: Filters | None = None,
    seed: int | None = None,
    user: str | None = None,
    listener: str | None = None,
    current: Sequence[str] | None = None,
) -> PlaylistResult:
    """A playlist from ``rec`` (over ``table``) for ``emotion``, following the rules above.

    ``targets`` is reported as the result's ``targets``; ``feature_targets`` (an LLM's)
    replace the built-in mapping's when given.

    Raises
    ------
    ParameterError
        A bad strategy or ``n``, or ``current`` that is not a list of track ids.
    """
    check_playlist_request(strategy=strategy, n=n)
    liked, skipped = latest_feedback(catalog, user) if user else ([], [])
    listener = listener or user
    remember = bool(listener) and seed is None
    avoid: list[str] = []
    if remember and listener:
        recent = catalog.recent_tracks(listener, playlists=LISTENER_MEMORY)
        kept_liked = set(liked)  # a like keeps its track: it may come again
        avoid = [t for t in recent if t not in kept_liked]
    keep: dict[int, str] | None = None
    if current is not None:
        if isinstance(current, str) or not all(isinstance(t, str) for t in current):
            raise ParameterError("current must be a list of track ids")
        n = len(current)
        check_playlist_request(strategy=strategy, n=n)
        gone = set(skipped)
        keep = {i: t for i, t in enumerate(current) if t not in gone}
        avoid = list(dict.fromkeys([*current, *avoid]))
    est = emotion.emotion
    picks = rec.recommend(
        est.valence,
        est.arousal,
        strategy=strategy,
        n=n,
        filters=filters,
        seed=seed if seed is not None else secrets.randbits(31),
        mood=MOOD_WORDS[est.label],
        liked_ids=liked,
        skipped_ids=skipped,
        feature_targets=feature_targets,
        avoid_ids=avoid,
        keep=keep,
    )
    if remember and listener:
        new_ids = [p.track_id for p in picks]
        if keep is not None:
            kept = set(keep.values())
            new_ids = [t for t in new_ids if t not in kept]
        if new_ids or keep is None:
            catalog.record_playlist(listener, new_ids, extend_last=keep is not None)
    return PlaylistResult(
        emotion=emotion,
        strategy=strategy,
        tracks=tracks_json(table, picks, liked=liked),
        targets=targets,
        notes=list(picks.notes),
    )


def journey(
    catalog: Catalog,
    table: TrackTable,
    rec: Recommender,
    start: str,
    end: str,
    *,
    n: int = 12,
    filters: Filters | None = None,
    seed: int | None = None,
    user: str | None = None,
    listener: str | None = None,
) -> PlaylistResult:
    """A smooth path of real tracks between two moods or two tracks (:func:`journey_end`).

    The result has :func:`playlist`'s shape with ``strategy`` ``"journey"`` and the start
    as its emotion; listener memory and liked marks work as there.
    """
    a, b = journey_end(start, name="from"), journey_end(end, name="to")
    liked, _ = latest_feedback(catalog, user) if user else ([], [])
    listener = listener or user
    remember = bool(listener) and seed is None
    avoid: list[str] = []
    if remember and listener:
        avoid = catalog.recent_tracks(listener, playlists=LISTENER_MEMORY)
    picks = rec.journey(
        a,
        b,
        n=n,
        filters=filters,
        seed=seed if seed is not None else secrets.randbits(31),
        avoid_ids=[t for t in avoid if t not in set(liked)],
    )
    if remember and listener:
        catalog.record_playlist(listener, [p.track_id for p in picks])
    first = picks[0] if picks else None
    v0, a0 = (first.target_valence, first.target_arousal) if first else (0.0, 0.0)
    est = estimate_from_point(v0, a0)
    return PlaylistResult(
        emotion=EmotionResult(emotion=est, language="unknown", parts={"given": est}),
        strategy="journey",
        tracks=tracks_json(table, picks, liked=liked),
        targets={
            "source": "builtin",
            "note": f"journey from {start} to {end} ({MOOD_WORDS[est.label]} at the start)",
            "from": start,
            "to": end,
        },
        notes=list(picks.notes),
    )
