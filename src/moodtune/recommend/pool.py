"""The recommenders over one catalog, built once and kept while the catalog stays.

The facade holds one :class:`RecommenderPool`: the recommender over every playable
track, cached ones over a subset (the tracks one player can play, the tracks with a
local file for a mix) and the similar-tracks index. :meth:`RecommenderPool.reset` drops
them all after the catalog changed (an import, a scan).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import ParameterError
from moodtune.recommend.ranking import Recommender

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.table import TrackTable

log = logging.getLogger(__name__)

#: Subsets kept at most (a library that keeps changing starts afresh past this).
MAX_SUBSETS = 64


class RecommenderPool:
    """Recommenders over ``catalog()``'s playable tracks and their cached subsets.

    Parameters
    ----------
    catalog : callable
        Returns the open catalog (called when a table is first needed).
    """

    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self._catalog = catalog
        self._lock = threading.RLock()
        self._main: tuple[TrackTable, Recommender] | None = None
        self._subsets: dict[Hashable, tuple[TrackTable, Recommender]] = {}
        self._index: Any = None
        self._index_table: TrackTable | None = None

    def reset(self) -> None:
        """Forget every table, recommender and index (the catalog changed)."""
        with self._lock:
            self._main = None
            self._subsets = {}

    def main(self) -> tuple[TrackTable, Recommender]:
        """The playable tracks (not local ones whose files are gone) and their recommender."""
        with self._lock:
            if self._main is None:
                table = self._catalog().load_table()
                playable = table.playable()
                if not playable.all():
                    table = table.take(np.flatnonzero(playable))
                self._main = (table, Recommender(table))
                self._subsets = {}
            return self._main

    def _subset(self, key: Hashable, mask: np.ndarray) -> tuple[TrackTable, Recommender]:
        with self._lock:
            table, _ = self.main()
            if key not in self._subsets:
                if len(self._subsets) >= MAX_SUBSETS:
                    self._subsets = {}
                sub = table.take(np.flatnonzero(mask))
                self._subsets[key] = (sub, Recommender(sub))
            return self._subsets[key]

    def by_prefixes(self, prefixes: tuple[str, ...]) -> tuple[TrackTable, Recommender]:
        """The playable tracks whose ids start with one of ``prefixes`` (one player's).

        Raises
        ------
        ParameterError
            No track has such an id.
        """
        table, _ = self.main()
        ids = np.asarray(table.id).astype(str)
        mask = np.zeros(len(ids), dtype=bool)
        for prefix in prefixes:
            mask |= np.char.startswith(ids, prefix)
        if not mask.any():
            raise ParameterError(
                f"the catalog has no tracks that player can play (ids {', '.join(prefixes)}"
                "…); scan your music first: moodtune scan DIR, or moodtune subsonic scan"
            )
        return self._subset(("prefixes", *prefixes), mask)

    def local_files(self) -> tuple[TrackTable, Recommender]:
        """The tracks with a served local file (:meth:`Catalog.playable_ids`).

        Raises
        ------
        CatalogError
            No track has one.
        """
        from moodtune.recommend.background import local_mask

        table, _ = self.main()
        mask = local_mask(table, self._catalog().playable_ids())
        return self._subset(("local files", *ids_of(table, mask)), mask)

    def similar(
        self, query: str | Path, *, n: int = 10, genres: list[str] | None = None
    ) -> tuple[dict[str, Any], list[Any]]:
        """Tracks like a catalog track or a music file (:mod:`moodtune.recommend.similar`).

        Large catalogs use the approximate index (built once, then synced with new tracks)
        unless ``genres`` filters them; without usearch every track is scanned.
        """
        from moodtune.recommend.similar import ANN_MIN_TRACKS, SimilarIndex, similar_tracks

        table, _ = self.main()
        index = None
        if len(table) >= ANN_MIN_TRACKS and not genres:
            try:
                with self._lock:
                    if self._index is None:
                        self._index = SimilarIndex.build(table)
                    elif self._index_table is not table:
                        self._index.sync(table)  # only tracks added since: incremental
                    self._index_table = table
                    index = self._index
            except ParameterError as exc:  # usearch not installed: scan every track
                log.info("similar: %s; scanning the catalog instead", exc)
                index = None
        return similar_tracks(self._catalog(), query, n=n, genres=genres, table=table, index=index)


def ids_of(table: TrackTable, mask: np.ndarray) -> list[str]:
    """The ids of the rows of ``table`` where ``mask`` is true."""
    out: list[str] = np.asarray(table.id)[mask].astype(str).tolist()
    return out
