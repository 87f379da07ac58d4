"""Synthetic catalogs with realistic feature distributions, for tests and benchmarks.

The marginals and the main correlations follow two real Spotify-feature catalogs
(TidyTuesday spotify_songs, 28k tracks; a 25k-row sample of the Kaggle "Spotify
Dataset 1921-2020"): valence roughly symmetric around 0.5 (sd 0.24), energy skewed high
(mean 0.65), loudness ≈ -17 + 14·energy ± 2.5 dB, acousticness falling steeply with
energy, tempo around 120 BPM (sd 28), danceability rising with valence, 60 % major,
popularity around 40 ± 23, about 20 % explicit, durations around 3.7 min.
"""

from __future__ import annotations

import numpy as np

from moodtune.catalog.table import TrackTable

#: Genres drawn for synthetic tracks (TidyTuesday's six plus a few more).
SYNTHETIC_GENRES: tuple[str, ...] = (
    "pop",
    "rock",
    "rap",
    "r&b",
    "latin",
    "edm",
    "jazz",
    "classical",
    "folk",
    "metal",
)


def synthetic_table(n: int, *, seed: int = 0, n_artists: int | None = None) -> TrackTable:
    """Draw a catalog of ``n`` synthetic tracks.

    Parameters
    ----------
    n : int
        Number of tracks.
    seed : int
        Seed of the random generator (same seed, same table).
    n_artists : int, optional
        Number of distinct artists; default ``max(1, n // 7)``.

    Returns
    -------
    TrackTable
        Ids ``"syn000…"`` (not Spotify ids, so no URLs), names ``"Track i"``, artists
        ``"Artist j"``.
    """
    rng = np.random.default_rng(seed)
    n_artists = max(1, n // 7) if n_artists is None else n_artists
    valence = np.clip(rng.beta(2.1, 2.1, n), 0.0, 1.0)
    energy = np.clip(rng.beta(3.2, 1.7, n), 0.0, 1.0)
    loudness = np.clip(-17.0 + 14.0 * energy + rng.normal(0.0, 2.5, n), -45.0, 1.0)
    acousticness = np.clip(0.95 * (1 - energy) ** 2 + rng.normal(0.0, 0.12, n), 0.0, 1.0)
    tempo = np.clip(rng.normal(108.0 + 18.0 * energy, 27.0), 50.0, 220.0)
    danceability = np.clip(0.42 + 0.3 * valence + rng.normal(0.0, 0.13, n), 0.05, 0.99)
    artist_ids = rng.integers(0, n_artists, n)
    ids = np.array([f"syn{i:019d}" for i in range(n)], dtype=object)
    return TrackTable(
        id=ids,
        name=np.array([f"Track {i}" for i in range(n)], dtype=object),
        artists=np.array([f"Artist {a}" for a in artist_ids], dtype=object),
        genre=np.array(SYNTHETIC_GENRES, dtype=object)[rng.integers(0, len(SYNTHETIC_GENRES), n)],
        url=np.full(n, "", dtype=object),
        local_path=np.full(n, "", dtype=object),
        year=rng.integers(1960, 2021, n).astype(np.int32),
        explicit=(rng.random(n) < 0.2).astype(np.int8),
        key=rng.integers(0, 12, n).astype(np.int8),
        mode=(rng.random(n) < 0.6).astype(np.int8),
        duration_ms=np.clip(rng.lognormal(np.log(215_000), 0.28, n), 30_000, 900_000),
        popularity=np.clip(np.round(rng.normal(40.0, 23.0, n)), 0, 100),
        valence=valence,
        energy=energy,
        danceability=danceability,
        acousticness=acousticness,
        instrumentalness=np.clip(rng.exponential(0.08, n), 0.0, 1.0),
        speechiness=np.clip(rng.exponential(0.09, n) + 0.02, 0.0, 1.0),
        liveness=np.clip(rng.exponential(0.15, n) + 0.04, 0.0, 1.0),
        loudness=loudness,
        tempo=tempo,
    )
