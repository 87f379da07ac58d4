"""Recommender.recommend(feature_targets=...): explicit targets for the strategy's end point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moodtune.catalog.table import TrackTable
from moodtune.errors import ParameterError
from moodtune.recommend import STRATEGIES, Recommender, end_point, va_to_feature_targets
from moodtune.recommend.targets import FEATURE_RANGES, TARGET_FEATURES, check_feature_targets


def grid_table(steps: int = 13, per_cell: int = 2, seed: int = 3) -> TrackTable:
    """A valence x energy grid whose other features follow energy and valence like real music."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(0.02, 0.98, steps)
    v_grid, e_grid = np.meshgrid(axis, axis, indexing="ij")
    v = np.repeat(v_grid.ravel(), per_cell)
    e = np.repeat(e_grid.ravel(), per_cell)
    n = v.size
    return TrackTable(
        id=np.array([f"t{i:05d}" for i in range(n)], dtype=object),
        name=np.array([f"Song {i}" for i in range(n)], dtype=object),
        artists=np.array([f"Artist {i}" for i in range(n)], dtype=object),
        genre=np.full(n, "pop", dtype=object),
        url=np.full(n, "", dtype=object),
        local_path=np.full(n, "", dtype=object),
        year=np.full(n, 2000, dtype=np.int32),
        explicit=np.zeros(n, dtype=np.int8),
        key=(np.arange(n) % 12).astype(np.int8),
        mode=(v > 0.5).astype(np.int8),
        duration_ms=150_000.0 + (np.arange(n) % 7) * 30_000.0,
        popularity=np.full(n, 50.0),
        valence=v,
        energy=e,
        danceability=np.clip(0.45 + 0.3 * v + rng.normal(0, 0.05, n), 0, 1),
        acousticness=np.clip(0.95 * (1 - e) ** 2 + rng.normal(0, 0.03, n), 0, 1),
        instrumentalness=np.zeros(n),
        speechiness=np.full(n, 0.05),
        liveness=np.full(n, 0.1),
        loudness=-17.0 + 14.0 * e + rng.normal(0, 0.5, n),
        tempo=100.0 + 40.0 * e + rng.normal(0, 3, n),
    )


@pytest.fixture(scope="module")
def rec() -> Recommender:
    return Recommender(grid_table())


def _column(rec: Recommender, picks, name: str) -> np.ndarray:
    return np.array([getattr(rec.table, name)[p.index] for p in picks], dtype=np.float64)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_builtin_targets_give_the_same_playlist(rec, strategy):
    v, a = -0.6, -0.35
    goal = va_to_feature_targets(*end_point(v, a, strategy=strategy))
    plain = rec.recommend(v, a, strategy=strategy, n=8)
    same = rec.recommend(v, a, strategy=strategy, n=8, feature_targets=goal)
    assert [p.track_id for p in same] == [p.track_id for p in plain]
    assert [p.distance for p in same] == pytest.approx([p.distance for p in plain])


def test_match_uses_the_explicit_targets_everywhere(rec):
    v, a = -0.6, -0.35  # sad: the mapping wants energy 0.33
    plain = rec.recommend(v, a, n=6)
    lifted = rec.recommend(v, a, n=6, feature_targets={"energy": 0.9})
    assert _column(rec, plain, "energy").mean() < 0.45
    # tempo, loudness and acousticness keep their calm mapped targets, so energy alone moves
    # the picks most of the way, not all of it
    assert _column(rec, lifted, "energy").mean() > _column(rec, plain, "energy").mean() + 0.3
    full = va_to_feature_targets(v, 0.8) | {"valence": 0.2}
    loud = rec.recommend(v, a, n=6, feature_targets=full)
    assert _column(rec, loud, "energy").min() > 0.8
    # valence was not given: it keeps the mapped target (0.2)
    assert abs(_column(rec, lifted, "valence").mean() - 0.2) < 0.12


def test_uplift_meets_the_listener_first_and_ends_at_the_explicit_targets(rec):
    v, a = -0.6, -0.35
    plain = rec.recommend(v, a, strategy="uplift", n=7)
    dim = rec.recommend(v, a, strategy="uplift", n=7, feature_targets={"valence": 0.35})
    assert dim[0].track_id == plain[0].track_id  # progress 0: the listener's own point
    plain_last = _column(rec, plain[-1:], "valence")[0]
    dim_last = _column(rec, dim[-1:], "valence")[0]
    assert plain_last > 0.7  # the mapped uplift end is valence 0.8
    assert abs(dim_last - 0.35) < 0.1
    # in between, the valence targets move monotonically from the start to 0.35
    mid = _column(rec, dim, "valence")
    assert mid[3] < _column(rec, plain, "valence")[3]


def test_calm_reaches_the_explicit_targets_half_way(rec):
    v, a = 0.3, 0.6
    # variety=0: the nearest track to each target (the draw may pick a near one)
    out = rec.recommend(v, a, strategy="calm", n=6, feature_targets={"energy": 0.05}, variety=0)
    energy = _column(rec, out, "energy")
    assert energy[2:].max() < 0.15  # progress 1 from position 3 of 6 on


@pytest.mark.parametrize(
    "bad",
    [
        {"speed": 0.5},
        {"energy": math.nan},
        {"energy": 1.5},
        {"tempo": 20.0},
        {"loudness": 3.0},
        {"mode": "major"},
        {"energy": True},
        "energy=0.5",
        [("energy", 0.5)],
    ],
)
def test_bad_feature_targets_are_parameter_errors(rec, bad):
    with pytest.raises(ParameterError):
        rec.recommend(0.0, 0.0, n=3, feature_targets=bad)


def test_check_feature_targets_accepts_the_range_ends():
    lows = {k: lo for k, (lo, _) in FEATURE_RANGES.items()}
    highs = {k: hi for k, (_, hi) in FEATURE_RANGES.items()}
    assert set(FEATURE_RANGES) == set(TARGET_FEATURES)
    assert check_feature_targets(lows) == lows
    assert check_feature_targets(highs) == highs
    assert check_feature_targets({}) == {}
