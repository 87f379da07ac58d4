from __future__ import annotations

import sqlite3
from dataclasses import fields

import numpy as np
import pytest

from moodtune.catalog import repository
from moodtune.catalog.migrations import APPLICATION_ID, SCHEMA_VERSION, Migration
from moodtune.catalog.repository import Catalog, validate_track
from moodtune.catalog.table import FEATURES, TrackTable
from moodtune.errors import CatalogError, ParameterError


def _track(i: int, **extra) -> dict:
    row = {
        "id": f"t{i}",
        "name": f"Song {i}",
        "artists": [f"Artist {i % 3}"],
        "genre": "rock" if i % 2 else "pop",
        "year": 1990 + i,
        "explicit": i % 2,
        "key": i % 12,
        "mode": 1,
        "duration_ms": 200_000.0,
        "popularity": float(i),
        **{f: 0.5 for f in FEATURES},
        "loudness": -8.0,
        "tempo": 120.0,
    }
    row.update(extra)
    return row


@pytest.fixture
def catalog(tmp_path):
    with Catalog.open(tmp_path / "catalog.sqlite") as cat:
        yield cat


def test_new_catalog_schema_and_wal(catalog):
    assert catalog.schema_version == SCHEMA_VERSION >= 1
    conn = catalog._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    cols = [r[1] for r in conn.execute("PRAGMA table_info(tracks)")]
    assert cols == [*repository.TRACK_COLUMNS, "silent"]  # silent: set by scans, never offered
    fb = [r[1] for r in conn.execute("PRAGMA table_info(feedback)")]
    assert fb == ["user", "track_id", "kind", "created"]


def test_upsert_count_get(catalog):
    assert catalog.upsert_tracks([_track(i) for i in range(5)]) == (5, 0)
    assert catalog.count() == 5
    assert catalog.upsert_tracks([_track(1, name="New"), _track(9)]) == (1, 1)
    t = catalog.get_track("t1")
    assert t["name"] == "New" and t["artists"] == ["Artist 1"] and t["year"] == 1991
    assert catalog.get_track("nope") is None


def test_upsert_rejects_bad_values_and_writes_nothing(catalog):
    with pytest.raises(ParameterError, match="valence=1.7"):
        catalog.upsert_tracks([_track(0), _track(1, valence=1.7)])
    with pytest.raises(ParameterError, match="unknown column"):
        catalog.upsert_tracks([{"id": "x", "colour": "red"}])
    with pytest.raises(ParameterError, match="missing id"):
        catalog.upsert_tracks([{"name": "no id"}])
    assert catalog.count() == 0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("energy", -0.1, "out of range"),
        ("tempo", float("nan"), "finite"),
        ("key", 12, "out of range"),
        ("key", 2.5, "whole number"),
        ("mode", 2, "out of range"),
        ("year", 3000, "out of range"),
        ("loudness", "loud", "finite number"),
        ("artists", [1, 2], "list of names"),
        ("name", 5, "not text"),
    ],
)
def test_validate_track_ranges(column, value, message):
    with pytest.raises(ValueError, match=message):
        validate_track(_track(0, **{column: value}))


def test_numpy_values_accepted(catalog):
    row = _track(0, key=np.int64(3), valence=np.float32(0.25), year=np.int32(2001))
    catalog.upsert_tracks([row])
    t = catalog.get_track("t0")
    assert (t["key"], t["valence"], t["year"]) == (3, 0.25, 2001)
    assert type(t["key"]) is int


def test_transaction_rolls_back(catalog):
    catalog.upsert_tracks([_track(0)])

    def write_then_fail():
        with catalog.transaction():
            catalog.upsert_tracks([_track(1), _track(2)])
            assert catalog.count() == 3
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert catalog.count() == 1


def test_nested_transaction_savepoint(catalog):
    def write_then_fail():
        with catalog.transaction():
            catalog.upsert_tracks([_track(1)])
            raise KeyError("inner")

    with catalog.transaction():
        catalog.upsert_tracks([_track(0)])
        with pytest.raises(KeyError):
            write_then_fail()
        assert catalog.count() == 1
    assert catalog.count() == 1
    assert catalog.get_track("t0") is not None and catalog.get_track("t1") is None


def test_stats(catalog):
    catalog.upsert_tracks([_track(i) for i in range(4)])
    catalog.upsert_tracks(
        [{"id": "bare", "name": "x", "artists": ["y"], "local_path": "/m/x.ogg", "year": 1975}]
    )
    s = catalog.stats()
    assert s["tracks"] == 5
    assert s["with_features"] == 4
    assert s["with_local_file"] == 1
    assert s["genres"] == {"pop": 2, "rock": 2, "": 1}
    assert (s["year_min"], s["year_max"]) == (1975, 1993)
    assert s["schema_version"] == SCHEMA_VERSION
    assert s["path"] == str(catalog.path)


def test_load_table_dtypes_and_values(catalog):
    catalog.upsert_tracks([_track(i) for i in range(6)])
    catalog.upsert_tracks([{"id": "bare", "name": "x", "artists": ["A", "B"]}])
    table = catalog.load_table()
    assert isinstance(table, TrackTable)
    assert len(table) == 7
    for f in (*FEATURES, "duration_ms", "popularity"):
        arr = getattr(table, f)
        assert arr.dtype == np.float64 and arr.shape == (7,)
    assert table.year.dtype == np.int32
    assert table.explicit.dtype == table.key.dtype == table.mode.dtype == np.int8
    for f in ("id", "name", "artists", "genre", "url", "local_path"):
        assert getattr(table, f).dtype == object and len(getattr(table, f)) == 7
    last = int(np.flatnonzero(table.id == "bare")[0])
    assert table.artists[last] == "A, B"
    assert np.isnan(table.valence[last]) and table.year[last] == -1 and table.key[last] == -1
    assert table.genre[last] == "" and table.url[last] == ""
    assert table.year[0] == 1990 and table.tempo[0] == 120.0
    assert table.feature_matrix().shape == (7, len(FEATURES))


def test_load_table_genre_filter(catalog):
    catalog.upsert_tracks([_track(i) for i in range(6)])
    rock = catalog.load_table(genre="ROCK")
    assert len(rock) == 3 and set(rock.genre) == {"rock"}
    with pytest.raises(ParameterError, match="known genres: pop, rock"):
        catalog.load_table(genre="jazz")


def test_empty_catalog_error(catalog):
    with pytest.raises(CatalogError, match="is empty; run `moodtune catalog import FILE`"):
        catalog.load_table()


def test_feedback(catalog):
    catalog.upsert_tracks([_track(0), _track(1)])
    catalog.add_feedback("chat:42", "t1", "like")
    catalog.add_feedback("chat:42", "t0", "skip")
    catalog.add_feedback("other", "t0", "like")
    fb = catalog.feedback_for("chat:42")
    assert [(f["track_id"], f["kind"]) for f in fb] == [("t1", "like"), ("t0", "skip")]
    assert fb[0]["created"] <= fb[1]["created"]
    assert catalog.feedback_for("nobody") == []
    with pytest.raises(ParameterError, match="kind='love'"):
        catalog.add_feedback("chat:42", "t0", "love")
    with pytest.raises(ParameterError, match="not in the catalog"):
        catalog.add_feedback("chat:42", "t9", "like")
    with pytest.raises(ParameterError, match="user"):
        catalog.add_feedback(" ", "t0", "like")
    assert catalog.stats()["feedback"] == 3


def test_reopen_keeps_data(tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog.open(path) as cat:
        cat.upsert_tracks([_track(0)])
    with Catalog.open(path, create=False) as cat:
        assert cat.count() == 1


# ---------------------------------------------------------------- bad files and versions
def test_missing_parent_directory(tmp_path):
    with pytest.raises(CatalogError, match="does not exist; create it"):
        Catalog.open(tmp_path / "no" / "such" / "c.sqlite")


def test_missing_file_without_create(tmp_path):
    with pytest.raises(CatalogError, match="no catalog at"):
        Catalog.open(tmp_path / "c.sqlite", create=False)


def test_path_is_directory(tmp_path):
    with pytest.raises(CatalogError, match="is a directory"):
        Catalog.open(tmp_path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database at all\n" * 200)
    with pytest.raises(CatalogError, match="is corrupt .*move or delete it") as info:
        Catalog.open(path)
    assert "\n" not in str(info.value)
    assert not isinstance(info.value.__cause__, CatalogError)


def test_foreign_sqlite_database(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="not a moodtune catalog"):
        Catalog.open(path)


def test_newer_schema_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalog.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        Catalog.open(path)


def test_migration_to_next_version(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    with Catalog.open(path) as cat:
        cat.upsert_tracks([_track(0)])
    nxt = SCHEMA_VERSION + 1
    step = Migration(nxt, "test column", "ALTER TABLE tracks ADD COLUMN mood TEXT;")
    monkeypatch.setattr(repository, "MIGRATIONS", (*repository.MIGRATIONS, step))
    monkeypatch.setattr(repository, "SCHEMA_VERSION", nxt)
    with Catalog.open(path) as cat:
        assert cat.schema_version == nxt
        assert cat.count() == 1
        cols = [r[1] for r in cat._conn.execute("PRAGMA table_info(tracks)")]
        assert "mood" in cols


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    Catalog.open(path).close()
    nxt = SCHEMA_VERSION + 1
    step = Migration(nxt, "broken", "ALTER TABLE tracks ADD COLUMN a TEXT; SELECT * FROM nowhere")
    with monkeypatch.context() as m:
        m.setattr(repository, "MIGRATIONS", (*repository.MIGRATIONS, step))
        m.setattr(repository, "SCHEMA_VERSION", nxt)
        with pytest.raises(CatalogError, match="nowhere"):
            Catalog.open(path)
    with Catalog.open(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        assert "a" not in [r[1] for r in cat._conn.execute("PRAGMA table_info(tracks)")]


def _cache_rows(cat: Catalog) -> int:
    return cat._conn.execute("SELECT COUNT(*) FROM table_cache").fetchone()[0]


def _assert_tables_equal(a: TrackTable, b: TrackTable) -> None:
    for f in fields(TrackTable):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype, f.name
        if x.dtype == np.float64:
            np.testing.assert_array_equal(x, y, err_msg=f.name)  # NaN == NaN here
        else:
            assert list(x) == list(y), f.name


def test_table_snapshot_roundtrip_and_invalidation(catalog):
    catalog.upsert_tracks([_track(i) for i in range(6)])
    catalog.upsert_tracks([{"id": "bare", "name": "Ünïcode ✓", "artists": ["A", "B"]}])
    assert _cache_rows(catalog) == 0
    from_rows = catalog.load_table()
    assert _cache_rows(catalog) == 1
    from_snapshot = catalog.load_table()
    _assert_tables_equal(from_rows, from_snapshot)
    # any write to tracks drops the snapshot in the same transaction
    catalog.upsert_tracks([_track(7)])
    assert _cache_rows(catalog) == 0
    assert len(catalog.load_table()) == 8
    catalog._conn.execute("UPDATE tracks SET valence = 0.9 WHERE id = 't0'")
    assert _cache_rows(catalog) == 0
    table = catalog.load_table()
    assert table.valence[list(table.id).index("t0")] == 0.9
    catalog._conn.execute("DELETE FROM tracks WHERE id = 't7'")
    assert _cache_rows(catalog) == 0 and len(catalog.load_table()) == 7


def test_broken_snapshot_is_rebuilt(catalog):
    catalog.upsert_tracks([_track(i) for i in range(3)])
    good = catalog.load_table()
    catalog._conn.execute("UPDATE table_cache SET data = x'504b0304deadbeef'")
    _assert_tables_equal(good, catalog.load_table())
    assert _cache_rows(catalog) == 1


def test_upgrade_from_schema_1(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    with monkeypatch.context() as m:
        m.setattr(repository, "MIGRATIONS", repository.MIGRATIONS[:1])
        m.setattr(repository, "SCHEMA_VERSION", 1)
        with Catalog.open(path) as cat:
            assert cat.schema_version == 1
            cat.upsert_tracks([_track(0), _track(1)])
    with Catalog.open(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION >= 2
        assert cat.count() == 2
        assert len(cat.load_table()) == 2 and _cache_rows(cat) == 1


def test_nul_characters_rejected():
    with pytest.raises(ValueError, match="NUL"):
        validate_track(_track(0, name="a\x00b"))
    with pytest.raises(ValueError, match="NUL"):
        validate_track(_track(0, artists=["a\x00b"]))


def _lyrics(valence: float, arousal: float, confidence: float) -> dict:
    return {
        "source": "whisper",
        "language": "en",
        "text": "la la",
        "probabilities": {"joy": 0.9, "neutral": 0.1},
        "confidence": confidence,
        "valence": valence,
        "arousal": arousal,
    }


def test_lyrics_round_trip_and_blend_into_table(catalog):
    catalog.upsert_tracks([_track(i) for i in range(3)])
    before = catalog.load_table()
    assert catalog.get_lyrics("t1") is None
    catalog.put_lyrics("t1", _lyrics(1.0, -1.0, 1.0))
    got = catalog.get_lyrics("t1")
    assert got["source"] == "whisper" and got["probabilities"]["joy"] == 0.9
    after = catalog.load_table()  # the snapshot was dropped by the trigger
    i = list(after.id).index("t1")
    # share 0.4 * confidence 1.0: valence 0.5 -> 0.6 * 0.5 + 0.4 * 1.0, energy -> 0.3
    assert after.valence[i] == pytest.approx(0.7)
    assert after.energy[i] == pytest.approx(0.3)
    others = [j for j in range(3) if j != i]
    assert np.allclose(after.valence[others], before.valence[others])
    catalog.put_lyrics("t1", _lyrics(1.0, -1.0, 0.0))  # no confidence: no move
    assert catalog.load_table().valence[i] == pytest.approx(0.5)


def test_lyrics_and_genres_validation(catalog):
    catalog.upsert_tracks([_track(1)])
    with pytest.raises(ParameterError, match="not in the catalog"):
        catalog.put_lyrics("nope", _lyrics(0, 0, 0.5))
    with pytest.raises(ParameterError, match="source"):
        catalog.put_lyrics("t1", {**_lyrics(0, 0, 0.5), "source": "guess"})
    with pytest.raises(ParameterError, match="malformed"):
        catalog.put_lyrics("t1", {"source": "lrc"})
    assert catalog.put_genres([("t1", {"rock": 0.7, "pop": 0.3}, "genre-mlp/1")]) == 1
    assert catalog.get_genres("t1") == {
        "probabilities": {"rock": 0.7, "pop": 0.3},
        "model": "genre-mlp/1",
    }
    assert catalog.get_genres("t2") is None
