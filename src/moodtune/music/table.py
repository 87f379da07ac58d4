"""The in-memory track table every ranking works on.

A :class:`TrackTable` holds one numpy array per column (struct of arrays), so that
ranking over a million tracks is a few vectorised operations. The catalog repository
produces it; the recommender consumes it.

Units and ranges (Spotify's own scales)
---------------------------------------
valence, energy, danceability, acousticness, instrumentalness, speechiness, liveness
    [0, 1]
loudness
    dB (LUFS-like, typically -60 … 0)
tempo
    beats per minute
key
    pitch class 0-11, -1 when unknown
mode
    1 major, 0 minor
duration_ms
    milliseconds
popularity
    0-100, NaN when unknown
year
    release year, -1 when unknown
explicit
    1 explicit, 0 clean, -1 unknown
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

#: Numeric audio-feature columns, in a fixed order.
FEATURES: tuple[str, ...] = (
    "valence",
    "energy",
    "danceability",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "loudness",
    "tempo",
)


def spotify_track_url(track_id: str) -> str:
    """Return ``https://open.spotify.com/track/<id>`` for a 22-character Spotify id, else ``""``."""
    if len(track_id) == 22 and track_id.isalnum():
        return f"https://open.spotify.com/track/{track_id}"
    return ""


@dataclass
class TrackTable:
    """Columns of a catalog, each an array of length ``n`` (see the module docstring for units)."""

    id: np.ndarray  # object (str)
    name: np.ndarray  # object (str)
    artists: np.ndarray  # object (str, artists joined with ", ")
    genre: np.ndarray  # object (str, "" when unknown)
    url: np.ndarray  # object (str, "" when none)
    local_path: np.ndarray  # object (str, "" when none)
    year: np.ndarray  # int32
    explicit: np.ndarray  # int8
    key: np.ndarray  # int8
    mode: np.ndarray  # int8
    duration_ms: np.ndarray  # float64
    popularity: np.ndarray  # float64
    valence: np.ndarray  # float64
    energy: np.ndarray  # float64
    danceability: np.ndarray  # float64
    acousticness: np.ndarray  # float64
    instrumentalness: np.ndarray  # float64
    speechiness: np.ndarray  # float64
    liveness: np.ndarray  # float64
    loudness: np.ndarray  # float64
    tempo: np.ndarray  # float64

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def playable(self) -> np.ndarray:
        """Boolean mask of the tracks a listener can play.

        Every catalog track counts (it links to a streaming service, or names one), except
        scanned local tracks (ids ``local:…``) whose file is gone (no ``local_path``).
        """
        ids = np.asarray(self.id).astype(str)
        paths = np.asarray(self.local_path).astype(str)
        return ~(np.char.startswith(ids, "local:") & (paths == ""))

    def take(self, index: np.ndarray) -> TrackTable:
        """Return the rows at ``index`` as a new table."""
        return TrackTable(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def feature_matrix(self, columns: tuple[str, ...] = FEATURES) -> np.ndarray:
        """Return shape (n, len(columns)) float64 array of the named numeric columns."""
        return np.column_stack([np.asarray(getattr(self, c), dtype=np.float64) for c in columns])
