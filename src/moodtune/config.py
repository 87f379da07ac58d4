"""Where moodtune keeps its files, and its documented limits.

``MOODTUNE_HOME`` moves the data home (catalog database, model caches); it defaults
to the platform's user data directory (``platformdirs.user_data_dir("moodtune")``).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Longest text message accepted, in characters (after stripping whitespace).
MAX_TEXT_CHARS = 5000
#: Bounds of a playlist's length.
MIN_TRACKS, MAX_TRACKS = 1, 100
#: Default playlist length.
DEFAULT_TRACKS = 10


def home_dir() -> Path:
    """Return the data home, creating it if needed (``$MOODTUNE_HOME`` or the user data dir)."""
    env = os.environ.get("MOODTUNE_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("moodtune"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Return the model/embedding cache directory inside the data home."""
    path = home_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_catalog_path() -> Path:
    """Return the default catalog database path (``$MOODTUNE_CATALOG`` overrides it)."""
    env = os.environ.get("MOODTUNE_CATALOG")
    if env:
        return Path(env).expanduser()
    return home_dir() / "catalog.sqlite"
