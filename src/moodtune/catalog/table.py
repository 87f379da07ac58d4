"""The in-memory track table (:mod:`moodtune.music.table`), as the catalog produces it.

The table lives below the catalog so that the music models (the genre classifier) can
read it without importing the catalog; these names stay importable from here.
"""

from __future__ import annotations

from moodtune.music.table import FEATURES, TrackTable, spotify_track_url

__all__ = ["FEATURES", "TrackTable", "spotify_track_url"]
