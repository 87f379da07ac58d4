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

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from moodtune import config
from moodtune.catalog.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, statements
from moodtune.catalog.table import FEATURES, TrackTable
from moodtune.errors import CatalogError, ParameterError

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
    unknown = set(row) - set(TRACK_COLUMNS)
    if unknown:
        raise ValueError(f"unknown column(s) {sorted(unknown)}; known: {', '.join(TRACK_COLUMNS)}")
    out: dict[str, Any] = dict.fromkeys(TRACK_COLUMNS)
    track_id = row.get("id")
    if not isinstance(track_id, str) or not track_id.strip():
        raise ValueError(
            "missing id"
            if track_id is None or isinstance(track_id, str)
            else f"id={track_id!r} is not text"
        )
    out["id"] = track_id.strip()
    for col in TEXT_COLUMNS - {"id"}:
        value = row.get(col)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{col}={value!r} is not text")
        out[col] = value
    out["name"] = out["name"] or ""
    artists = row.get("artists")
    if artists is None:
        names: list[str] = []
    elif isinstance(artists, str):
        names = [artists] if artists.strip() else []
    elif isinstance(artists, list | tuple) and all(isinstance(a, str) for a in artists):
        names = [a.strip() for a in artists if a.strip()]
    else:
        raise ValueError(f"artists={artists!r} must be a list of names")
    out["artists"] = json.dumps(names, ensure_ascii=False)
    for col in INT_COLUMNS | REAL_COLUMNS:
        value = row.get(col)
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int | float) or not math.isfinite(value):
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
        out[col] = value
    return out


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

        Parameters
        ----------
        genre : str or None
            Keep only tracks of this genre (case-insensitive).

        Returns
        -------
        TrackTable
            One array of length ``n`` per column.

        Raises
        ------
        CatalogError
            The catalog is empty.
        ParameterError
            No track has the requested genre (the message lists the known ones).
        """
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
        sql = f"SELECT {select} FROM tracks"
        params: tuple[str, ...] = ()
        if genre is not None:
            sql += " WHERE genre = ? COLLATE NOCASE"
            params = (genre.strip(),)
        t0 = time.perf_counter()
        with self._lock, self._errors("read"):
            rows = self._conn.execute(sql + " ORDER BY rowid", params).fetchall()
        if not rows:
            if genre is not None and self.count() > 0:
                raise ParameterError(
                    f"no tracks with genre {genre!r}; known genres: "
                    f"{', '.join(self.genres()) or '(none)'}"
                )
            raise CatalogError(
                f"the catalog at {self.path} is empty; run `moodtune catalog import FILE` to "
                "add tracks, or delete the file to get the default catalog back"
            )
        cols = list(zip(*rows, strict=True))
        n_text = 6

        def text(i: int) -> np.ndarray:
            arr = np.empty(len(rows), dtype=object)
            arr[:] = cols[i]
            return arr

        artists = np.empty(len(rows), dtype=object)
        artists[:] = [_join_artists(a) for a in cols[2]]
        table = TrackTable(
            id=text(0),
            name=text(1),
            artists=artists,
            genre=text(3),
            url=text(4),
            local_path=text(5),
            year=np.array(cols[n_text], dtype=np.int32),
            explicit=np.array(cols[n_text + 1], dtype=np.int8),
            key=np.array(cols[n_text + 2], dtype=np.int8),
            mode=np.array(cols[n_text + 3], dtype=np.int8),
            duration_ms=np.array(cols[n_text + 4], dtype=np.float64),
            popularity=np.array(cols[n_text + 5], dtype=np.float64),
            **{f: np.array(cols[n_text + 6 + i], dtype=np.float64) for i, f in enumerate(FEATURES)},
        )
        log.debug(
            "catalog %s: loaded %d tracks in %.3f s", self.path, len(rows), time.perf_counter() - t0
        )
        return table

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

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._lock, self._errors("read"):
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])


def _join_artists(stored: str) -> str:
    """Turn a stored JSON list of names into ``"A, B"``."""
    if stored.startswith('["') and '", "' not in stored and "\\" not in stored:
        return stored[2:-2]  # one plain name: skip the JSON parser (most tracks)
    names = json.loads(stored)
    return ", ".join(names)
