"""Versioned schema migrations of the catalog database.

The schema version lives in SQLite's ``PRAGMA user_version`` (0 for a new, empty file).
Each :class:`Migration` moves the database from ``version - 1`` to ``version``; the
repository applies the missing ones in order, each in its own transaction, so a crash
during a migration leaves the file at the previous version (SQLite DDL is transactional).

To change the schema, append a migration here; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

#: ``PRAGMA application_id`` stamped on every moodtune catalog ("MdTn" in ASCII).
APPLICATION_ID = 0x4D64546E


@dataclass(frozen=True)
class Migration:
    """One schema step.

    Attributes
    ----------
    version : int
        Schema version the database has after this step.
    description : str
        What the step does, for the log.
    sql : str
        Statements separated by ``;`` (no transaction statements; see :func:`statements`).
    """

    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="tracks and feedback tables",
        sql="""
        CREATE TABLE tracks (
            id               TEXT PRIMARY KEY NOT NULL,
            name             TEXT NOT NULL DEFAULT '',
            artists          TEXT NOT NULL DEFAULT '[]',  -- JSON list of names
            album            TEXT,
            genre            TEXT,
            subgenre         TEXT,
            year             INTEGER,
            release_date     TEXT,
            explicit         INTEGER,                     -- 1 explicit, 0 clean
            popularity       REAL,                        -- 0-100
            duration_ms      REAL,
            key              INTEGER,                     -- pitch class 0-11, -1 none
            mode             INTEGER,                     -- 1 major, 0 minor
            valence          REAL,
            energy           REAL,
            danceability     REAL,
            acousticness     REAL,
            instrumentalness REAL,
            speechiness      REAL,
            liveness         REAL,
            loudness         REAL,                        -- dB
            tempo            REAL,                        -- BPM
            url              TEXT,
            local_path       TEXT,
            source           TEXT
        );
        CREATE INDEX tracks_genre ON tracks (genre);
        CREATE TABLE feedback (
            user     TEXT NOT NULL,
            track_id TEXT NOT NULL,
            kind     TEXT NOT NULL CHECK (kind IN ('like', 'skip')),
            created  REAL NOT NULL                        -- Unix time, seconds
        );
        CREATE INDEX feedback_user ON feedback (user, created);
        """,
    ),
    Migration(
        version=2,
        description="packed snapshot of the track table, dropped by triggers on any change",
        sql="""
        CREATE TABLE table_cache (
            key  TEXT PRIMARY KEY NOT NULL,
            data BLOB NOT NULL
        );
        CREATE TRIGGER tracks_insert_drops_cache AFTER INSERT ON tracks
            BEGIN DELETE FROM table_cache; END;
        CREATE TRIGGER tracks_update_drops_cache AFTER UPDATE ON tracks
            BEGIN DELETE FROM table_cache; END;
        CREATE TRIGGER tracks_delete_drops_cache AFTER DELETE ON tracks
            BEGIN DELETE FROM table_cache; END;
        """,
    ),
    Migration(
        version=3,
        description="local library scans: analysed files and per-second arousal/valence curves",
        sql="""
        CREATE TABLE music_files (
            path     TEXT PRIMARY KEY NOT NULL,            -- absolute path
            size     INTEGER NOT NULL,                     -- bytes
            mtime_ns INTEGER NOT NULL,                     -- st_mtime_ns
            sha256   TEXT NOT NULL,                        -- content hash, hex
            track_id TEXT NOT NULL,
            scanned  REAL NOT NULL                         -- Unix time, seconds
        );
        CREATE INDEX music_files_sha ON music_files (sha256);
        CREATE TABLE track_curves (
            track_id TEXT PRIMARY KEY NOT NULL,
            hop_s    REAL NOT NULL,                        -- seconds between points
            arousal  BLOB NOT NULL,                        -- float32 little-endian, [-1, 1]
            valence  BLOB NOT NULL
        );
        """,
    ),
    Migration(
        version=4,
        description="words about music: lyrics emotion and genre probabilities per track",
        sql="""
        CREATE TABLE track_lyrics (
            track_id   TEXT PRIMARY KEY NOT NULL,
            source     TEXT NOT NULL CHECK (source IN ('lrc', 'txt', 'whisper')),
            language   TEXT,                               -- ISO 639-1, NULL unknown
            text       TEXT NOT NULL,                      -- the lyrics read or heard
            probs      TEXT NOT NULL,                      -- JSON {label: p}, 7 labels
            confidence REAL NOT NULL,                      -- [0, 1]
            valence    REAL NOT NULL,                      -- [-1, 1]
            arousal    REAL NOT NULL                       -- [-1, 1]
        );
        CREATE TABLE track_genres (
            track_id TEXT PRIMARY KEY NOT NULL,
            probs    TEXT NOT NULL,                        -- JSON {genre: p}
            model    TEXT NOT NULL                         -- classifier that gave them
        );
        CREATE TRIGGER lyrics_insert_drops_cache AFTER INSERT ON track_lyrics
            BEGIN DELETE FROM table_cache; END;
        CREATE TRIGGER lyrics_update_drops_cache AFTER UPDATE ON track_lyrics
            BEGIN DELETE FROM table_cache; END;
        CREATE TRIGGER lyrics_delete_drops_cache AFTER DELETE ON track_lyrics
            BEGIN DELETE FROM table_cache; END;
        """,
    ),
    Migration(
        version=5,
        description="library roots a scan was run on; per-listener voice statistics",
        sql="""
        CREATE TABLE library_roots (
            path  TEXT PRIMARY KEY NOT NULL,               -- resolved absolute folder
            added REAL NOT NULL                            -- Unix time, seconds
        );
        CREATE TABLE voice_stats (
            user    TEXT PRIMARY KEY NOT NULL,             -- listener id (bound to a credential)
            data    BLOB NOT NULL,                         -- zlib-compressed JSON of SpeakerStats
            updated REAL NOT NULL                          -- Unix time, seconds
        );
        CREATE INDEX voice_stats_updated ON voice_stats (updated);
        """,
    ),
    Migration(
        version=6,
        description="listener memory: the tracks of each listener's recent playlists",
        sql="""
        CREATE TABLE listener_plays (
            listener TEXT NOT NULL,                        -- cli:<profile>, API user, bot chat
            playlist INTEGER NOT NULL,                     -- 1, 2, ... per listener
            position INTEGER NOT NULL,                     -- 0-based place in the playlist
            track_id TEXT NOT NULL,
            created  REAL NOT NULL                         -- Unix seconds
        );
        CREATE INDEX listener_plays_listener ON listener_plays (listener, playlist);
        """,
    ),
    Migration(
        version=7,
        description="songs of Subsonic servers analysed into the catalog (no local copy)",
        sql="""
        CREATE TABLE subsonic_songs (
            server   TEXT NOT NULL,                        -- hash of server URL and user
            song_id  TEXT NOT NULL,                        -- the server's song id
            size     INTEGER,                              -- bytes, as the server reports
            created  TEXT,                                 -- the server's "created" stamp
            sha256   TEXT NOT NULL,                        -- content hash of the download
            track_id TEXT NOT NULL,
            scanned  REAL NOT NULL,                        -- Unix time, seconds
            PRIMARY KEY (server, song_id)
        );
        CREATE INDEX subsonic_songs_sha ON subsonic_songs (sha256);
        """,
    ),
    Migration(
        version=8,
        description="silent tracks: scanned, recorded, never offered",
        sql="""
        ALTER TABLE tracks ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;  -- 1: (near) silence
        DELETE FROM table_cache;
        """,
    ),
)

#: The schema version this moodtune writes and understands.
SCHEMA_VERSION: int = MIGRATIONS[-1].version


def statements(sql: str) -> list[str]:
    """Split a migration's SQL into single statements.

    ``executescript`` would commit the open transaction first, so migrations run statement
    by statement; :func:`sqlite3.complete_statement` decides where one ends, which keeps
    trigger bodies (``BEGIN ...; END``) and ``;`` inside literals whole.

    Parameters
    ----------
    sql : str
        Statements separated by ``;``.
    """
    out: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                out.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]!r}")
    return out
