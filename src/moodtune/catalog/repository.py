"""The catalog repository: every read and write of the track database goes through here.

Storage is SQLite through the standard library's :mod:`sqlite3`. That choice is deliberate:
it needs no server and no extra dependency, it gives real transactions (an import either
lands whole or not at all), WAL mode lets readers (the API, the bot) work while one writer
imports, and one file is easy to back up or move with ``MOODTUNE_CATALOG``. An ORM such as
SQLAlchemy would add a dependency for two tables and one hot query, and the hot query
(:meth:`Catalog.load_table`) wants raw rows to turn into numpy arrays anyway.

The schema is versioned (``PRAGMA user_version``) and changed only by the migrations in
:mod:`moodtune.catalog.migrations`, in the style of beets' ``dbcore``.

Examples
--------
>>> from pathlib import Path
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     with Catalog.open(Path(d) / "c.sqlite") as cat:
...         cat.upsert_tracks([{"id": "t1", "name": "Song", "artists": ["A"], "valence": 0.5}])
...         cat.count()
(1, 0)
1
"""

from __future__ import annotations

import io
import json
import logging
import math
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from moodtune import config
from moodtune.catalog.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, statements
from moodtune.catalog.table import FEATURES, TrackTable
from moodtune.errors import CatalogError, ParameterError
from moodtune.types import lyrics_share

log = logging.getLogger(__name__)

#: Columns of the ``tracks`` table, in storage order.
TRACK_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "artists",
    "album",
    "genre",
    "subgenre",
    "year",
    "release_date",
    "explicit",
    "popularity",
    "duration_ms",
    "key",
    "mode",
    *FEATURES,
    "url",
    "local_path",
    "source",
)

#: Columns holding text (``artists`` is a list of names, stored as JSON).
TEXT_COLUMNS = frozenset(
    {"id", "name", "album", "genre", "subgenre", "release_date", "url", "local_path", "source"}
)
#: Columns holding whole numbers.
INT_COLUMNS = frozenset({"year", "explicit", "key", "mode"})
#: Columns holding real numbers.
REAL_COLUMNS = frozenset({"popularity", "duration_ms", *FEATURES})

#: Closed range ``(low, high)`` each numeric column must lie in (units: see ``table.py``).
RANGES: dict[str, tuple[float, float]] = {
    "valence": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "danceability": (0.0, 1.0),
    "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0),
    "speechiness": (0.0, 1.0),
    "liveness": (0.0, 1.0),
    "loudness": (-80.0, 10.0),
    "tempo": (0.0, 300.0),
    "popularity": (0.0, 100.0),
    "duration_ms": (1.0, 6 * 3600 * 1000.0),
    "year": (1000, 2100),
    "explicit": (0, 1),
    "key": (-1, 11),
    "mode": (0, 1),
}

FEEDBACK_KINDS = ("like", "skip")
#: Playlists remembered per listener (listener memory is bounded).
LISTENER_PLAYLISTS_KEPT = 20

_COLUMN_SET = frozenset(TRACK_COLUMNS)
_TEXT_NOT_ID = tuple(c for c in TRACK_COLUMNS if c in TEXT_COLUMNS and c != "id")
_NUMBER_COLUMNS = tuple(c for c in TRACK_COLUMNS if c in INT_COLUMNS or c in REAL_COLUMNS)
_NUMBER_TYPES = (int, float, np.integer, np.floating)


def validate_track(row: Mapping[str, Any]) -> dict[str, Any]:
    """Check one track's values and return them as a full row ready for storage.

    Parameters
    ----------
    row : Mapping
        Keys are names from :data:`TRACK_COLUMNS`; ``id`` is required. ``artists`` is a
        list of names (or one name as a string). Missing keys and ``None`` mean unknown.

    Returns
    -------
    dict
        Every column of :data:`TRACK_COLUMNS`, with ``artists`` as a JSON list.

    Raises
    ------
    ValueError
        With a short reason naming the column and the bad value.
    """
    unknown = row.keys() - _COLUMN_SET
    if unknown:
        raise ValueError(f"unknown column(s) {sorted(unknown)}; known: {', '.join(TRACK_COLUMNS)}")
    out: dict[str, Any] = dict.fromkeys(TRACK_COLUMNS)
    out["id"] = _valid_id(row.get("id"))
    for col in _TEXT_NOT_ID:
        out[col] = _valid_text(col, row.get(col))
    out["name"] = out["name"] or ""
    out["artists"] = json.dumps(_valid_artists(row.get("artists")), ensure_ascii=False)
    for col in _NUMBER_COLUMNS:
        out[col] = _valid_number(col, row.get(col))
    return out


def _valid_id(track_id: Any) -> str:
    """A track id: non-empty text without NUL, stripped."""
    if not isinstance(track_id, str) or not track_id.strip():
        raise ValueError(
            "missing id"
            if track_id is None or isinstance(track_id, str)
            else f"id={track_id!r} is not text"
        )
    if "\x00" in track_id:
        raise ValueError(f"id={track_id!r} holds a NUL character")
    return track_id.strip()


def _valid_text(col: str, value: Any) -> str | None:
    """A text column's value (``None`` for missing or empty) without NUL characters."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{col}={value!r} is not text")
    if "\x00" in value:
        raise ValueError(f"{col}={value[:80]!r} holds a NUL character")
    return value


def _valid_artists(artists: Any) -> list[str]:
    """Artist names from a list of names or one name (blank names dropped)."""
    if artists is None:
        names: list[str] = []
    elif isinstance(artists, str):
        names = [artists] if artists.strip() else []
    elif isinstance(artists, list | tuple) and all(isinstance(a, str) for a in artists):
        names = [a.strip() for a in artists if a.strip()]
    else:
        raise ValueError(f"artists={artists!r} must be a list of names")
    if any("\x00" in a for a in names):
        raise ValueError(f"artists={artists!r} holds a NUL character")
    return names


def _valid_number(col: str, value: Any) -> int | float | None:
    """A numeric column's value: finite, whole for integer columns, inside :data:`RANGES`."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, _NUMBER_TYPES) or not math.isfinite(value):
        raise ValueError(f"{col}={value!r} is not a finite number")
    if col in INT_COLUMNS:
        if value != int(value):
            raise ValueError(f"{col}={value!r} is not a whole number")
        value = int(value)
    else:
        value = float(value)
    low, high = RANGES[col]
    if not low <= value <= high:
        raise ValueError(f"{col}={value!r} is out of range [{low:g}, {high:g}]")
    return value


class Catalog:
    """A track catalog stored in one SQLite file.

    Open it with :meth:`Catalog.open`; use it as a context manager or call :meth:`close`.
    One instance may be shared between threads: calls are serialised by a lock.

    Parameters
    ----------
    conn : sqlite3.Connection
        An open connection in autocommit mode (``isolation_level=None``).
    path : Path
        The database file.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True) -> Catalog:
        """Open (and, if needed, create or migrate) the catalog at ``path``.

        Parameters
        ----------
        path : Path, str or None
            Database file; ``None`` means :func:`moodtune.config.default_catalog_path`.
        create : bool
            Create a new empty catalog when the file does not exist. If ``False``, a
            missing file is a :class:`~moodtune.errors.CatalogError`.

        Raises
        ------
        CatalogError
            The directory is missing, the file is not a SQLite database or not a moodtune
            catalog, its schema is newer than this moodtune, or it cannot be opened.
        """
        path = Path(path) if path is not None else config.default_catalog_path()
        path = path.expanduser()
        if path.is_dir():
            raise CatalogError(
                f"the catalog path {path} is a directory; give a file path such as "
                f"{path / 'catalog.sqlite'}"
            )
        if not path.parent.is_dir():
            raise CatalogError(
                f"the directory {path.parent} of catalog {path} does not exist; create it "
                "or point MOODTUNE_CATALOG at a file in an existing directory"
            )
        if not create and not path.exists():
            raise CatalogError(
                f"no catalog at {path}; run `moodtune catalog import FILE` to create one"
            )
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise CatalogError(
                f"cannot open the catalog {path}: {exc}; check its permissions"
            ) from exc
        catalog = cls(conn, path)
        try:
            catalog._prepare()
        except BaseException:
            conn.close()
            raise
        return catalog

    def _prepare(self) -> None:
        """Set connection options, check the file is ours, and run pending migrations."""
        with self._errors("open"):
            self._conn.execute("PRAGMA busy_timeout = 10000")
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise CatalogError(
                f"{self.path} is a SQLite database but not a moodtune catalog "
                f"(application_id={app_id:#x}); choose another file with MOODTUNE_CATALOG"
            )
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"the catalog {self.path} has schema version {version}, newer than this "
                f"moodtune understands ({SCHEMA_VERSION}); upgrade moodtune or use another "
                "catalog file (MOODTUNE_CATALOG)"
            )
        if version == 0:
            with self._errors("open"):
                tables = [
                    r[0]
                    for r in self._conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    ).fetchall()
                ]
            if tables:
                raise CatalogError(
                    f"{self.path} is a SQLite database with other tables ({', '.join(tables)}), "
                    "not a moodtune catalog; choose another file with MOODTUNE_CATALOG"
                )
        with self._errors("open"):
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                log.warning("catalog %s: journal mode is %s, not WAL", self.path, mode)
            self._conn.execute("PRAGMA synchronous = NORMAL")
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            log.info(
                "catalog %s: migrating to schema %d (%s)",
                self.path,
                migration.version,
                migration.description,
            )
            with self.transaction(), self._errors(f"migrate to schema {migration.version}"):
                for statement in statements(migration.sql):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {migration.version:d}")
                self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")

    def close(self) -> None:
        """Close the connection (pending transactions are rolled back)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r})"

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn any :class:`sqlite3.Error` into a one-line :class:`CatalogError`."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text:
                raise CatalogError(
                    f"the catalog {self.path} is corrupt ({text}); move or delete it "
                    "(the default catalog is rebuilt on next use) or set MOODTUNE_CATALOG "
                    "to another file"
                ) from exc
            if "readonly" in text or "unable to open" in text:
                raise CatalogError(
                    f"cannot {action} the catalog {self.path} ({text}); check the file and "
                    "directory permissions"
                ) from exc
            if "locked" in text or "busy" in text:
                raise CatalogError(
                    f"the catalog {self.path} is locked by another process ({text}); "
                    "retry when the other moodtune command has finished"
                ) from exc
            raise CatalogError(f"cannot {action} the catalog {self.path}: {text}") from exc
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot {action} the catalog {self.path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction: all its writes land, or none do.

        Nested calls become savepoints. Any exception (also ``KeyboardInterrupt``)
        rolls the block back and propagates.

        Yields
        ------
        sqlite3.Connection
            The connection, for callers inside the catalog package.
        """
        with self._lock:
            outer = self._depth == 0
            savepoint = f"sp{self._depth}"
            with self._errors("write"):
                self._conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                try:
                    if outer:
                        self._conn.execute("ROLLBACK")
                    else:
                        self._conn.execute(f"ROLLBACK TO {savepoint}")
                        self._conn.execute(f"RELEASE {savepoint}")
                except sqlite3.Error:  # pragma: no cover - the connection is gone
                    log.exception("catalog %s: rollback failed", self.path)
                raise
            self._depth -= 1
            with self._errors("write"):
                self._conn.execute("COMMIT" if outer else f"RELEASE {savepoint}")

    # ------------------------------------------------------------------ tracks
    def upsert_tracks(self, rows: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
        """Insert or update tracks by id, in one transaction.

        A value that is ``None`` (or missing) in ``rows`` keeps the stored value, so
        importing a file without genres does not erase genres already known.

        Parameters
        ----------
        rows : iterable of Mapping
            Track rows as described in :func:`validate_track`.

        Returns
        -------
        added, updated : int
            How many ids were new and how many already existed.

        Raises
        ------
        ParameterError
            A row has a bad value (nothing is written).
        """
        checked: list[dict[str, Any]] = []
        for i, row in enumerate(rows):
            try:
                checked.append(validate_track(row))
            except ValueError as exc:
                raise ParameterError(f"track #{i} ({row.get('id')!r}): {exc}") from exc
        return self._write_rows(checked)

    def _write_rows(self, rows: list[dict[str, Any]]) -> tuple[int, int]:
        """Upsert rows already checked by :func:`validate_track`; return (added, updated)."""
        cols = ", ".join(TRACK_COLUMNS)
        marks = ", ".join(f":{c}" for c in TRACK_COLUMNS)
        updates = ", ".join(
            f"{c} = COALESCE(excluded.{c}, tracks.{c})"
            if c != "artists"
            else "artists = CASE WHEN excluded.artists = '[]' THEN tracks.artists "
            "ELSE excluded.artists END"
            for c in TRACK_COLUMNS
            if c != "id"
        )
        sql = (
            f"INSERT INTO tracks ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"
        )
        with self.transaction() as conn, self._errors("write"):
            existing = self._existing_ids([r["id"] for r in rows])
            conn.executemany(sql, rows)
        seen = {r["id"] for r in rows}
        updated = len(seen & existing)
        return len(seen) - updated, updated

    def _existing_ids(self, ids: list[str]) -> set[str]:
        """Return which of ``ids`` are stored already."""
        found: set[str] = set()
        chunk = 900  # below SQLite's default limit of host parameters
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            marks = ", ".join("?" * len(part))
            found.update(
                r[0]
                for r in self._conn.execute(f"SELECT id FROM tracks WHERE id IN ({marks})", part)
            )
        return found

    def count(self) -> int:
        """Return the number of tracks."""
        with self._lock, self._errors("read"):
            return int(self._conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0])

    def get_track(self, track_id: str) -> dict[str, Any] | None:
        """Return one track as a dict (``artists`` as a list of names), or ``None``."""
        with self._lock, self._errors("read"):
            cur = self._conn.execute(
                f"SELECT {', '.join(TRACK_COLUMNS)} FROM tracks WHERE id = ?", (track_id,)
            )
            row = cur.fetchone()
        if row is None:
            return None
        track = dict(zip(TRACK_COLUMNS, row, strict=True))
        track["artists"] = json.loads(track["artists"])
        return track

    def stats(self) -> dict[str, Any]:
        """Summarise the catalog.

        Returns
        -------
        dict
            ``path`` (str), ``schema_version``, ``tracks``, ``with_features`` (tracks with
            all nine audio features), ``with_local_file``, ``with_url``, ``genres``
            (genre -> count, most common first; unknown genre under ``""``),
            ``year_min`` / ``year_max`` (``None`` when no years), ``sources``
            (source -> count), ``feedback`` (number of feedback events).
        """
        has_all = " AND ".join(f"{c} IS NOT NULL" for c in FEATURES)
        with self._lock, self._errors("read"):
            c = self._conn
            total, with_features, with_local, with_url, y0, y1 = c.execute(
                f"SELECT COUNT(*), COALESCE(SUM({has_all}), 0), COUNT(local_path), COUNT(url), "
                "MIN(year), MAX(year) FROM tracks"
            ).fetchone()
            genres = c.execute(
                "SELECT COALESCE(genre, ''), COUNT(*) AS n FROM tracks GROUP BY 1 "
                "ORDER BY n DESC, 1"
            ).fetchall()
            sources = c.execute(
                "SELECT COALESCE(source, ''), COUNT(*) AS n FROM tracks GROUP BY 1 "
                "ORDER BY n DESC, 1"
            ).fetchall()
            feedback = c.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
            version = c.execute("PRAGMA user_version").fetchone()[0]
        return {
            "path": str(self.path),
            "schema_version": int(version),
            "tracks": int(total),
            "with_features": int(with_features),
            "with_local_file": int(with_local),
            "with_url": int(with_url),
            "genres": {g: int(n) for g, n in genres},
            "year_min": y0,
            "year_max": y1,
            "sources": {s: int(n) for s, n in sources},
            "feedback": int(feedback),
        }

    def genres(self) -> list[str]:
        """Return the known genres, sorted."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT DISTINCT genre FROM tracks WHERE genre IS NOT NULL ORDER BY genre"
            ).fetchall()
        return [r[0] for r in rows]

    def load_table(self, *, genre: str | None = None) -> TrackTable:
        """Load the catalog (or one genre of it) into a :class:`TrackTable`.

        Unknown values become NaN (real columns) or -1 (``year``, ``explicit``, ``key``,
        ``mode``); missing text becomes ``""``. Artists are joined with ``", "``.

        The first load after a change builds the table from the rows and stores a packed
        snapshot of it in the ``table_cache`` table; later loads read the snapshot (about
        ten times faster). Triggers on ``tracks`` drop the snapshot whenever a track is
        inserted, updated or deleted, in the same transaction, so it is never stale.

        Parameters
        ----------
        genre : str or None
            Keep only tracks of this genre (case-insensitive).

        Returns
        -------
        TrackTable
            One array of length ``n`` per column, in insertion order.

        Raises
        ------
        CatalogError
            The catalog is empty.
        ParameterError
            No track has the requested genre (the message lists the known ones).
        """
        t0 = time.perf_counter()
        table, how = self._full_table()
        if genre is not None:
            wanted = genre.strip().lower()
            mask = np.array([g.lower() == wanted for g in table.genre], dtype=bool)
            if not mask.any():
                raise ParameterError(
                    f"no tracks with genre {genre!r}; known genres: "
                    f"{', '.join(self.genres()) or '(none)'}"
                )
            table = table.take(np.flatnonzero(mask))
        log.debug(
            "catalog %s: loaded %d tracks (%s) in %.3f s",
            self.path,
            len(table),
            how,
            time.perf_counter() - t0,
        )
        return table

    def _full_table(self) -> tuple[TrackTable, str]:
        """Return the whole table and how it was read (``"snapshot"`` or ``"rows"``)."""
        with self._lock:
            with self._errors("read"):
                cached = self._conn.execute(
                    "SELECT data FROM table_cache WHERE key = ?", (_SNAPSHOT_KEY,)
                ).fetchone()
            if cached is not None:
                table = _table_from_snapshot(cached[0])
                if table is not None:
                    return table, "snapshot"
            if self._depth:  # inside a caller's transaction: read, do not cache
                with self._errors("read"):
                    return self._table_from_rows(), "rows"
            # Read the rows and store the snapshot in one deferred transaction: if another
            # process wrote tracks since our read began, SQLite refuses the upgrade to a
            # write (SQLITE_BUSY_SNAPSHOT) and we simply do not cache.
            with self._errors("read"):
                self._conn.execute("BEGIN")
            try:
                with self._errors("read"):
                    table = self._table_from_rows()
                try:
                    self._conn.execute("PRAGMA busy_timeout = 0")
                    self._conn.execute(
                        "INSERT OR REPLACE INTO table_cache (key, data) VALUES (?, ?)",
                        (_SNAPSHOT_KEY, _table_to_snapshot(table)),
                    )
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:  # busy, read-only file, full disk: no cache
                    log.debug("catalog %s: table snapshot not stored (%s)", self.path, exc)
                    self._conn.execute("ROLLBACK")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._conn.execute("PRAGMA busy_timeout = 10000")
            return table, "rows"

    def _table_from_rows(self) -> TrackTable:
        """Build the table from the ``tracks`` rows (the caller holds the lock)."""
        select = ", ".join(
            [
                "id",
                "name",
                "artists",
                "COALESCE(genre, '')",
                "COALESCE(url, '')",
                "COALESCE(local_path, '')",
                "COALESCE(year, -1)",
                "COALESCE(explicit, -1)",
                "COALESCE(key, -1)",
                "COALESCE(mode, -1)",
                "duration_ms",
                "popularity",
                *FEATURES,
            ]
        )
        # silent tracks (scanned digital silence) are recorded but never offered
        rows = self._conn.execute(
            f"SELECT {select} FROM tracks WHERE silent = 0 ORDER BY rowid"
        ).fetchall()
        if not rows:
            raise CatalogError(
                f"the catalog at {self.path} is empty; run `moodtune catalog import FILE` to "
                "add tracks, or delete the file to get the default catalog back"
            )
        cols = list(zip(*rows, strict=True))
        cols = self._with_lyrics(cols)
        n_text = 6
        artists = [_join_artists(a) for a in cols[2]]
        texts = [list(cols[0]), list(cols[1]), artists, *(list(cols[i]) for i in range(3, 6))]
        return TrackTable(
            **{name: _object_array(values) for name, values in zip(_TEXT, texts, strict=True)},
            year=np.array(cols[n_text], dtype=np.int32),
            explicit=np.array(cols[n_text + 1], dtype=np.int8),
            key=np.array(cols[n_text + 2], dtype=np.int8),
            mode=np.array(cols[n_text + 3], dtype=np.int8),
            duration_ms=np.array(cols[n_text + 4], dtype=np.float64),
            popularity=np.array(cols[n_text + 5], dtype=np.float64),
            **{f: np.array(cols[n_text + 6 + i], dtype=np.float64) for i, f in enumerate(FEATURES)},
        )

    def _with_lyrics(self, cols: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Blend each track's lyrics emotion into its valence and energy columns.

        A track with stored lyrics (``track_lyrics``) gets the emotion point of
        :func:`moodtune.types.blend_lyrics_point`: ``valence`` moves towards the lyrics'
        valence and ``energy`` towards their arousal (both mapped from [-1, 1] to [0, 1]), by
        the lyrics' share ``LYRICS_WEIGHT * confidence``. The stored audio features are not
        changed; only the table the recommender ranks on is.
        """
        lyrics = {
            r[0]: r[1:]
            for r in self._conn.execute(
                "SELECT track_id, valence, arousal, confidence FROM track_lyrics"
            ).fetchall()
        }
        if not lyrics:
            return cols
        pos = {name: 12 + i for i, name in enumerate(FEATURES)}
        valence = list(cols[pos["valence"]])
        energy = list(cols[pos["energy"]])
        for i, track_id in enumerate(cols[0]):
            found = lyrics.get(track_id)
            if found is None:
                continue
            lv, la, conf = found
            w = lyrics_share(conf)
            if valence[i] is not None:
                valence[i] = (1.0 - w) * valence[i] + w * (lv + 1.0) / 2.0
            if energy[i] is not None:
                energy[i] = (1.0 - w) * energy[i] + w * (la + 1.0) / 2.0
        cols[pos["valence"]] = tuple(valence)
        cols[pos["energy"]] = tuple(energy)
        return cols

    # ------------------------------------------------------------------ words about music
    def put_lyrics(self, track_id: str, lyrics: Mapping[str, Any]) -> None:
        """Store (or replace) a track's lyrics emotion.

        Parameters
        ----------
        track_id : str
            A track in this catalog.
        lyrics : mapping
            ``source`` ('lrc', 'txt' or 'whisper'), ``language`` (or None), ``text``,
            ``probabilities`` ({label: p}), ``confidence``, ``valence``, ``arousal``.

        Raises
        ------
        ParameterError
            Unknown track or a malformed mapping.
        """
        try:
            values = (
                track_id,
                str(lyrics["source"]),
                lyrics.get("language"),
                str(lyrics["text"]),
                json.dumps({str(k): float(v) for k, v in lyrics["probabilities"].items()}),
                float(lyrics["confidence"]),
                float(lyrics["valence"]),
                float(lyrics["arousal"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParameterError(f"lyrics of track {track_id!r} are malformed: {exc}") from exc
        if values[1] not in ("lrc", "txt", "whisper"):
            raise ParameterError(f"lyrics source {values[1]!r} must be lrc, txt or whisper")
        with self.transaction() as conn, self._errors("write"):
            if conn.execute("SELECT 1 FROM tracks WHERE id = ?", (track_id,)).fetchone() is None:
                raise ParameterError(f"track id {track_id!r} is not in the catalog {self.path}")
            conn.execute(
                "INSERT OR REPLACE INTO track_lyrics (track_id, source, language, text, probs, "
                "confidence, valence, arousal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def get_lyrics(self, track_id: str) -> dict[str, Any] | None:
        """A track's stored lyrics emotion (the :meth:`put_lyrics` mapping), or None."""
        with self._lock, self._errors("read"):
            row = self._conn.execute(
                "SELECT source, language, text, probs, confidence, valence, arousal "
                "FROM track_lyrics WHERE track_id = ?",
                (track_id,),
            ).fetchone()
        if row is None:
            return None
        return {
            "source": row[0],
            "language": row[1],
            "text": row[2],
            "probabilities": json.loads(row[3]),
            "confidence": row[4],
            "valence": row[5],
            "arousal": row[6],
        }

    def put_genres(self, rows: Iterable[tuple[str, Mapping[str, float], str]]) -> int:
        """Store genre probabilities: ``(track_id, {genre: p}, model)`` per track; return count."""
        values = [
            (tid, json.dumps({str(g): round(float(p), 4) for g, p in probs.items()}), model)
            for tid, probs, model in rows
        ]
        with self.transaction() as conn, self._errors("write"):
            conn.executemany(
                "INSERT OR REPLACE INTO track_genres (track_id, probs, model) VALUES (?, ?, ?)",
                values,
            )
        return len(values)

    def get_genres(self, track_id: str) -> dict[str, Any] | None:
        """A track's stored genre probabilities ``{"probabilities", "model"}``, or None."""
        with self._lock, self._errors("read"):
            row = self._conn.execute(
                "SELECT probs, model FROM track_genres WHERE track_id = ?", (track_id,)
            ).fetchone()
        if row is None:
            return None
        return {"probabilities": json.loads(row[0]), "model": row[1]}

    # ------------------------------------------------------------------ feedback
    def add_feedback(self, user: str, track_id: str, kind: str) -> None:
        """Record that ``user`` liked or skipped a track.

        Parameters
        ----------
        user : str
            Any stable user key (a bot chat id, an API session).
        track_id : str
            Id of a track in this catalog.
        kind : {'like', 'skip'}
            What the user did.

        Raises
        ------
        ParameterError
            Empty user, unknown kind, or a track id not in the catalog.
        """
        if not user or not user.strip():
            raise ParameterError("user must be a non-empty string")
        if kind not in FEEDBACK_KINDS:
            raise ParameterError(f"feedback kind={kind!r} must be one of {FEEDBACK_KINDS}")
        with self.transaction() as conn, self._errors("write"):
            if conn.execute("SELECT 1 FROM tracks WHERE id = ?", (track_id,)).fetchone() is None:
                raise ParameterError(f"track id {track_id!r} is not in the catalog {self.path}")
            conn.execute(
                "INSERT INTO feedback (user, track_id, kind, created) VALUES (?, ?, ?, ?)",
                (user, track_id, kind, time.time()),
            )

    def feedback_for(self, user: str) -> list[dict[str, Any]]:
        """Return ``user``'s feedback, oldest first: dicts with track_id, kind, created (Unix s)."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT track_id, kind, created FROM feedback WHERE user = ? "
                "ORDER BY created, rowid",
                (user,),
            ).fetchall()
        return [{"track_id": t, "kind": k, "created": c} for t, k, c in rows]

    # ------------------------------------------------------------------ served files
    def add_library_root(self, root: Path | str) -> Path:
        """Record a folder a scan was run on; only files under such roots are ever served.

        Returns the resolved folder (symlinks followed).
        """
        real = Path(root).expanduser().resolve()
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "INSERT OR IGNORE INTO library_roots (path, added) VALUES (?, ?)",
                (str(real), time.time()),
            )
        return real

    def library_roots(self) -> list[Path]:
        """Folders a scan was run on, plus ``$MOODTUNE_LIBRARY`` (``os.pathsep``-separated)."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute("SELECT path FROM library_roots ORDER BY path").fetchall()
        roots = [Path(r[0]) for r in rows] + config.library_roots()
        out: list[Path] = []
        for root in roots:
            try:
                real = root.expanduser().resolve(strict=True)
            except OSError:
                continue
            if real.is_dir() and real not in out:
                out.append(real)
        return out

    def playable_path(self, track_id: str) -> Path | None:
        """The file to play for a track, or None: never a path that came from an import.

        Only files that a scan found and analysed (the ``music_files`` table) count, and
        only when the file, with every symlink resolved, is a regular file inside one of
        :meth:`library_roots`. A track's ``local_path`` column is not trusted: imports
        can write anything there.
        """
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT path FROM music_files WHERE track_id = ? ORDER BY scanned DESC",
                (track_id,),
            ).fetchall()
        if not rows:
            return None
        roots = self.library_roots()
        for (path,) in rows:
            real = _served_file(path, roots)
            if real is not None:
                return real
        return None

    def record_file(
        self, path: Path | str, *, track_id: str, size: int, mtime_ns: int, sha256: str
    ) -> None:
        """Record that a scan found and analysed ``path`` as ``track_id``."""
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "INSERT INTO music_files (path, size, mtime_ns, sha256, track_id, scanned) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
                "mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, "
                "track_id = excluded.track_id, scanned = excluded.scanned",
                (str(path), int(size), int(mtime_ns), sha256, track_id, time.time()),
            )

    def update_file_state(self, path: Path | str, *, size: int, mtime_ns: int, sha256: str) -> None:
        """Note a scanned file's new size, time and hash (its tags were rewritten)."""
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "UPDATE music_files SET size = ?, mtime_ns = ?, sha256 = ? WHERE path = ?",
                (int(size), int(mtime_ns), sha256, str(path)),
            )

    def scanned_files(self) -> list[tuple[str, int, int, str, str]]:
        """Every file a scan recorded: ``(path, size, mtime_ns, sha256, track_id)``."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT path, size, mtime_ns, sha256, track_id FROM music_files"
            ).fetchall()
        return [(p, int(size), int(mt), sha, tid) for p, size, mt, sha, tid in rows]

    def set_local_path(self, track_id: str, path: Path | str | None) -> None:
        """Point a track's ``local_path`` at ``path`` (None: the track has no file)."""
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "UPDATE tracks SET local_path = ? WHERE id = ?",
                (None if path is None else str(path), track_id),
            )

    def forget_files(self, paths: Iterable[str]) -> int:
        """Forget scanned files (one transaction); return how many were given.

        Their tracks and analyses stay (a file that comes back is recognised by its
        content), but a track whose ``local_path`` was a forgotten file points at another
        recorded copy, or at nothing.
        """
        n = 0
        with self.transaction() as conn, self._errors("write"):
            for path in paths:
                n += 1
                row = conn.execute(
                    "SELECT track_id FROM music_files WHERE path = ?", (path,)
                ).fetchone()
                conn.execute("DELETE FROM music_files WHERE path = ?", (path,))
                if row is None:
                    continue
                other = conn.execute(
                    "SELECT path FROM music_files WHERE track_id = ? ORDER BY path LIMIT 1", row
                ).fetchone()
                conn.execute(
                    "UPDATE tracks SET local_path = ? WHERE id = ? AND local_path = ?",
                    (None if other is None else other[0], row[0], path),
                )
        return n

    def set_silent(self, track_id: str, silent: bool) -> None:
        """Mark a scanned track as (near) silence: recorded, never offered."""
        with self.transaction() as conn, self._errors("write"):
            conn.execute("UPDATE tracks SET silent = ? WHERE id = ?", (int(silent), track_id))

    # ------------------------------------------------------------------ curves
    def put_curve(
        self,
        track_id: str,
        *,
        arousal: bytes | np.ndarray,
        valence: bytes | np.ndarray,
        hop_s: float,
    ) -> None:
        """Store (or replace) a track's per-frame arousal/valence curve (float32 little-endian)."""

        def blob(x: bytes | np.ndarray) -> bytes:
            return x if isinstance(x, bytes) else np.asarray(x).astype("<f4").tobytes()

        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "INSERT OR REPLACE INTO track_curves (track_id, hop_s, arousal, valence) "
                "VALUES (?, ?, ?, ?)",
                (track_id, float(hop_s), blob(arousal), blob(valence)),
            )

    def get_curves(
        self, track_ids: Iterable[str] | None = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
        """Stored curves by track id: ``(arousal, valence, hop_s)`` as float64 arrays.

        All of them when ``track_ids`` is None.
        """
        with self._lock, self._errors("read"):
            if track_ids is None:
                rows = self._conn.execute(
                    "SELECT track_id, hop_s, arousal, valence FROM track_curves"
                ).fetchall()
            else:
                ids = list(track_ids)
                marks = ", ".join("?" * len(ids))
                rows = self._conn.execute(
                    "SELECT track_id, hop_s, arousal, valence FROM track_curves "
                    f"WHERE track_id IN ({marks})",
                    ids,
                ).fetchall()
        return {
            tid: (
                np.frombuffer(a, dtype="<f4").astype(np.float64),
                np.frombuffer(v, dtype="<f4").astype(np.float64),
                float(hop),
            )
            for tid, hop, a, v in rows
        }

    def copy_analysis(self, source_id: str, track_id: str) -> None:
        """Give ``track_id`` the stored curve and genre probabilities of ``source_id``."""
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "INSERT OR REPLACE INTO track_curves (track_id, hop_s, arousal, valence) "
                "SELECT ?, hop_s, arousal, valence FROM track_curves WHERE track_id = ?",
                (track_id, source_id),
            )
            conn.execute(
                "INSERT OR REPLACE INTO track_genres (track_id, probs, model) "
                "SELECT ?, probs, model FROM track_genres WHERE track_id = ?",
                (track_id, source_id),
            )

    # ------------------------------------------------------------------ subsonic songs
    def subsonic_songs(self, server: str) -> dict[str, tuple[Any, str | None, str]]:
        """Songs a Subsonic scan recorded for ``server``: ``{song_id: (size, created, id)}``."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT song_id, size, created, track_id FROM subsonic_songs WHERE server = ?",
                (server,),
            ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def analysed_hashes(self) -> dict[str, str]:
        """Track ids by content hash of every analysed file and Subsonic song."""
        with self._lock, self._errors("read"):
            files = self._conn.execute("SELECT sha256, track_id FROM music_files").fetchall()
            songs = self._conn.execute("SELECT sha256, track_id FROM subsonic_songs").fetchall()
        return {r[0]: r[1] for r in files} | {r[0]: r[1] for r in songs}

    def record_subsonic_song(
        self,
        server: str,
        song_id: str,
        *,
        size: int | None,
        created: str | None,
        sha256: str,
        track_id: str,
    ) -> None:
        """Record that a Subsonic scan analysed (or matched) ``song_id`` as ``track_id``."""
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "INSERT OR REPLACE INTO subsonic_songs "
                "(server, song_id, size, created, sha256, track_id, scanned) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (server, song_id, size, created, sha256, track_id, time.time()),
            )

    def forget_subsonic_songs(self, server: str, songs: Mapping[str, str]) -> int:
        """Forget songs gone from a server (``{song_id: track_id}``), in one transaction.

        A track made for the server (id ``subsonic:…``) goes with its curve, genres and
        lyrics; a local track the song matched stays. Returns how many songs were given.
        """
        with self.transaction() as conn, self._errors("write"):
            for sid, tid in songs.items():
                conn.execute(
                    "DELETE FROM subsonic_songs WHERE server = ? AND song_id = ?", (server, sid)
                )
                if tid.startswith("subsonic:"):
                    for table, col in (
                        ("tracks", "id"),
                        ("track_curves", "track_id"),
                        ("track_genres", "track_id"),
                        ("track_lyrics", "track_id"),
                    ):
                        conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (tid,))
        return len(songs)

    # ------------------------------------------------------------------ genre labels
    def classify_missing_genres(self) -> int:
        """The classifier's genre for every track without one (:mod:`moodtune.catalog.genres`)."""
        from moodtune.catalog.genres import classify_missing_genres

        return classify_missing_genres(self)

    def backfill_local_genres(self) -> int:
        """Genres for local tracks scanned before the classifier (see :mod:`.genres`)."""
        from moodtune.catalog.genres import backfill_local_genres

        return backfill_local_genres(self)

    def local_tracks_without_genres(self) -> list[str]:
        """Ids of scanned, not silent tracks that have no stored genre probabilities."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT id FROM tracks WHERE source = 'local' AND silent = 0 AND id NOT IN "
                "(SELECT track_id FROM track_genres)"
            ).fetchall()
        return [r[0] for r in rows]

    def set_genres(
        self, rows: Iterable[tuple[str, str]] | Iterable[tuple[str, str, str | None]]
    ) -> int:
        """Set tracks' playlist genre: ``(track_id, genre)`` or ``(track_id, genre, subgenre)``.

        With a third item the subgenre is set too (None clears it). Returns the count.
        """
        pairs: list[tuple[str, str]] = []
        triples: list[tuple[str, str | None, str]] = []
        for row in rows:
            if len(row) == 3:
                triples.append((row[1], row[2], row[0]))
            else:
                pairs.append((row[1], row[0]))
        with self.transaction() as conn, self._errors("write"):
            conn.executemany("UPDATE tracks SET genre = ? WHERE id = ?", pairs)
            conn.executemany("UPDATE tracks SET genre = ?, subgenre = ? WHERE id = ?", triples)
        return len(pairs) + len(triples)

    def playable_ids(self) -> set[str]:
        """Ids of the tracks :meth:`playable_path` would serve a file for."""
        with self._lock, self._errors("read"):
            rows = self._conn.execute("SELECT track_id, path FROM music_files").fetchall()
        roots = self.library_roots()
        return {t for t, p in rows if _served_file(p, roots) is not None}

    # ------------------------------------------------------------------ voice statistics
    def get_voice_stats(self, user: str) -> dict[str, Any] | None:
        """A listener's stored voice statistics (``SpeakerStats.to_dict()``), or None."""
        with self._lock, self._errors("read"):
            row = self._conn.execute(
                "SELECT data FROM voice_stats WHERE user = ?", (user,)
            ).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(zlib.decompress(row[0]))
        except (zlib.error, ValueError):
            log.warning("catalog %s: unreadable voice statistics of a listener", self.path)
            return None
        return data if isinstance(data, dict) else None

    def put_voice_stats(self, user: str, stats: Mapping[str, Any], *, keep: int) -> None:
        """Store a listener's voice statistics; keep only the ``keep`` most recent listeners."""
        if not user:
            raise ParameterError("voice statistics need a user id")
        blob = zlib.compress(json.dumps(stats, separators=(",", ":")).encode(), 6)
        with self.transaction() as conn, self._errors("write"):
            conn.execute(
                "INSERT INTO voice_stats (user, data, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(user) DO UPDATE SET data = excluded.data, "
                "updated = excluded.updated",
                (user, blob, time.time()),
            )
            conn.execute(
                "DELETE FROM voice_stats WHERE user NOT IN "
                "(SELECT user FROM voice_stats ORDER BY updated DESC LIMIT ?)",
                (max(1, int(keep)),),
            )

    def voice_stats_count(self) -> int:
        """Listeners with stored voice statistics."""
        with self._lock, self._errors("read"):
            return int(self._conn.execute("SELECT COUNT(*) FROM voice_stats").fetchone()[0])

    # ------------------------------------------------------------------ listener memory
    def record_playlist(
        self,
        listener: str,
        track_ids: Iterable[str],
        *,
        extend_last: bool = False,
        keep: int = LISTENER_PLAYLISTS_KEPT,
    ) -> int:
        """Remember that ``listener`` was given these tracks; return the playlist number.

        Parameters
        ----------
        listener : str
            A listener key: ``cli:<profile>``, an API user, a bot chat, a web visitor.
        track_ids : iterable of str
            The playlist's tracks, in order.
        extend_last : bool
            Add the tracks to the listener's latest playlist (replacements after a skip)
            instead of starting a new one.
        keep : int
            Playlists kept per listener; older ones are deleted (bounded memory).
        """
        if not listener or not str(listener).strip():
            raise ParameterError("listener must be a non-empty string")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ParameterError(f"keep={keep!r} must be a positive number of playlists")
        ids = [str(t) for t in track_ids]
        with self.transaction() as conn, self._errors("write"):
            last = conn.execute(
                "SELECT COALESCE(MAX(playlist), 0) FROM listener_plays WHERE listener = ?",
                (listener,),
            ).fetchone()[0]
            number = int(last) if extend_last and last else int(last) + 1
            start = conn.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM listener_plays "
                "WHERE listener = ? AND playlist = ?",
                (listener, number),
            ).fetchone()[0]
            now = time.time()
            conn.executemany(
                "INSERT INTO listener_plays (listener, playlist, position, track_id, created) "
                "VALUES (?, ?, ?, ?, ?)",
                [(listener, number, int(start) + i, t, now) for i, t in enumerate(ids)],
            )
            conn.execute(
                "DELETE FROM listener_plays WHERE listener = ? AND playlist <= ?",
                (listener, number - keep),
            )
        return number

    def recent_tracks(self, listener: str, *, playlists: int = 5) -> list[str]:
        """Track ids of ``listener``'s last ``playlists`` playlists, newest first, unique."""
        if isinstance(playlists, bool) or not isinstance(playlists, int) or playlists < 0:
            raise ParameterError(f"playlists={playlists!r} must be a number >= 0")
        if playlists == 0:
            return []
        with self._lock, self._errors("read"):
            rows = self._conn.execute(
                "SELECT track_id FROM listener_plays WHERE listener = ? AND playlist > "
                "(SELECT COALESCE(MAX(playlist), 0) FROM listener_plays WHERE listener = ?) - ? "
                "ORDER BY playlist DESC, position",
                (listener, listener, playlists),
            ).fetchall()
        return list(dict.fromkeys(r[0] for r in rows))

    def forget_listener(self, listener: str) -> int:
        """Delete ``listener``'s playlist memory; return the number of rows deleted."""
        with self.transaction() as conn, self._errors("write"):
            cur = conn.execute("DELETE FROM listener_plays WHERE listener = ?", (listener,))
        return int(cur.rowcount)

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._lock, self._errors("read"):
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])


def _served_file(path: str, roots: list[Path]) -> Path | None:
    """``path`` resolved, if it is a regular file inside one of ``roots``; else None."""
    p = Path(path)
    if not p.is_absolute():
        return None
    try:
        real = p.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_file():
        return None
    if any(real.is_relative_to(root) for root in roots):
        return real
    return None


def _join_artists(stored: str) -> str:
    """Turn a stored JSON list of names into ``"A, B"``."""
    if stored.startswith('["') and '", "' not in stored and "\\" not in stored:
        return stored[2:-2]  # one plain name: skip the JSON parser (most tracks)
    names = json.loads(stored)
    return ", ".join(names)


#: Key of the packed whole-table snapshot in ``table_cache`` (bump when its layout changes).
_SNAPSHOT_KEY = "tracktable/1"
#: Text columns of a TrackTable, in snapshot order.
_TEXT = ("id", "name", "artists", "genre", "url", "local_path")
#: Numeric columns of a TrackTable and their dtypes.
_NUMERIC_DTYPES: dict[str, type] = {
    "year": np.int32,
    "explicit": np.int8,
    "key": np.int8,
    "mode": np.int8,
    "duration_ms": np.float64,
    "popularity": np.float64,
    **dict.fromkeys(FEATURES, np.float64),
}


def _object_array(values: list[str]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _table_to_snapshot(table: TrackTable) -> bytes:
    """Pack a table into ``.npz`` bytes (no pickle: each text column is NUL-joined UTF-8)."""
    arrays: dict[str, np.ndarray] = {
        name: np.asarray(getattr(table, name), dtype=dtype)
        for name, dtype in _NUMERIC_DTYPES.items()
    }
    for name in _TEXT:
        blob = "\x00".join(getattr(table, name)).encode("utf-8")
        arrays[name] = np.frombuffer(blob, dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _table_from_snapshot(data: bytes) -> TrackTable | None:
    """Unpack :func:`_table_to_snapshot`'s bytes; ``None`` if they do not fit (then rebuild)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            numeric = {name: npz[name] for name in _NUMERIC_DTYPES}
            texts = {name: npz[name].tobytes().decode("utf-8").split("\x00") for name in _TEXT}
    except Exception as exc:  # any damage (bad zip, missing member, bad UTF-8): rebuild
        log.warning("catalog table snapshot unreadable (%s); rebuilding it", exc)
        return None
    n = len(numeric["year"])
    if any(len(v) != n for v in (*numeric.values(), *texts.values())):
        log.warning("catalog table snapshot has ragged columns; rebuilding it")
        return None
    return TrackTable(
        **{name: _object_array(values) for name, values in texts.items()},
        **numeric,
    )
