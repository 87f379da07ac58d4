"""Listener memory, the variety draw, songs-only filtering, filter notes, kept tracks and
journeys of the :class:`~moodtune.recommend.Recommender` on synthetic catalogs."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.recommend import Filters, Recommender
from moodtune.recommend.evaluation import evaluate_variety
from moodtune.recommend.songs import song_mask
from moodtune.recommend.synthetic import synthetic_table

SAD = (-0.7, -0.4)


@pytest.fixture(scope="module")
def table():
    return synthetic_table(20_000, seed=3)


@pytest.fixture(scope="module")
def rec(table):
    return Recommender(table)


def ids(playlist) -> list[str]:
    return [r.track_id for r in playlist]


def test_memory_gives_fresh_lists_that_still_fit(rec):
    history: list[str] = []
    dists = []
    for i in range(5):
        p = rec.recommend(*SAD, n=10, seed=i, avoid_ids=history)
        assert not set(ids(p)) & set(history)
        assert not p.notes
        history += ids(p)
        dists.append(np.mean([r.distance for r in p]))
    nearest = rec.recommend(*SAD, n=10, variety=0)
    # the fifth list is fresh and still close: within 0.3 z-units of the nearest ten
    assert dists[-1] < np.mean([r.distance for r in nearest]) + 0.3


def test_small_slice_repeats_and_says_so(table, rec):
    f = Filters(year_min=1960, year_max=1960, genres=frozenset({"jazz"}))
    size = int(
        np.count_nonzero((np.asarray(table.year) == 1960) & (np.asarray(table.genre) == "jazz"))
    )
    assert 10 < size < 60
    history: list[str] = []
    for i in range(size // 10 + 1):
        p = rec.recommend(0, 0, n=10, filters=f, seed=i, avoid_ids=history)
        assert len(p) == 10
        fresh_left = size - len(set(history))
        if fresh_left >= 10:
            assert not set(ids(p)) & set(history) and not p.notes
        else:
            assert p.notes == [
                f"only {fresh_left} tracks that pass the filters were not in your recent "
                "playlists, so some tracks repeat"
            ]
            assert len(set(ids(p)) - set(history)) == fresh_left  # the fresh ones first
        history += ids(p)


def test_seeds_reproduce_and_differ(rec):
    a = ids(rec.recommend(*SAD, n=10, seed=1))
    assert a == ids(rec.recommend(*SAD, n=10, seed=1))
    b = ids(rec.recommend(*SAD, n=10, seed=2))
    assert len(set(a) & set(b)) <= 7, "different seeds should give different lists"
    nearest = ids(rec.recommend(*SAD, n=10, variety=0))
    assert nearest == ids(rec.recommend(*SAD, n=10, variety=0, seed=None))


def test_one_track_per_artist_and_a_spread_of_tempi(table, rec):
    spread: list[Any] = []
    for seed in range(8):
        p = rec.recommend(0.2, 0.5, n=10, seed=seed)
        artists = [table.artists[r.index] for r in p]
        assert len(set(artists)) == len(artists)
        tempi = np.sort([table.tempo[r.index] for r in p])
        spread.append(np.mean(np.diff(tempi) >= 3.0))
    q = rec.recommend(0.2, 0.5, n=10, variety=0)
    nearest_spread = np.mean(np.diff(np.sort([table.tempo[r.index] for r in q])) >= 3.0)
    assert np.mean(spread) > nearest_spread  # fewer near-equal tempi than the nearest ten


def test_variety_must_be_a_sane_number(rec):
    for bad in (-1, float("nan"), "x", True, 11):
        with pytest.raises(ParameterError, match="variety"):
            rec.recommend(0, 0, variety=bad)


def test_jingles_and_silent_tracks_stay_out(table):
    n = len(table)
    duration = np.asarray(table.duration_ms, dtype=np.float64).copy()
    duration[::3] = 8_500.0  # a third are jingles
    silent = np.zeros(n, dtype=bool)
    silent[1::3] = True  # and a third silent
    t = dataclasses.replace(table, duration_ms=duration)
    object.__setattr__(t, "silent", silent)
    mask = song_mask(t)
    assert not mask[::3].any() and not mask[1::3].any() and mask[2::3].all()
    rec = Recommender(t)
    for seed in range(5):
        for r in rec.recommend(-0.5, -0.5, n=20, seed=seed):
            assert r.index % 3 == 2
    short = rec.recommend(-0.5, -0.5, n=20, filters=Filters(min_duration_s=0), variety=0)
    assert any(r.index % 3 == 0 for r in short)  # jingles only when asked for
    assert not any(r.index % 3 == 1 for r in short)  # silence never
    # the jingles are under 10 s, the songs over 60 s: together nothing, said in plain words
    with pytest.raises(ParameterError, match="together they leave none; allow shorter tracks"):
        rec.recommend(0, 0, filters=Filters(max_duration_s=10))
    with pytest.raises(ParameterError, match="min_duration_s"):
        Filters(min_duration_s=-1)


def test_no_explicit_tells_the_truth(table):
    unknown = dataclasses.replace(table, explicit=np.full(len(table), -1, dtype=np.int8))
    p = Recommender(unknown).recommend(0, 0, n=5, filters=Filters(explicit=False))
    assert len(p) == 5
    assert p.notes == [
        "--no-explicit could not be applied: no track in this catalog says whether it is explicit"
    ]
    flags = np.asarray(table.explicit).copy()
    flags[::2] = -1
    some = dataclasses.replace(table, explicit=flags)
    p = Recommender(some).recommend(0, 0, n=10, filters=Filters(explicit=False), seed=1)
    assert all(flags[r.index] == 0 for r in p)
    expected = int(np.count_nonzero(flags == -1))
    assert p.notes == [
        f"--no-explicit also left out {expected:,} tracks whose explicit flag is unknown"
    ]
    assert not Recommender(table).recommend(0, 0, n=5, filters=Filters(explicit=False)).notes


def test_keep_replaces_only_the_free_positions(table, rec):
    first = ids(rec.recommend(*SAD, n=8, seed=4))
    keep = {i: t for i, t in enumerate(first) if i != 3}
    revised = ids(
        rec.recommend(*SAD, n=8, seed=5, keep=keep, skipped_ids=[first[3]], avoid_ids=first)
    )
    assert [revised[i] for i in keep] == [first[i] for i in keep]
    assert revised[3] not in first
    artists = [table.artists[rec.rows_of([t])[0]] for t in revised]
    assert len(set(artists)) == 8  # the new track's artist is not one of the kept ones
    with pytest.raises(ParameterError, match="keep position"):
        rec.recommend(*SAD, n=8, keep={8: first[0]})
    with pytest.raises(ParameterError, match="not in the catalog"):
        rec.recommend(*SAD, n=8, keep={0: "nope"})


def test_a_liked_track_comes_back_near_the_top(rec):
    first = ids(rec.recommend(*SAD, n=10, seed=6))
    liked = first[6]
    for seed in range(3):
        again = ids(rec.recommend(*SAD, n=10, seed=10 + seed, liked_ids=[liked]))
        assert again.index(liked) < 3


def test_journey_moves_smoothly_between_two_moods(table, rec):
    p = rec.journey((-0.7, -0.5), (0.8, 0.6), n=12, seed=1)
    assert len(p) == 12 and len(set(ids(p))) == 12
    valence = np.array([table.valence[r.index] for r in p])
    energy = np.array([table.energy[r.index] for r in p])
    steps = np.arange(12)
    assert np.corrcoef(steps, valence)[0, 1] > 0.9
    assert np.corrcoef(steps, energy)[0, 1] > 0.8
    targets = np.array([[r.target_valence, r.target_arousal] for r in p])
    assert np.allclose(targets[0], [-0.7, -0.5]) and np.allclose(targets[-1], [0.8, 0.6])
    # smooth: no jump between neighbours is larger than a third of the whole way
    xy = np.column_stack([valence, energy])
    assert np.linalg.norm(np.diff(xy, axis=0), axis=1).max() < 0.35 * np.linalg.norm(xy[-1] - xy[0])


def test_journey_between_two_tracks_starts_and_ends_on_them(rec):
    a, b = ids(rec.recommend(*SAD, n=1, variety=0))[0], ids(rec.recommend(0.8, 0.7, n=1))[0]
    p = rec.journey(a, b, n=6, seed=2)
    assert ids(p)[0] == a and ids(p)[-1] == b
    assert "where you start" in p[0].reason and "where you arrive" in p[-1].reason
    with pytest.raises(ParameterError, match="not in the catalog"):
        rec.journey("nope", b)
    with pytest.raises(ParameterError, match="n="):
        rec.journey(a, b, n=1)
    with pytest.raises(ParameterError, match="same track"):
        rec.journey(a, a)
    with pytest.raises(ParameterError, match="valence"):
        rec.journey((2.0, 0.0), b)


def test_variety_evaluation_puts_both_methods_side_by_side():
    table = synthetic_table(4_000, seed=5)
    report = evaluate_variety(table, requests=6, mixed=30)
    before, after = report["methods"]["before"], report["methods"]["after"]
    assert before["repeat_rate_5"] > 0.5  # the nearest tracks every time
    assert after["repeat_rate_5"] == 0.0  # listener memory
    assert after["coverage"] > before["coverage"]
    assert after["intra_list_diversity"] >= before["intra_list_diversity"] * 0.9
    assert after["target_distance_5"] < before["target_distance_5"] * 1.6
    # the floors: no method without repeats beats the 0 % bound; repeats lower it
    bounds = report["bounds"]
    assert bounds["nearest"] < bounds["repeats_0.1"] < bounds["repeats_0"]
    assert after["target_distance_5"] >= bounds["repeats_0"] - 1e-9
    assert before["target_distance_5"] >= bounds["nearest"] - 1e-9
    with pytest.raises(ParameterError, match="requests"):
        evaluate_variety(table, requests=3)


def test_memory_also_covers_other_versions_of_a_song(table):
    first = Recommender(table).recommend(*SAD, n=10, variety=0)
    # each track's twin (the next row) becomes the same song under a remaster title,
    # sounding nearly the same (so it would be the best fit once the original is out)
    cols = {
        name: np.asarray(getattr(table, name)).copy()
        for name in ("name", "artists", "valence", "energy", "tempo", "loudness")
    }
    for r in first:
        twin = r.index + 1
        cols["name"][twin] = f"{cols['name'][r.index]} - 2011 Remaster"
        for name in ("artists", "valence", "energy", "tempo", "loudness"):
            cols[name][twin] = cols[name][r.index]
        cols["valence"][twin] += 0.01
    rec = Recommender(dataclasses.replace(table, **cols))
    twins = {r.index + 1 for r in first}
    again = rec.recommend(*SAD, n=10, variety=0, avoid_ids=ids(first))
    assert not twins & {r.index for r in again}


def test_recent_share_lets_only_the_best_fitting_recent_tracks_back(rec, monkeypatch):
    from moodtune.recommend import ranking

    first = rec.recommend(*SAD, n=10, variety=0)
    monkeypatch.setattr(ranking, "RECENT_SHARE", 0.2)  # at most 2 of 10 may be recent
    again = rec.recommend(*SAD, n=10, variety=0, avoid_ids=ids(first))
    back = [r for r in again if r.track_id in set(ids(first))]
    assert 1 <= len(back) <= 2 and not again.notes
    # the ones that came back are the best fitting of the first list
    best = sorted(first, key=lambda r: r.distance)[: len(back)]
    assert {r.track_id for r in back} == {r.track_id for r in best}
    # without the share, none comes back
    monkeypatch.setattr(ranking, "RECENT_SHARE", 0.0)
    fresh = rec.recommend(*SAD, n=10, variety=0, avoid_ids=ids(first))
    assert not set(ids(fresh)) & set(ids(first))
