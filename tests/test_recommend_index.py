"""The grid index returns exactly the brute-force nearest neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.recommend.index import GridIndex, ranges_to_indices
from moodtune.recommend.synthetic import synthetic_table


def brute_force(x: np.ndarray, target: np.ndarray, k: int, eligible=None) -> np.ndarray:
    d2 = ((x - target) ** 2).sum(axis=1)
    if eligible is not None:
        d2 = np.where(eligible, d2, np.inf)
    return np.sort(d2)[:k]


def index_distances(index: GridIndex, x: np.ndarray, pos: np.ndarray, target) -> np.ndarray:
    rows = index.order[pos]
    return np.sort(((x[rows] - target) ** 2).sum(axis=1))


def test_ranges_to_indices():
    out = ranges_to_indices(np.array([0, 5, 9, 9]), np.array([2, 5, 12, 10]))
    assert out.tolist() == [0, 1, 9, 10, 11, 9]
    assert ranges_to_indices(np.array([3]), np.array([3])).size == 0


@pytest.mark.parametrize("n", [1, 7, 500, 60_000])
def test_query_matches_brute_force(rng, n):
    # correlated, skewed features like real ones
    base = rng.normal(size=(n, 7))
    base[:, 1] = 0.8 * base[:, 0] + 0.3 * base[:, 1]
    base[:, 2] = np.exp(base[:, 2] / 2)
    x = base * np.array([1.0, 1.0, 0.4, 0.35, 0.3, 0.3, 0.2])
    index = GridIndex(x)
    targets = np.vstack([rng.normal(size=(5, 7)) * 1.5, x[0], x[-1], np.full((1, 7), 9.0)])
    k = np.array([1, 5, 40, 3, 200, 10, 10, 25])
    found, exhausted = index.query(targets, k)
    assert exhausted == (n < k.max())
    for t, kk, pos in zip(targets, k, found, strict=True):
        expected = brute_force(x, t, int(kk))
        assert pos.size == min(int(kk), n) == np.unique(pos).size
        np.testing.assert_allclose(
            index_distances(index, x, pos, t), expected, rtol=1e-4, atol=1e-4
        )


def test_query_with_eligibility_mask(rng):
    n = 40_000
    x = rng.normal(size=(n, 7))
    index = GridIndex(x)
    keep_rows = rng.random(n) < 0.02  # a selective filter
    eligible = keep_rows[index.order]  # mask in sorted order
    targets = rng.normal(size=(4, 7))
    found, _ = index.query(targets, np.full(4, 30), eligible=eligible)
    for t, pos in zip(targets, found, strict=True):
        assert keep_rows[index.order[pos]].all()
        np.testing.assert_allclose(
            index_distances(index, x, pos, t),
            brute_force(x, t, 30, keep_rows),
            rtol=1e-4,
            atol=1e-4,
        )


def test_query_with_fewer_eligible_than_asked(rng):
    x = rng.normal(size=(1000, 7))
    index = GridIndex(x)
    eligible = np.zeros(1000, dtype=bool)
    eligible[[3, 500, 900]] = True
    found, exhausted = index.query(x[:2], np.array([10, 10]), eligible=eligible)
    assert exhausted
    assert all(sorted(p.tolist()) == [3, 500, 900] for p in found)


def test_features_round_trip(rng):
    x = rng.normal(size=(300, 7))
    index = GridIndex(x)
    np.testing.assert_allclose(index.features(index.position[[5, 17]]), x[[5, 17]], atol=1e-5)


def test_synthetic_table_is_reproducible_and_realistic():
    a, b = synthetic_table(5000, seed=3), synthetic_table(5000, seed=3)
    np.testing.assert_array_equal(a.valence, b.valence)
    assert 0.4 < a.valence.mean() < 0.6 and 0.55 < a.energy.mean() < 0.75
    assert -12 < np.median(a.loudness) < -4 and 100 < np.median(a.tempo) < 140
    assert np.corrcoef(a.energy, a.loudness)[0, 1] > 0.6
    assert np.corrcoef(a.energy, a.acousticness)[0, 1] < -0.5
    assert len(set(a.id)) == 5000


# -- the approximate index ----------------------------------------------------------------
def _recall(found: list[np.ndarray], x: np.ndarray, targets: np.ndarray, k: int, eligible=None):
    hits = []
    for t, pos in zip(targets, found, strict=True):
        d2 = ((x - t) ** 2).sum(axis=1)
        if eligible is not None:
            d2 = np.where(eligible, d2, np.inf)
        want = set(np.argsort(d2, kind="stable")[:k].tolist())
        hits.append(len(want & set(pos[:k].tolist())) / k)
    return float(np.mean(hits))


def test_ann_index_recall_masks_and_incremental_add(rng, monkeypatch):
    pytest.importorskip("usearch")
    import moodtune.recommend.index as index_module
    from moodtune.recommend.index import AnnIndex

    monkeypatch.setattr(index_module, "_EXACT_ROWS", 1_000)  # masks of 15,000 rows: graph

    n = 30_000
    base = rng.normal(size=(n, 7))
    base[:, 1] = 0.8 * base[:, 0] + 0.3 * base[:, 1]
    x = base * np.array([1.0, 1.0, 0.4, 0.35, 0.3, 0.3, 0.2])
    index = AnnIndex(x[:20_000], batch=7_000)  # built in batches ...
    assert index.add(x[20_000:]).tolist() == list(range(20_000, n))  # ... and grown
    assert len(index) == n and index.memory_bytes > x.nbytes // 2
    targets = np.vstack([rng.normal(size=(60, 7)) * 0.8, x[n - 5 :]])
    found, exhausted = index.query(targets, np.full(len(targets), 10))
    assert not exhausted and all(p.size == 10 for p in found)
    assert _recall(found, x, targets, 10) >= 0.95
    for t, pos in zip(targets, found, strict=True):  # exactly re-ranked: nearest first
        d = ((x[pos] - t) ** 2).sum(axis=1)
        assert np.all(np.diff(d) >= -1e-5)
    assert [int(p[0]) for p in found[-5:]] == list(range(n - 5, n))  # added rows are found
    # a mask keeping half the rows goes through the graph; every answer is eligible
    half = rng.random(n) < 0.5
    found, _ = index.query(targets, np.full(len(targets), 10), eligible=half)
    assert all(half[p].all() and p.size == 10 for p in found)
    assert _recall(found, x, targets, 10, half) >= 0.95
    # a selective mask is scanned exactly
    rare = rng.random(n) < 0.01
    found, _ = index.query(targets[:5], np.full(5, 30), eligible=rare)
    assert _recall(found, x, targets[:5], 30, rare) == 1.0
    # fewer eligible than asked: all of them, and exhausted
    few = np.zeros(n, dtype=bool)
    few[[3, 500, 900]] = True
    found, exhausted = index.query(x[:2], np.array([10, 10]), eligible=few)
    assert exhausted and all(sorted(p.tolist()) == [3, 500, 900] for p in found)


def test_recommender_with_the_ann_index_gives_nearly_the_grid_playlists():
    pytest.importorskip("usearch")
    from moodtune.recommend import Recommender

    table = synthetic_table(20_000, seed=5)
    grid, ann = Recommender(table), Recommender(table, index="ann")
    same = total = 0
    for v, a in [(-0.7, -0.4), (0.8, 0.4), (0.0, 0.0), (-0.6, 0.7), (0.5, -0.6)]:
        for strategy in ("match", "uplift"):
            g = [r.track_id for r in grid.recommend(v, a, strategy=strategy, variety=0.0)]
            h = [r.track_id for r in ann.recommend(v, a, strategy=strategy, variety=0.0)]
            same += len(set(g) & set(h))
            total += len(g)
    assert same / total >= 0.9
    with pytest.raises(ParameterError, match="index="):
        Recommender(table, index="kd")
