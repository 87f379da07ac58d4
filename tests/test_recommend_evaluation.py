"""Playlist-continuation metrics on a synthetic catalog with a known structure."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from moodtune.catalog.repository import Catalog
from moodtune.errors import ParameterError
from moodtune.recommend.evaluation import _metrics, evaluate_recommender, read_playlists


def test_metric_known_answers() -> None:
    ranked = np.arange(20)
    p, r, n = _metrics(ranked, {0, 1, 2, 3}, 10)
    assert (p, r, n) == (0.4, 1.0, 1.0)
    p, r, n = _metrics(ranked, {10, 11}, 10)
    assert (p, r, n) == (0.0, 0.0, 0.0)


def test_clustered_catalog(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows, lists = [], []
    for c, (v, e) in enumerate([(0.1, 0.1), (0.9, 0.9), (0.1, 0.9), (0.9, 0.1)]):
        for i in range(30):
            tid = f"c{c}_{i}"
            rows.append(
                {
                    "id": tid,
                    "name": tid,
                    "valence": float(np.clip(v + 0.03 * rng.standard_normal(), 0, 1)),
                    "energy": float(np.clip(e + 0.03 * rng.standard_normal(), 0, 1)),
                    "popularity": float(rng.uniform(0, 100)),
                }
            )
            if i < 12:
                lists.append((f"p{c}", tid))
    path = tmp_path / "pl.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["playlist_id", "track_id"])
        w.writerows(lists + lists[:3])  # duplicates are dropped
    assert len(read_playlists(path)["p0"]) == 12
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        cat.upsert_tracks(rows)
        res = evaluate_recommender(cat.load_table(), path)
    m = res["methods"]
    assert res["n_playlists"] == 4
    # playlists are clusters in feature space: similarity finds them, popularity does not
    assert m["features"]["r_precision"] > m["popularity"]["r_precision"] + 0.1
    assert m["full"]["r_precision"] > m["popularity"]["r_precision"] + 0.1
    assert set(m["features"]) == {"precision_at_10", "r_precision", "ndcg_at_10"}
    for metric in m["features"]:  # every metric tells the same story
        assert m["features"][metric] > m["popularity"][metric] + 0.1, metric


def test_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no such file"):
        read_playlists(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ParameterError, match="playlist_id"):
        read_playlists(bad)
