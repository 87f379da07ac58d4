"""Genre labels for catalog tracks that have none: the one place the classifier fills them.

Two kinds of track can lack a genre: an imported row whose table had no genre column
(:func:`classify_missing_genres`, from its Spotify-style features) and a local track
scanned before moodtune had a genre classifier (:func:`backfill_local_genres`, from its
stored analysis). Both write through :class:`~moodtune.catalog.repository.Catalog`
methods in one transaction.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog

log = logging.getLogger(__name__)


def classify_missing_genres(catalog: Catalog) -> int:
    """Give every catalog track without a genre the genre classifier's (e.g. Kaggle rows).

    The probabilities go to ``track_genres`` and the top genre to the track's ``genre``,
    so ``--genre`` filters work on them. It runs in one transaction (the caller's, when
    called inside one), and it picks every track still without a genre, so a step that
    was interrupted earlier is completed by the next call.

    Returns
    -------
    int
        How many tracks were classified.
    """
    from moodtune.music.genre import default_genre_model

    with catalog.transaction():
        if catalog.count() == 0:
            return 0
        table = catalog.load_table()
        missing = np.flatnonzero(np.array([not str(g).strip() for g in table.genre], dtype=bool))
        if missing.size == 0:
            return 0
        model = default_genre_model()
        part = table.take(missing)
        probs = model.predict_table(part)
        ids = [str(i) for i in part.id]
        rows = [
            (tid, {g: float(x) for g, x in zip(model.genres, p, strict=True)}, model.model_id)
            for tid, p in zip(ids, probs, strict=True)
        ]
        tops = [(tid, model.genres[int(np.argmax(p))]) for tid, p in zip(ids, probs, strict=True)]
        catalog.put_genres(rows)
        catalog.set_genres(tops)
    log.info("classified the genre of %d catalog tracks", len(rows))
    return len(rows)


def backfill_local_genres(catalog: Catalog) -> int:
    """Genre probabilities for local tracks scanned before moodtune had a genre classifier.

    Their stored features are enough (no audio is read). As in a new scan, a track whose
    tag genre is not one of the six gets the classifier's top genre, and the tag moves to
    the subgenre. Returns how many tracks were filled.
    """
    from moodtune.music.genre import default_genre_model, local_file_features, tag_to_genre

    ids = catalog.local_tracks_without_genres()
    if not ids:
        return 0
    model = default_genre_model()
    rows = []
    updates: list[tuple[str, str, str | None]] = []
    for track_id in ids:
        row = catalog.get_track(track_id)
        if row is None:
            continue
        guess, probs, _ = model.guess(local_file_features(row))
        rows.append((track_id, probs, model.model_id))
        tag = row.get("genre")
        if not tag_to_genre(tag):  # as a new scan does: the tag becomes the subgenre
            updates.append((track_id, guess, tag or row.get("subgenre")))
    with catalog.transaction():
        catalog.put_genres(rows)
        catalog.set_genres(updates)
    log.info("filled the genres of %d earlier scanned tracks", len(rows))
    return len(rows)
