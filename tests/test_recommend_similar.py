"""Similar tracks: known nearest neighbours by features and by curve shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodtune.audio.encode import encode_audio
from moodtune.catalog.repository import Catalog
from moodtune.errors import CatalogError, ParameterError
from moodtune.recommend.similar import dtw_distance, resample_curve, similar_tracks

SR = 16000


def _row(i: int, **kw: float) -> dict:
    base = dict(
        valence=0.5, energy=0.5, danceability=0.5, acousticness=0.5, instrumentalness=0.5,
        speechiness=0.05, liveness=0.1, loudness=-10.0, tempo=120.0, mode=1,
    )  # fmt: skip
    base.update(kw)
    return {"id": f"t{i}", "name": f"track {i}", "artists": [f"artist {i}"], **base}


def test_feature_neighbour_known_answer(tmp_path: Path) -> None:
    rows = [_row(i, valence=v, energy=e) for i, (v, e) in enumerate(
        [(0.1, 0.1), (0.12, 0.1), (0.9, 0.9), (0.5, 0.5), (0.88, 0.92), (0.3, 0.7)]
    )]  # fmt: skip
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        cat.upsert_tracks(rows)
        info, res = similar_tracks(cat, "t0", n=3)
        assert info == {"id": "t0", "name": "track 0", "source": "catalog"}
        assert [r.id for r in res][0] == "t1"
        assert all(r.id != "t0" for r in res)
        assert res[0].curve_distance is None
        assert [r.distance for r in res] == sorted(r.distance for r in res)
        _, res2 = similar_tracks(cat, "t2", n=1)
        assert res2[0].id == "t4"
        assert set(res2[0].to_dict()) >= {"id", "name", "distance", "curve_distance"}


def test_genre_filter_keeps_only_that_genre(tmp_path: Path) -> None:
    rows = [_row(i, valence=v, energy=e) for i, (v, e) in enumerate(
        [(0.1, 0.1), (0.12, 0.1), (0.14, 0.12), (0.9, 0.9), (0.2, 0.2)]
    )]  # fmt: skip
    for row, genre in zip(rows, ["rock", "pop", "Rock, hard rock", "rock", "edm"], strict=True):
        row["genre"] = genre
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        cat.upsert_tracks(rows)
        _, unfiltered = similar_tracks(cat, "t0", n=2)
        assert [r.id for r in unfiltered] == ["t1", "t2"]
        _, res = similar_tracks(cat, "t0", n=2, genres=["ROCK"])
        assert [r.id for r in res] == ["t2", "t3"]  # t1 (pop) is nearer but left out
        _, res = similar_tracks(cat, "t0", n=5, genres=["edm", "pop"])
        assert {r.id for r in res} == {"t1", "t4"}
        with pytest.raises(ParameterError, match="known genres: edm, hard rock, pop"):
            similar_tracks(cat, "t0", genres=["latin"])
        with pytest.raises(ParameterError, match="empty"):
            similar_tracks(cat, "t0", genres=[" "])


def test_bad_queries(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        with pytest.raises(CatalogError, match="empty"):
            similar_tracks(cat, "t0")
        cat.upsert_tracks([_row(0), _row(1)])
        with pytest.raises(ParameterError, match="not a track id"):
            similar_tracks(cat, "nope")
        with pytest.raises(ParameterError, match="n=0"):
            similar_tracks(cat, "t0", n=0)


def test_dtw_known_answers() -> None:
    t = np.linspace(0, 1, 40)
    a = np.sin(2 * np.pi * t)
    x = resample_curve(a, a * 0.5)
    assert x.shape == (2, 32)
    assert dtw_distance(x, x) == 0.0
    shifted = resample_curve(np.sin(2 * np.pi * (t - 0.1)), 0.5 * np.sin(2 * np.pi * (t - 0.1)))
    flipped = resample_curve(-a, -a * 0.5)
    # a time shift costs DTW little, a flipped shape a lot
    assert dtw_distance(x, shifted) < 0.5 * dtw_distance(x, flipped)


@pytest.mark.slow
def test_scanned_library_and_file_query(tmp_path: Path) -> None:
    from moodtune.catalog.scan import scan_library

    rng = np.random.default_rng(5)
    lib = tmp_path / "lib"
    lib.mkdir()
    t = np.arange(8 * SR) / SR

    def loud(seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        gate = (np.sin(2 * np.pi * 6 * t) > 0).astype(float)
        return 0.5 * r.standard_normal(t.size) * gate

    def pad(f0: float) -> np.ndarray:
        return 0.03 * (np.sin(2 * np.pi * f0 * t) + np.sin(2 * np.pi * 1.25 * f0 * t))

    for name, y in [("loud1", loud(1)), ("loud2", loud(2)), ("pad1", pad(220)), ("pad2", pad(196))]:
        (lib / f"{name}.wav").write_bytes(
            encode_audio(y + 1e-4 * rng.standard_normal(t.size), sr=SR, fmt="wav")
        )
    query = tmp_path / "loud3.flac"
    query.write_bytes(encode_audio(loud(3), sr=SR, fmt="flac"))
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        assert scan_library(cat, lib, workers=1).analysed == 4
        info, res = similar_tracks(cat, lib / "pad1.wav", n=3)
        assert info["source"] == "catalog" and info["name"] == "pad1"
        assert res[0].name == "pad2" and res[0].curve_distance is not None
        info, res = similar_tracks(cat, query, n=2)
        assert info == {"id": None, "name": "loud3", "source": "file"}
        assert {r.name for r in res} == {"loud1", "loud2"}


# -- the ANN index -------------------------------------------------------------------------
def test_ann_index_recall_incremental_sync_and_same_answers(tmp_path: Path) -> None:
    pytest.importorskip("usearch")
    from moodtune.recommend.similar import SimilarIndex, similarity_raw
    from moodtune.recommend.synthetic import synthetic_table

    table = synthetic_table(6_000, seed=2)
    raw = similarity_raw(table)
    first = table.take(np.arange(4_000))
    index = SimilarIndex.build(first, batch=1_500)
    assert len(index) == 4_000
    assert index.sync(table) == 2_000  # only the new tracks are added
    assert index.sync(table) == 0 and len(index) == 6_000
    rng = np.random.default_rng(0)
    recall = []
    for q in rng.choice(6_000, 100, replace=False):
        got, dist = index.search(raw[q], 10)
        want, want_dist = index.exact_search(raw[q], 10)
        recall.append(len(set(got.tolist()) & set(want.tolist())) / 10)
        assert np.all(np.diff(dist) >= 0)  # exactly re-ranked
        assert got[0] == q and dist[0] == pytest.approx(0.0, abs=1e-6)
    assert np.mean(recall) >= 0.95
    assert index.memory_bytes > 0
    # a track removed from the table leaves the index; rows follow the new table
    fewer = table.take(np.arange(1, 6_000))
    index.sync(fewer)
    assert len(index) == 5_999 and index.row_of(str(table.id[0])) is None
    got, _ = index.search(raw[10], 1)
    assert str(fewer.id[got[0]]) == str(table.id[10])
    # similar_tracks through the index gives the exact answer of the full scan
    with Catalog.open(tmp_path / "c.sqlite") as catalog:
        query = str(fewer.id[123])
        _, scan = similar_tracks(catalog, query, n=10, table=fewer)
        _, fast = similar_tracks(catalog, query, n=10, table=fewer, index=index)
    assert [t.id for t in fast] == [t.id for t in scan]
    # the index keeps the standardisation of its first build (4,000 tracks): distances
    # differ from a scan's (standardised over today's 5,999) by well under 1 %
    assert [t.distance for t in fast] == pytest.approx([t.distance for t in scan], rel=1e-2)
