"""The library scan moved to :mod:`moodtune.catalog.scan` (it writes the catalog).

These names stay here for :mod:`moodtune.music.similar` until it moves above the
catalog; they import nothing from the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from moodtune.music.files import file_sha256, read_tags

__all__ = ["file_sha256", "load_curve", "load_curves", "read_tags"]


def load_curve(catalog: Any, track_id: str) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A track's stored curve (``Catalog.get_curves``), or None."""
    out: tuple[np.ndarray, np.ndarray, float] | None = catalog.get_curves([track_id]).get(track_id)
    return out


def load_curves(
    catalog: Any, track_ids: Iterable[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Stored curves by track id (``Catalog.get_curves``)."""
    out: dict[str, tuple[np.ndarray, np.ndarray, float]] = catalog.get_curves(track_ids)
    return out
