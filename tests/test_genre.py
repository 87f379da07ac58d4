"""Genre classifier: numpy inference, storage, tags, the artist split, training and evaluation."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from moodtune.catalog.table import TrackTable
from moodtune.errors import ModelError, ParameterError
from moodtune.music import genre as genre_mod
from moodtune.music.genre import (
    GENRE_FEATURES,
    GENRES,
    GenreModel,
    default_genre_model,
    tag_to_genre,
)
from moodtune.train.genre import (
    _merge_networks,
    artist_split,
    evaluate_genre,
    fit_numpy_model,
    load_genre_data,
    train_genre,
)

FIXTURES = Path(__file__).parent / "data" / "catalog"
D = len(GENRE_FEATURES)

# Hand-written Spotify-style rows (catalog column names and scales).
RAP = dict(
    danceability=0.85, energy=0.6, loudness=-6.0, mode=1, speechiness=0.35, acousticness=0.1,
    instrumentalness=0.0, liveness=0.12, valence=0.5, tempo=95.0, duration_ms=200_000,
)  # fmt: skip
ROCK = dict(
    danceability=0.35, energy=0.92, loudness=-4.5, mode=1, speechiness=0.05, acousticness=0.002,
    instrumentalness=0.02, liveness=0.2, valence=0.45, tempo=140.0, duration_ms=260_000,
)  # fmt: skip
EDM = dict(
    danceability=0.65, energy=0.9, loudness=-3.5, mode=1, speechiness=0.06, acousticness=0.005,
    instrumentalness=0.8, liveness=0.2, valence=0.3, tempo=128.0, duration_ms=210_000,
)  # fmt: skip


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def random_model(rng: np.random.Generator, hidden: tuple[int, ...] = (8,)) -> GenreModel:
    widths = [D, *hidden, len(GENRES)]
    return GenreModel(
        median=rng.normal(size=D),
        mean=rng.normal(size=D),
        scale=rng.uniform(0.5, 2.0, size=D),
        weights=tuple(rng.normal(size=(a, b)) for a, b in zip(widths, widths[1:], strict=False)),
        biases=tuple(rng.normal(size=b) for b in widths[1:]),
        model_id="genre-test/1",
    )


# ---------------------------------------------------------------------- synthetic data
#: Genre centres on a few features (the rest are shared noise): separable on purpose.
CENTRES = {
    "edm": {"instrumentalness": 0.8, "energy": 0.9, "tempo": 128.0},
    "latin": {"valence": 0.9, "danceability": 0.8, "tempo": 100.0},
    "pop": {"acousticness": 0.6, "valence": 0.6, "tempo": 115.0},
    "r&b": {"mode": 0, "energy": 0.35, "tempo": 85.0},
    "rap": {"speechiness": 0.45, "danceability": 0.85, "tempo": 92.0},
    "rock": {"loudness": -3.0, "liveness": 0.7, "tempo": 150.0},
}
BASE = dict(
    danceability=0.4, energy=0.6, loudness=-10.0, mode=1, speechiness=0.05, acousticness=0.1,
    instrumentalness=0.0, liveness=0.1, valence=0.3, tempo=110.0, duration_ms=220_000,
)  # fmt: skip
TRACK_COLS = ["track_id", "track_name", "track_artist", "key", *GENRE_FEATURES]


def write_synthetic(
    root: Path, *, artists_per_genre: int = 12, tracks_per_artist: int = 6, seed: int = 0
) -> Path:
    """A separable dataset in moodtune's tidytuesday layout (tracks + playlist_tracks)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    tracks, members = [], []
    for g in GENRES:
        for a in range(artists_per_genre):
            for t in range(tracks_per_artist):
                tid = f"{g[:2]}{a:02d}{t:02d}".replace("&", "n")
                row: dict[str, object] = {
                    "track_id": tid,
                    "track_name": f"song {tid}",
                    "track_artist": f"artist {g} {a}",
                    "key": int(rng.integers(0, 12)),
                }
                for f in GENRE_FEATURES:
                    centre = CENTRES[g].get(f, BASE[f])
                    if f == "mode":
                        row[f] = int(centre)
                    elif f in ("tempo", "loudness", "duration_ms"):
                        row[f] = round(float(centre) * (1 + 0.03 * rng.normal()), 3)
                    else:
                        row[f] = round(float(np.clip(centre + 0.04 * rng.normal(), 0, 1)), 4)
                tracks.append(row)
                members.append((f"pl-{g}-{a % 3}", tid, g))
    _write_gz(root / "tracks.csv.gz", TRACK_COLS, [[r[c] for c in TRACK_COLS] for r in tracks])
    _write_gz(
        root / "playlist_tracks.csv.gz",
        ["playlist_id", "playlist_name", "playlist_genre", "playlist_subgenre", "track_id"],
        [[p, p, g, "", tid] for p, tid, g in members],
    )
    return root


def _write_gz(path: Path, header: list[str], rows: list[list[object]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(gzip.compress(buf.getvalue().encode("utf-8")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("genre")
    data = write_synthetic(root / "data")
    report = train_genre(data, root / "out", seed=0)
    return data, root / "out", report


# ---------------------------------------------------------------------- inference
def test_probabilities_sum_to_one_in_genre_order(rng: np.random.Generator) -> None:
    model = random_model(rng, hidden=(8, 5))
    x = rng.normal(size=(20, D)) * 3
    p = model.predict_proba(x)
    assert p.shape == (20, len(GENRES))
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0)
    probs = model.probabilities(dict(zip(GENRE_FEATURES, x[0], strict=True)))
    assert tuple(probs) == GENRES
    assert np.allclose(list(probs.values()), p[0])


def test_single_layer_is_softmax_of_a_linear_map() -> None:
    # speechiness alone raises the rap logit: known answer
    w = np.zeros((D, len(GENRES)))
    w[GENRE_FEATURES.index("speechiness"), GENRES.index("rap")] = 2.0
    model = GenreModel(
        median=np.zeros(D),
        mean=np.zeros(D),
        scale=np.ones(D),
        weights=(w,),
        biases=(np.zeros(len(GENRES)),),
    )
    x = np.zeros((1, D))
    x[0, GENRE_FEATURES.index("speechiness")] = 1.0
    p = model.predict_proba(x)[0]
    e = np.exp(2.0)
    assert p[GENRES.index("rap")] == pytest.approx(e / (e + 5))
    assert p[GENRES.index("edm")] == pytest.approx(1 / (e + 5))


def test_nan_and_none_are_imputed_with_the_training_median(rng: np.random.Generator) -> None:
    model = random_model(rng)
    x = rng.normal(size=(5, D))
    holes = x.copy()
    holes[:, [0, 4, 10]] = np.nan
    holes[2, :] = np.inf
    filled = np.where(np.isfinite(holes), holes, model.median)
    p = model.predict_proba(holes)
    assert np.all(np.isfinite(p))
    assert np.allclose(p, model.predict_proba(filled))
    row = dict(zip(GENRE_FEATURES, x[0], strict=True)) | {"tempo": None, "energy": "n/a"}
    row["mode"] = 1
    got = model.probabilities(row)
    expect = x[0].copy()
    expect[GENRE_FEATURES.index("mode")] = 1.0
    for f in ("tempo", "energy"):
        expect[GENRE_FEATURES.index(f)] = model.median[GENRE_FEATURES.index(f)]
    assert np.allclose(list(got.values()), model.predict_proba(expect[None, :])[0])


def test_matrix_from_features_reads_analysis_rows(rng: np.random.Generator) -> None:
    model = random_model(rng)
    analysis = {k: v for k, v in ROCK.items() if k != "duration_ms"} | {
        "duration_s": 260.0,
        "key": 4,
        "mode": None,
    }
    x = model.matrix_from_features([analysis, ROCK | {"mode": -1}])
    assert x.shape == (2, D)
    assert x[0, GENRE_FEATURES.index("duration_ms")] == pytest.approx(260_000.0)
    assert np.isnan(x[:, GENRE_FEATURES.index("mode")]).all()
    assert model.matrix_from_features([]).shape == (0, D)


def test_matrix_from_table_matches_rows(rng: np.random.Generator) -> None:
    model = random_model(rng)
    rows = [RAP, ROCK, EDM]
    n = len(rows)
    obj = np.array(["x"] * n, dtype=object)
    cols = {f: np.array([r[f] for r in rows], dtype=np.float64) for f in GENRE_FEATURES}
    table = TrackTable(
        id=obj, name=obj, artists=obj, genre=obj, url=obj, local_path=obj,
        year=np.full(n, -1, np.int32), explicit=np.full(n, -1, np.int8),
        key=np.full(n, -1, np.int8), mode=np.array([1, -1, 0], np.int8),
        duration_ms=cols["duration_ms"], popularity=np.full(n, np.nan),
        valence=cols["valence"], energy=cols["energy"], danceability=cols["danceability"],
        acousticness=cols["acousticness"], instrumentalness=cols["instrumentalness"],
        speechiness=cols["speechiness"], liveness=cols["liveness"], loudness=cols["loudness"],
        tempo=cols["tempo"],
    )  # fmt: skip
    x = model.matrix_from_table(table)
    expect = model.matrix_from_features([RAP, ROCK | {"mode": None}, EDM | {"mode": 0}])
    assert np.array_equal(np.isnan(x), np.isnan(expect))
    assert np.allclose(np.nan_to_num(x), np.nan_to_num(expect))
    assert np.allclose(model.predict_table(table), model.predict_proba(expect))


def test_bad_input_shape_is_a_parameter_error(rng: np.random.Generator) -> None:
    model = random_model(rng)
    with pytest.raises(ParameterError, match=f"must be \\(n, {D}\\)"):
        model.predict_proba(np.zeros((3, D - 1)))


def test_inconsistent_weights_are_refused(rng: np.random.Generator) -> None:
    good = random_model(rng)
    with pytest.raises(ModelError, match="outputs"):
        GenreModel(good.median, good.mean, good.scale, (np.zeros((D, 4)),), (np.zeros(4),))
    with pytest.raises(ModelError, match="scale"):
        GenreModel(good.median, good.mean, np.zeros(D), good.weights, good.biases)


def test_merged_ensemble_averages_the_logits(rng: np.random.Generator) -> None:
    nets = []
    for _ in range(3):
        ws = [rng.normal(size=(D, 5)), rng.normal(size=(5, 4)), rng.normal(size=(4, 6))]
        bs = [rng.normal(size=5), rng.normal(size=4), rng.normal(size=6)]
        nets.append((ws, bs))

    def logits(ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray) -> np.ndarray:
        h = x
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = h @ w + b
            h = np.maximum(h, 0) if i < len(ws) - 1 else h
        return h

    x = rng.normal(size=(7, D))
    ws, bs = _merge_networks(nets)
    assert ws[0].shape == (D, 15) and ws[1].shape == (15, 12)
    expect = np.mean([logits(w, b, x) for w, b in nets], axis=0)
    assert np.allclose(logits(ws, bs, x), expect)


# ---------------------------------------------------------------------- storage
def test_save_load_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    model = random_model(rng, hidden=(8, 4))
    path = model.save(tmp_path / "m.npz")
    assert path.with_suffix(".json").is_file()
    back = GenreModel.load(path)
    x = rng.normal(size=(10, D))
    x[0, 3] = np.nan
    assert back.model_id == "genre-test/1"
    # weights are stored as float32: equal to float32 precision
    assert np.allclose(back.predict_proba(x), model.predict_proba(x), atol=1e-6)
    again = GenreModel.load(back.save(tmp_path / "again.npz"))
    assert np.array_equal(again.predict_proba(x), back.predict_proba(x))


def test_load_refuses_missing_corrupt_and_foreign_files(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    with pytest.raises(ModelError, match="cannot load the genre model"):
        GenreModel.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ModelError, match="retrain"):
        GenreModel.load(bad)
    model = random_model(rng)
    arrays = dict(np.load(model.save(tmp_path / "m.npz")))
    arrays["features"] = np.array([f"x{i}" for i in range(D)])
    np.savez(tmp_path / "foreign.npz", **arrays)
    with pytest.raises(ModelError, match="fitted on features"):
        GenreModel.load(tmp_path / "foreign.npz")


def test_default_model_missing_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(genre_mod, "MODEL_FILE", "no_such_genre_model.npz")
    default_genre_model.cache_clear()
    try:
        with pytest.raises(ModelError, match="no_such_genre_model.npz"):
            default_genre_model()
    finally:
        default_genre_model.cache_clear()


# ---------------------------------------------------------------------- tags
@pytest.mark.parametrize(
    ("tag", "genre"),
    [
        ("Hip-Hop", "rap"),
        ("Hip Hop/Rap", "rap"),
        ("Electronic", "edm"),
        ("Dance", "edm"),
        ("Drum & Bass", "edm"),
        ("R&B", "r&b"),
        ("R&B/Soul", "r&b"),
        ("Rhythm and Blues", "r&b"),
        ("Rock", "rock"),
        ("Heavy Metal", "rock"),
        ("Pop Rock", "rock"),
        ("Reggaeton", "latin"),
        ("Latin Pop", "latin"),
        ("Dance Pop", "pop"),
        ("K-Pop", "pop"),
        ("pop", "pop"),
        ("(13)", "pop"),
        ("17", "rock"),
        ("Classical", None),
        ("Jazz", None),
        ("Soundtrack", None),
        ("Emotional", None),
        ("", None),
        (None, None),
    ],
)
def test_tag_to_genre(tag: str | None, genre: str | None) -> None:
    assert tag_to_genre(tag) == genre


# ---------------------------------------------------------------------- data and split
def test_artist_split_keeps_artists_apart_and_is_deterministic(rng: np.random.Generator) -> None:
    n_artists = 200
    sizes = rng.integers(1, 12, size=n_artists)
    artists = np.repeat([f"a{i}" for i in range(n_artists)], sizes)
    labels = np.repeat(rng.integers(0, 6, size=n_artists), sizes)
    parts = artist_split(artists, labels, seed=0)
    idx = np.concatenate([parts["train"], parts["val"], parts["test"]])
    assert np.array_equal(np.sort(idx), np.arange(artists.size))  # every row exactly once
    sets = {k: set(artists[v]) for k, v in parts.items()}
    assert not sets["train"] & sets["val"]
    assert not sets["train"] & sets["test"]
    assert not sets["val"] & sets["test"]
    for part, share in (("test", 0.15), ("val", 0.15), ("train", 0.70)):
        assert abs(parts[part].size / artists.size - share) < 0.06
    again = artist_split(artists, labels, seed=0)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    # the assignment follows the artists, not the row order
    perm = rng.permutation(artists.size)
    shuffled = artist_split(artists[perm], labels[perm], seed=0)
    assert set(artists[perm][shuffled["test"]]) == sets["test"]
    other = artist_split(artists, labels, seed=1)
    assert set(artists[other["test"]]) != sets["test"]


def test_artist_split_needs_enough_artists() -> None:
    with pytest.raises(ParameterError, match="at least 20 artists"):
        artist_split(np.array(["a", "b", "c"] * 10), np.arange(30) % 6)


def test_load_original_table_takes_the_majority_genre() -> None:
    # "Closer" sits in pop, latin, pop and rock playlists: pop by majority
    ds = load_genre_data(FIXTURES / "tidytuesday_spotify_songs.csv")
    labels = dict(zip(ds.track_ids, (GENRES[i] for i in ds.y), strict=True))
    assert labels["7BKLCZ1jbUBVqRi2FVlTVw"] == "pop"
    assert labels["3eekarcy7kvN4yt5ZFzltW"] == "rap"
    assert labels["002xjHwzEx66OWFV2IP9dk"] == "r&b"
    assert "" not in labels
    assert ds.x.shape == (len(ds), D)
    closer = list(ds.track_ids).index("7BKLCZ1jbUBVqRi2FVlTVw")
    assert ds.x[closer, GENRE_FEATURES.index("speechiness")] == pytest.approx(0.0338)
    assert ds.artists[closer] == "The Chainsmokers"


def test_ties_between_genres_are_dropped(tmp_path: Path) -> None:
    data = write_synthetic(tmp_path, artists_per_genre=1, tracks_per_artist=2)
    members = gzip.decompress((data / "playlist_tracks.csv.gz").read_bytes()).decode()
    tid = members.splitlines()[1].split(",")[4]  # an edm track
    members += f"extra-rock,x,rock,,{tid}\n"  # now edm 1 : rock 1
    members += "extra-pop,x,pop,,no-such-track\n"
    (data / "playlist_tracks.csv.gz").write_bytes(gzip.compress(members.encode()))
    ds = load_genre_data(data)
    assert tid not in set(ds.track_ids)
    assert ds.stats["ties_dropped"] == 1 and ds.stats["labelled"] == 11


def test_load_refuses_missing_or_wrong_folders(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no such file"):
        load_genre_data(tmp_path / "nope")
    with pytest.raises(ParameterError, match="expected tracks.csv.gz"):
        load_genre_data(tmp_path)


# ---------------------------------------------------------------------- training and evaluation
@pytest.mark.slow  # trains the candidates (the `trained` fixture)
def test_training_on_separable_data_beats_the_baseline(
    trained: tuple[Path, Path, dict[str, object]],
) -> None:
    _, out, report = trained
    cands = report["candidates"]
    assert isinstance(cands, dict)
    assert {"majority", "logreg", "mlp-64", "hist-gbdt"} <= set(cands)
    assert report["chosen"] in cands and cands[report["chosen"]]["kind"] == "numpy"
    shipped = report["shipped"]["test"]  # type: ignore[index]
    base = cands["majority"]["test"]
    assert shipped["accuracy"] > 0.9
    assert shipped["macro_f1"] > base["macro_f1"] + 0.5
    assert (out / "genre_model.npz").is_file() and (out / "genre_train_report.md").is_file()
    assert "| logreg" in str(report["table"]) and "| hist-gbdt | no |" in str(report["table"])


def test_fit_numpy_model_with_missing_genres_keeps_six_columns(rng: np.random.Generator) -> None:
    x = rng.normal(size=(1500, D))
    y = (x[:, 0] > 0).astype(int) * 4  # only edm (0) and rap (4)
    for hidden in ((), (6,)):
        model = fit_numpy_model(x, y, hidden=hidden, seed=0)
        p = model.predict_proba(x)
        assert p.shape == (1500, 6)
        assert (p.argmax(axis=1) == y).mean() > 0.9
        assert p[:, [1, 2, 3, 5]].max() < 1e-6


@pytest.mark.slow  # trains the candidates (the `trained` fixture)
def test_evaluate_scores_the_held_out_artists_and_writes_a_png(
    trained: tuple[Path, Path, dict[str, object]], tmp_path: Path
) -> None:
    data, out, report = trained
    model = GenreModel.load(out / "genre_model.npz")
    result = evaluate_genre(data, model=model, out_dir=tmp_path)
    png = tmp_path / "genre_confusion.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and result["png"] == str(png)
    cm = np.array(result["model_scores"]["confusion"])
    assert cm.shape == (6, 6) and cm.sum() == result["n_test"]
    ds = load_genre_data(data)
    test_artists = set(ds.artists[artist_split(ds.artists, ds.y)["test"]])
    train_artists = set(ds.artists[artist_split(ds.artists, ds.y)["train"]])
    assert result["n_test_artists"] == len(test_artists) and not test_artists & train_artists
    # the same numbers as the training report's shipped model on the same test part
    shipped = report["shipped"]["test"]  # type: ignore[index]
    assert result["model_scores"]["accuracy"] == pytest.approx(shipped["accuracy"], abs=1e-6)
    assert result["model_scores"]["accuracy"] > result["baseline"]["accuracy"]
    assert "macro-F1" in result["table"] and (tmp_path / "genre_eval.json").is_file()


# ---------------------------------------------------------------------- the shipped model
@pytest.mark.slow
def test_shipped_model_loads_and_gives_sensible_answers() -> None:
    default_genre_model.cache_clear()
    model = default_genre_model()
    assert model is default_genre_model()
    assert model.features == GENRE_FEATURES and model.genres == GENRES
    assert model.model_id.startswith("genre-")
    for row, genre in ((RAP, "rap"), (ROCK, "rock"), (EDM, "edm")):
        probs = model.probabilities(row)
        top2 = sorted(probs, key=lambda g: -probs[g])[:2]
        assert genre in top2, (genre, probs)
    # a missing feature does not break it
    probs = model.probabilities({k: v for k, v in RAP.items() if k != "tempo"})
    assert sum(probs.values()) == pytest.approx(1.0)
    assert (
        Path(genre_mod.__file__).parent.parent / "models" / "genre_model.npz"
    ).stat().st_size < (200_000)


def test_local_file_features_drop_a_length_too_short_to_trust() -> None:
    from moodtune.music.genre import MIN_TRUSTED_DURATION_S, local_file_features

    clip = {"energy": 0.5, "duration_s": 30.0}
    out = local_file_features(clip)
    assert out["duration_s"] is None and out["duration_ms"] is None and out["energy"] == 0.5
    assert clip["duration_s"] == 30.0  # the caller's mapping is left alone
    song = {"duration_ms": 1000.0 * (MIN_TRUSTED_DURATION_S + 100)}
    assert local_file_features(song)["duration_ms"] == song["duration_ms"]
    model = default_genre_model()
    row = {"danceability": 0.5, "energy": 0.5, "loudness": -12, "mode": 1, "speechiness": 0.1,
           "acousticness": 0.3, "instrumentalness": 0.8, "liveness": 0.1, "valence": 0.4,
           "tempo": 120.0, "duration_s": 30.0}  # fmt: skip
    # a 30 s clip reads as a rap interlude; without its length the answer spreads out
    assert model.top(row) == "rap"
    assert max(model.probabilities(local_file_features(row)).values()) < 0.5


#: What an orchestral or solo-piano piece looks like to the classifier: none of the six genres.
ORCHESTRAL = dict(
    danceability=0.2, energy=0.15, loudness=-22.0, mode=1, speechiness=0.04, acousticness=0.95,
    instrumentalness=0.9, liveness=0.1, valence=0.2, tempo=80.0, duration_ms=240_000,
)  # fmt: skip


def test_guess_abstains_on_music_unlike_the_six_genres_and_keeps_probabilities() -> None:
    from moodtune.music.genre import OOD_RMS_Z, OTHER

    model = default_genre_model()
    label, probs, why = model.guess(ORCHESTRAL)
    assert label == OTHER and why and "unlike" in why
    assert model.distance(ORCHESTRAL) > OOD_RMS_Z
    assert sum(probs.values()) == pytest.approx(1.0) and set(probs) == set(GENRES)


def test_guess_abstains_when_no_genre_is_likely(monkeypatch: pytest.MonkeyPatch) -> None:
    from moodtune.music import genre as g

    model = default_genre_model()
    label, probs, _ = model.guess(ROCK)
    assert label == max(probs, key=lambda k: probs[k])  # in range and confident enough
    monkeypatch.setattr(g, "ABSTAIN_BELOW", max(probs.values()) + 0.01)
    label, probs2, why = model.guess(ROCK)
    assert label == g.OTHER and "no genre likely" in (why or "") and probs2 == probs
