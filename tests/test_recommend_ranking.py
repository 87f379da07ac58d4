"""Known-answer tests of the Recommender on small synthetic catalogs built here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from moodtune.catalog.table import TrackTable
from moodtune.errors import CatalogError, ParameterError
from moodtune.recommend import Filters, Recommendation, Recommender, trajectory
from moodtune.recommend.output import track_json
from moodtune.recommend.ranking import normalise_title, split_artists
from moodtune.types import CIRCUMPLEX, LABELS, EmotionEstimate

GENRES = ("pop", "rock", "jazz", "rap")


def make_table(valence, energy, *, artists=None, seed=0, **columns) -> TrackTable:
    """A catalog whose other features follow valence and energy like real music does."""
    rng = np.random.default_rng(seed)
    valence = np.asarray(valence, dtype=np.float64)
    energy = np.asarray(energy, dtype=np.float64)
    n = valence.size
    base = {
        "id": np.array([f"t{i:05d}" for i in range(n)], dtype=object),
        "name": np.array([f"Song {i}" for i in range(n)], dtype=object),
        "artists": np.array(
            artists if artists is not None else [f"Artist {i}" for i in range(n)], dtype=object
        ),
        "genre": np.array([GENRES[i % len(GENRES)] for i in range(n)], dtype=object),
        "url": np.full(n, "", dtype=object),
        "local_path": np.full(n, "", dtype=object),
        "year": (1970 + np.arange(n) % 51).astype(np.int32),
        "explicit": (np.arange(n) % 5 == 0).astype(np.int8),
        "key": (np.arange(n) % 12).astype(np.int8),
        "mode": (valence > 0.5).astype(np.int8),
        "duration_ms": 150_000.0 + (np.arange(n) % 7) * 30_000.0,
        "popularity": rng.uniform(20, 80, n).round(),
        "valence": valence,
        "energy": energy,
        "danceability": np.clip(0.45 + 0.3 * valence + rng.normal(0, 0.05, n), 0, 1),
        "acousticness": np.clip(0.95 * (1 - energy) ** 2 + rng.normal(0, 0.03, n), 0, 1),
        "instrumentalness": np.zeros(n),
        "speechiness": np.full(n, 0.05),
        "liveness": np.full(n, 0.1),
        "loudness": -17.0 + 14.0 * energy + rng.normal(0, 0.5, n),
        "tempo": 100.0 + 40.0 * energy + rng.normal(0, 3, n),
    }
    base.update(columns)
    return TrackTable(**base)


def grid_table(per_cell: int = 2, steps: int = 11) -> TrackTable:
    """A valence x energy grid, ``per_cell`` tracks per point, every track its own artist."""
    axis = np.linspace(0.02, 0.98, steps)
    v_grid, e_grid = np.meshgrid(axis, axis, indexing="ij")
    v = np.repeat(v_grid.ravel(), per_cell)
    e = np.repeat(e_grid.ravel(), per_cell)
    return make_table(v, e)


@pytest.fixture(scope="module")
def table() -> TrackTable:
    return grid_table()


@pytest.fixture(scope="module")
def rec(table) -> Recommender:
    return Recommender(table)


def column(table: TrackTable, playlist: list[Recommendation], name: str) -> np.ndarray:
    return np.asarray(getattr(table, name))[[r.index for r in playlist]]


def spearman(x: np.ndarray) -> float:
    """Spearman correlation of ``x`` with its position."""
    ranks = np.argsort(np.argsort(x)).astype(float)
    return float(np.corrcoef(ranks, np.arange(x.size))[0, 1])


SAD = CIRCUMPLEX["sadness"]
ANGRY = CIRCUMPLEX["anger"]


# --------------------------------------------------------------------------- strategies


def test_sad_match_is_sadder_and_calmer_than_the_catalog(table, rec):
    playlist = rec.recommend(*SAD, strategy="match", n=10)
    assert len(playlist) == 10
    valence = column(table, playlist, "valence")
    assert valence.mean() < table.valence.mean() - 0.25
    assert valence.max() <= 0.3
    assert column(table, playlist, "energy").mean() < table.energy.mean()


def test_happy_match_is_brighter_than_the_catalog(table, rec):
    playlist = rec.recommend(*CIRCUMPLEX["happiness"], strategy="match", n=10)
    assert column(table, playlist, "valence").mean() > table.valence.mean() + 0.25


def test_uplift_for_a_sad_listener_rises(table, rec):
    playlist = rec.recommend(*SAD, strategy="uplift", n=10)
    valence = column(table, playlist, "valence")
    assert spearman(valence) > 0.9
    assert valence[0] < 0.3 and valence[-1] > 0.7
    assert spearman(column(table, playlist, "energy")) > 0.5  # a bit more energetic too


def test_uplift_for_an_angry_listener_calms_down_and_brightens(table, rec):
    playlist = rec.recommend(*ANGRY, strategy="uplift", n=10)
    energy = column(table, playlist, "energy")
    assert spearman(energy) < -0.8
    assert energy[0] > 0.8 and energy[-1] < 0.6
    assert spearman(column(table, playlist, "valence")) > 0.8


def test_calm_lowers_energy(table, rec):
    match = rec.recommend(0.0, 0.3, strategy="match", n=10)
    calm = rec.recommend(0.0, 0.3, strategy="calm", n=10, variety=0)
    e_calm = column(table, calm, "energy")
    assert e_calm.mean() < column(table, match, "energy").mean() - 0.2
    assert e_calm.mean() < table.energy.mean() - 0.2
    assert e_calm[-5:].max() <= 0.3
    # the default draw among well-fitting tracks stays within a grid step of that
    drawn = column(table, rec.recommend(0.0, 0.3, strategy="calm", n=10), "energy")
    assert drawn[-5:].max() <= 0.3 + 0.1


def test_energize_raises_energy_and_valence(table, rec):
    energize = rec.recommend(*SAD, strategy="energize", n=10)
    energy = column(table, energize, "energy")
    assert energy.mean() > table.energy.mean() + 0.15
    assert energy[-5:].min() >= 0.7
    assert column(table, energize, "valence")[-5:].min() >= 0.6


def test_recommendation_fields(table, rec):
    playlist = rec.recommend(*SAD, strategy="uplift", n=5)
    path = trajectory(*SAD, strategy="uplift", n=5)
    for i, r in enumerate(playlist):
        assert r.track_id == table.id[r.index]
        assert (r.target_valence, r.target_arousal) == pytest.approx(tuple(path[i]))
        assert r.distance >= 0
        assert "BPM" in r.reason and "sad" in r.reason
        assert r.to_dict()["track_id"] == r.track_id
    assert "meets your sad mood" in playlist[0].reason
    assert "gentle step up" in playlist[2].reason


def test_recommend_for_estimate_uses_its_label(rec):
    p = np.zeros(len(LABELS))
    p[LABELS.index("fear")] = 1.0
    est = EmotionEstimate.from_probabilities(p)
    playlist = rec.recommend_for(est, strategy="match", n=3)
    assert len(playlist) == 3 and "anxious" in playlist[0].reason


def test_distance_is_to_the_nearest_possible_track(table, rec):
    # the grid has a point at valence 0.5 / energy 0.5: the neutral target's best match
    first = rec.recommend(0.0, 0.0, strategy="match", n=1)[0]
    assert table.valence[first.index] == pytest.approx(0.5, abs=0.05)
    assert table.energy[first.index] == pytest.approx(0.5, abs=0.05)


# --------------------------------------------------------------------------- diversity


def test_no_artist_twice_when_the_catalog_allows():
    rng = np.random.default_rng(1)
    n = 400
    artists = [f"Band {i % 40}" for i in range(n)]  # 40 artists, 10 tracks each
    table = make_table(rng.uniform(0, 1, n), rng.uniform(0, 1, n), artists=artists)
    playlist = Recommender(table).recommend(-0.5, -0.3, strategy="uplift", n=20)
    names = [table.artists[r.index] for r in playlist]
    assert len(set(names)) == 20


def test_small_catalog_alternates_artists():
    # 2 artists only: the playlist cannot avoid repeats, but never back to back
    n = 60
    rng = np.random.default_rng(2)
    artists = ["Solo" if i % 2 else "Duo" for i in range(n)]
    table = make_table(rng.uniform(0, 1, n), rng.uniform(0, 1, n), artists=artists)
    playlist = Recommender(table).recommend(0.3, 0.1, strategy="match", n=10)
    names = [table.artists[r.index] for r in playlist]
    assert len(playlist) == 10
    assert all(a != b for a, b in zip(names, names[1:], strict=False))


def test_multi_artist_credits_count_for_each_artist():
    assert split_artists("Daft Punk, Pharrell Williams") == {"daft punk", "pharrell williams"}
    n = 30
    artists = ["A, B"] + ["B"] + [f"X{i}" for i in range(n - 2)]
    valence = np.r_[0.2, 0.2, np.linspace(0.8, 0.99, n - 2)]
    energy = np.r_[0.3, 0.3, np.linspace(0.8, 0.99, n - 2)]
    table = make_table(valence, energy, artists=artists)
    playlist = Recommender(table).recommend(*SAD, strategy="match", n=3)
    credited = [table.artists[r.index] for r in playlist]
    assert not ("A, B" in credited and "B" in credited)


def test_near_duplicates_are_left_out(table):
    # copy the best sad match under a new id: same title and artist (a re-release),
    # and a second copy under another artist with identical features (a compilation)
    base = Recommender(table).recommend(*SAD, strategy="match", n=1)[0].index
    extra = table.take(np.array([base, base]))
    extra = replace(
        extra,
        id=np.array(["dup1", "dup2"], dtype=object),
        name=np.array([f"{table.name[base]} - Remastered 2011", "Other title"], dtype=object),
        artists=np.array([table.artists[base], "Compilation Artist"], dtype=object),
    )
    both = TrackTable(
        **{
            f: np.concatenate([getattr(table, f), getattr(extra, f)])
            for f in table.__dataclass_fields__
        }
    )
    playlist = Recommender(both).recommend(*SAD, strategy="match", n=10)
    ids = [r.track_id for r in playlist]
    assert sum(i in (table.id[base], "dup1", "dup2") for i in ids) == 1


def test_normalise_title():
    assert normalise_title("Hey Jude - Remastered 2015") == "hey jude"
    assert normalise_title("HEY JUDE (Live)") == "hey jude"
    assert normalise_title("Привет, Мир!") == "привет мир"


def test_popularity_breaks_ties():
    n = 40
    valence = np.r_[0.2, 0.2, np.linspace(0.9, 0.99, n - 2)]
    energy = np.r_[0.3, 0.3, np.linspace(0.9, 0.99, n - 2)]
    table = make_table(valence, energy)
    table.tempo[:2] = 110.0
    table.loudness[:2] = -12.0
    table.acousticness[:2] = 0.4
    table.danceability[:2] = 0.5
    table.duration_ms[:2] = [200_000.0, 260_000.0]  # different recordings
    table.popularity[:2] = [10.0, 90.0]
    playlist = Recommender(table).recommend(*SAD, strategy="match", n=2)
    assert [r.index for r in playlist] == [1, 0]


# --------------------------------------------------------------------------- filters


def test_filters_are_respected(table, rec):
    f = Filters(
        year_min=1990,
        year_max=2005,
        genres=frozenset({"JAZZ", "rock"}),
        explicit=False,
        max_duration_s=240,
    )
    playlist = rec.recommend(*SAD, strategy="uplift", n=10, filters=f)
    assert len(playlist) == 10
    for r in playlist:
        assert 1990 <= table.year[r.index] <= 2005
        assert table.genre[r.index] in ("jazz", "rock")
        assert table.explicit[r.index] != 1
        assert table.duration_ms[r.index] <= 240_000


def test_genre_filter_matches_any_part_of_a_multi_genre():
    n = 20
    table = make_table(np.linspace(0, 1, n), np.linspace(0, 1, n))
    table.genre[:] = ["pop, dance pop" if i % 2 else "rock" for i in range(n)]
    rec = Recommender(table)
    playlist = rec.recommend(0, 0, n=5, filters=Filters(genres=frozenset({"dance pop"})))
    assert all(table.genre[r.index] == "pop, dance pop" for r in playlist)
    assert rec.available_genres() == ["dance pop", "pop", "rock"]


def test_filters_leaving_nothing_name_what_to_relax(rec):
    with pytest.raises(ParameterError, match="years 2030-….*: widen the years") as info:
        rec.recommend(0, 0, filters=Filters(year_min=2030))
    assert "year_min" not in str(info.value) and "relax" not in str(info.value)
    with pytest.raises(ParameterError, match=r"choose other genres.*jazz"):
        rec.recommend(0, 0, filters=Filters(genres=frozenset({"polka"})))
    with pytest.raises(ParameterError, match="allow longer tracks") as info:
        rec.recommend(0, 0, filters=Filters(max_duration_s=10))
    assert "max_duration_s" not in str(info.value)
    # each alone leaves tracks, together none
    with pytest.raises(ParameterError, match="together they leave none"):
        rec.recommend(
            0,
            0,
            filters=Filters(
                year_min=1970, year_max=1970, genres=frozenset({"rap"}), max_duration_s=200
            ),
        )


def test_fewer_tracks_than_asked_when_filters_leave_few(table, rec):
    f = Filters(year_min=1970, year_max=1970)  # rows 0, 51, 102, ...: 5 tracks
    expected = int(np.count_nonzero(table.year == 1970))
    playlist = rec.recommend(0, 0, n=20, filters=f)
    assert len(playlist) == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"year_min": 2010, "year_max": 2000}, "swap"),
        ({"year_min": "1990"}, "year_min"),
        ({"genres": "pop"}, "set of genre names"),
        ({"genres": frozenset()}, "genres is empty"),
        ({"explicit": "no"}, "explicit"),
        ({"max_duration_s": 0}, "max_duration_s"),
        ({"max_duration_s": float("nan")}, "max_duration_s"),
    ],
)
def test_bad_filters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        Filters(**kwargs)


# --------------------------------------------------------------------------- seed, bounds


def test_same_seed_same_playlist_and_no_seed_is_deterministic(rec):
    a = rec.recommend(*SAD, strategy="uplift", n=10, seed=7)
    b = rec.recommend(*SAD, strategy="uplift", n=10, seed=7)
    assert [r.track_id for r in a] == [r.track_id for r in b]
    c = rec.recommend(*SAD, strategy="uplift", n=10)
    d = rec.recommend(*SAD, strategy="uplift", n=10)
    assert [r.track_id for r in c] == [r.track_id for r in d]


def test_different_seeds_shuffle_near_equal_candidates():
    # four identical-sounding tracks per grid point: the seed picks among them
    table = grid_table(per_cell=4)
    rec = Recommender(table)
    playlists = {tuple(r.track_id for r in rec.recommend(0, 0, n=5, seed=s)) for s in range(6)}
    assert len(playlists) > 1


@pytest.mark.parametrize("n", [0, 101, -1, 3.0, True])
def test_n_out_of_bounds(rec, n):
    with pytest.raises(ParameterError, match="n="):
        rec.recommend(0, 0, n=n)


def test_n_bounds_accepted(rec):
    assert len(rec.recommend(0, 0, n=1)) == 1
    assert len(rec.recommend(0, 0, strategy="uplift", n=100)) == 100


def test_unknown_strategy(rec):
    with pytest.raises(ParameterError, match="match, uplift, calm, energize"):
        rec.recommend(0, 0, strategy="sad")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"valence": 2.0}, "valence"),
        ({"arousal": float("nan")}, "arousal"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
        ({"filters": {"year_min": 1990}}, "Filters"),
        ({"liked_ids": "t00001"}, "liked_ids"),
    ],
)
def test_bad_request_arguments(rec, kwargs, match):
    args = {"valence": 0.0, "arousal": 0.0}
    args.update(kwargs)
    v, a = args.pop("valence"), args.pop("arousal")
    with pytest.raises(ParameterError, match=match):
        rec.recommend(v, a, **args)


def test_empty_catalog():
    empty = make_table(np.zeros(0), np.zeros(0))
    with pytest.raises(CatalogError, match="catalog import"):
        Recommender(empty)


def test_missing_feature_values_are_tolerated():
    n = 50
    table = make_table(np.linspace(0, 1, n), np.linspace(0, 1, n))
    table.tempo[::3] = 0.0  # unknown tempo
    table.loudness[::4] = np.nan
    table.mode[::5] = -1
    playlist = Recommender(table).recommend(*SAD, strategy="uplift", n=8)
    assert len(playlist) == 8
    assert all(np.isfinite(r.distance) for r in playlist)


def test_constant_feature_columns_are_ignored():
    n = 30
    table = make_table(
        np.linspace(0, 1, n),
        np.full(n, 0.5),
        tempo=np.full(n, 120.0),
        loudness=np.full(n, -8.0),
        acousticness=np.full(n, 0.2),
    )
    rec = Recommender(table)
    assert rec.weight[1:5].tolist() == [0.0, 0.0, 0.0, 0.0]  # energy, tempo, loudness, acoustic
    playlist = rec.recommend(*SAD, strategy="match", n=3)
    assert column(table, playlist, "valence").max() < 0.25


# --------------------------------------------------------------------------- feedback


def test_liked_tracks_pull_the_playlist_towards_them(table, rec):
    plain = rec.recommend(0.0, 0.0, strategy="match", n=10)
    liked = [table.id[i] for i in np.flatnonzero((table.valence > 0.9) & (table.energy > 0.9))]
    pulled = rec.recommend(0.0, 0.0, strategy="match", n=10, liked_ids=liked)
    assert column(table, pulled, "valence").mean() > column(table, plain, "valence").mean() + 0.1
    assert column(table, pulled, "energy").mean() > column(table, plain, "energy").mean() + 0.1


def test_skipped_tracks_are_left_out_and_push_away(table, rec):
    plain = rec.recommend(0.0, 0.0, strategy="match", n=10)
    skipped = [r.track_id for r in plain[:5]]
    again = rec.recommend(0.0, 0.0, strategy="match", n=10, skipped_ids=skipped)
    assert not set(skipped) & {r.track_id for r in again}
    centre = np.array([column(table, plain[:5], c).mean() for c in ("valence", "energy")])

    def mean_gap(playlist):
        pts = np.column_stack([column(table, playlist, c) for c in ("valence", "energy")])
        return np.linalg.norm(pts - centre, axis=1).mean()

    assert mean_gap(again) > mean_gap(plain[5:])


def test_feedback_ids_as_array_or_generator(table, rec):
    liked = np.array([table.id[i] for i in np.flatnonzero(table.valence > 0.9)], dtype=object)
    a = rec.recommend(0.0, 0.0, n=5, liked_ids=liked)
    b = rec.recommend(0.0, 0.0, n=5, liked_ids=(i for i in liked))
    assert [r.track_id for r in a] == [r.track_id for r in b]


def test_unknown_feedback_ids_are_ignored(rec):
    a = rec.recommend(0.0, 0.0, n=5)
    b = rec.recommend(0.0, 0.0, n=5, liked_ids=["nope"], skipped_ids=["nada"])
    assert [r.track_id for r in a] == [r.track_id for r in b]


def test_skipping_everything_says_so():
    table = make_table(np.linspace(0, 1, 4), np.linspace(0, 1, 4))
    rec = Recommender(table)
    with pytest.raises(ParameterError, match="skipped"):
        rec.recommend(0, 0, n=2, skipped_ids=list(table.id))


def test_reasons_name_the_listeners_own_mood(rec):
    # calm and energize start one step away from the mood; the reason still names it
    assert "angry mood" in rec.recommend(*ANGRY, strategy="calm", n=4)[0].reason
    assert "neutral mood" in rec.recommend(0.0, 0.0, strategy="energize", n=4)[0].reason


def test_track_json_shape(table, rec):
    r = rec.recommend(*SAD, strategy="match", n=1)[0]
    out = track_json(table, r)
    assert set(out) == {
        "id",
        "name",
        "artists",
        "valence",
        "energy",
        "danceability",
        "tempo",
        "mode",
        "acousticness",
        "url",
        "reason",
        "target",
        "genre",
        "duration_s",
        "liked",
    }
    assert out["id"] == r.track_id and out["url"] is None  # not a Spotify id
    assert out["target"] == {"valence": round(SAD[0], 4), "arousal": round(SAD[1], 4)}
    spotify = replace(table, id=np.array(["4uLU6hMCjMI75M1A2tKUQC"] * len(table), dtype=object))
    assert track_json(spotify, r)["url"].endswith("/track/4uLU6hMCjMI75M1A2tKUQC")


def test_uplift_for_a_happy_listener_says_it_keeps_the_mood(rec):
    playlist = rec.recommend(*CIRCUMPLEX["happiness"], strategy="uplift", n=3)
    assert all("keeps your happy mood going" in r.reason for r in playlist)
    calm = rec.recommend(0.4, -0.7, strategy="calm", n=3)
    assert all("calm to help you settle" in r.reason for r in calm)
