"""Which catalog rows are songs a playlist or a mix may hold: one place for the rule.

A playlist or a mix skips jingles and silence: tracks shorter than
:data:`MIN_DURATION_S` (configurable per request) and tracks flagged silent (a ``silent``
column, when the catalog has one). Tracks of unknown duration stay in: nothing says they
are short. Extend :func:`song_mask` when a new kind of non-song gets a column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from moodtune.catalog.table import TrackTable

#: Shortest track (seconds) a default playlist or mix holds.
MIN_DURATION_S = 60.0


def song_mask(table: TrackTable, *, min_duration_s: float | None = MIN_DURATION_S) -> np.ndarray:
    """Rows that count as songs, shape (n,) bool in the table's row order.

    Parameters
    ----------
    table : TrackTable
    min_duration_s : float, optional
        Shortest duration in seconds; ``None`` or 0 keeps short tracks.

    Returns
    -------
    np.ndarray
        True for rows of known duration >= ``min_duration_s`` (or unknown duration) that
        are not flagged silent.
    """
    n = len(table)
    ok = np.ones(n, dtype=bool)
    if min_duration_s:
        dur = np.asarray(table.duration_ms, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            short = np.isfinite(dur) & (dur > 0) & (dur < float(min_duration_s) * 1000.0)
        ok &= ~short
    silent = getattr(table, "silent", None)
    if silent is not None:
        flag = np.asarray(silent)
        ok &= ~(flag.astype(np.float64) > 0) if flag.dtype != object else ~flag.astype(bool)
    return ok
