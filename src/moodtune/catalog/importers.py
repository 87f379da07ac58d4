"""Catalog importers: CSV track tables into the catalog, one transaction per file.

Three formats are understood; ``fmt="auto"`` picks one from the header
(column names are matched case-insensitively, extra columns are ignored and reported):

``kaggle``
    ``data.csv`` of the Kaggle dataset "Spotify Dataset 1921-2020, 160k+ Tracks"
    (Yamac Eren Ay): valence, year, acousticness, artists, danceability, duration_ms,
    energy, explicit, id, instrumentalness, key, liveness, loudness, mode, name,
    popularity, release_date, speechiness, tempo. ``artists`` is a Python list literal
    such as ``['Sergei Rachmaninoff', 'James Levine']`` (read with
    :func:`ast.literal_eval`, never ``eval``) or, in some extracts, a plain name.
``tidytuesday``
    TidyTuesday 2020-01-21 ``spotify_songs.csv`` (23 columns), or its 19-column variant
    without the playlist columns. A track listed in several playlists appears on several
    rows; they are merged into one track whose genre (subgenre) is the most frequent
    ``playlist_genre`` (``playlist_subgenre``) of its rows, first seen winning a tie.
``generic``
    moodtune's own documented CSV: ``id``, ``name``, ``artists`` required, any of the
    other catalog columns optional. See ``docs/catalog.md``.

A ``.gz`` file (any name; detected by its magic bytes) is decompressed on the fly.

A bad row (a non-numeric or out-of-range value, a missing id, a wrong number of fields,
a repeated id) is skipped and reported with its 1-based line number (the header is line
1). A bad file (missing, not UTF-8, not CSV, empty, unknown header, missing required
columns) raises :class:`~moodtune.errors.ImportFileError` before anything is written.
The rows of one file are written in one transaction.
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
import logging
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moodtune.catalog.genres import classify_missing_genres
from moodtune.catalog.repository import RANGES, TRACK_COLUMNS, Catalog, validate_track
from moodtune.catalog.table import FEATURES, spotify_track_url
from moodtune.errors import ImportFileError, ParameterError

log = logging.getLogger(__name__)

#: Formats :func:`import_file` accepts (``auto`` detects one of the others).
FORMATS: tuple[str, ...] = ("auto", "kaggle", "tidytuesday", "generic")

#: Columns of the Kaggle 160k ``data.csv``.
KAGGLE_COLUMNS: tuple[str, ...] = (
    "valence",
    "year",
    "acousticness",
    "artists",
    "danceability",
    "duration_ms",
    "energy",
    "explicit",
    "id",
    "instrumentalness",
    "key",
    "liveness",
    "loudness",
    "mode",
    "name",
    "popularity",
    "release_date",
    "speechiness",
    "tempo",
)

#: TidyTuesday ``spotify_songs`` columns that must be present, mapped to catalog columns
#: (``None``: read but not stored).
TIDY_COLUMNS: dict[str, str | None] = {
    "track_id": "id",
    "track_name": "name",
    "track_artist": "artists",
    "track_popularity": "popularity",
    "track_album_id": None,
    "track_album_name": "album",
    "track_album_release_date": "release_date",
    **{f: f for f in FEATURES},
    "key": "key",
    "mode": "mode",
    "duration_ms": "duration_ms",
}
#: Optional TidyTuesday playlist columns (the 23-column file).
TIDY_PLAYLIST_COLUMNS: tuple[str, ...] = (
    "playlist_name",
    "playlist_id",
    "playlist_genre",
    "playlist_subgenre",
)

#: Columns the generic format requires.
GENERIC_REQUIRED: tuple[str, ...] = ("id", "name", "artists")
#: Every column the generic format reads (the catalog's own columns, ``source`` excepted).
#: Columns a generic CSV may set. ``local_path`` is not one: an import must never point
#: the server at a file (local files come only from `moodtune scan`, see
#: :meth:`Catalog.playable_path`).
GENERIC_COLUMNS: tuple[str, ...] = tuple(
    c for c in TRACK_COLUMNS if c not in ("source", "local_path")
)

#: Cell values read as "unknown".
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})
#: Longest artists cell parsed as a list literal, in characters.
MAX_ARTISTS_CHARS = 10_000

_DATE = re.compile(r"^(\d{4})(-\d{2}(-\d{2})?)?$")
_NUMERIC = frozenset(RANGES)


@dataclass
class ImportReport:
    """What one import did.

    Attributes
    ----------
    path : Path
        The file.
    fmt : str
        The format used (detected or given).
    added, updated : int
        Tracks new to the catalog, and tracks that were there and got updated.
    skipped : list of (int, str)
        Bad rows: 1-based line number in the file and the reason.
    rows : int
        Data rows read (blank lines excluded).
    ignored_columns : list of str
        Columns of the file that moodtune does not store.
    genres_predicted : int
        Tracks without a genre that the genre classifier labelled after the import.
    """

    path: Path
    fmt: str
    added: int = 0
    updated: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    genres_predicted: int = 0

    def summary(self) -> str:
        """One line for humans: ``file (format): N added, M updated, K skipped``."""
        return (
            f"{self.path.name} ({self.fmt}): {self.added:,} added, {self.updated:,} updated, "
            f"{len(self.skipped):,} skipped"
            + (f", {self.genres_predicted:,} genres predicted" if self.genres_predicted else "")
        )


def import_file(
    catalog: Catalog,
    path: Path | str,
    *,
    fmt: str = "auto",
    source: str | None = None,
    genres: bool = False,
) -> ImportReport:
    """Import a CSV track table into ``catalog`` in one transaction.

    With ``genres``, the genre classifier labels every track still without a genre in the
    same transaction (:func:`classify_missing_genres`), so an interrupted import leaves
    either nothing or every track with its genre.

    Parameters
    ----------
    catalog : Catalog
        Where the tracks go. Existing ids are updated; an empty cell keeps the stored value.
    path : Path or str
        A ``.csv`` file, optionally gzip-compressed.
    fmt : {'auto', 'kaggle', 'tidytuesday', 'generic'}
        The file format; ``auto`` detects it from the header.
    source : str or None
        Stored in each track's ``source`` column; defaults to ``"<fmt>:<file name>"``.
    genres : bool
        Also classify the genre of tracks without one (counted in
        :attr:`ImportReport.genres_predicted`).

    Returns
    -------
    ImportReport
        Counts and the skipped rows with their line numbers.

    Raises
    ------
    ParameterError
        ``fmt`` is not one of :data:`FORMATS`.
    ImportFileError
        The file cannot be imported at all; the catalog is unchanged.
    CatalogError
        The catalog could not be written; the catalog is unchanged.
    """
    tracks, report = read_tracks(path, fmt=fmt, source=source)
    with catalog.transaction():
        if tracks:
            report.added, report.updated = catalog._write_rows(tracks)
        if genres:
            report.genres_predicted = classify_missing_genres(catalog)
    log.info("%s", report.summary())
    return report


def read_tracks(
    path: Path | str, *, fmt: str = "auto", source: str | None = None
) -> tuple[list[dict[str, Any]], ImportReport]:
    """Parse and check a track file without writing anything.

    Parameters
    ----------
    path : Path or str
        A ``.csv`` file, optionally gzip-compressed.
    fmt : {'auto', 'kaggle', 'tidytuesday', 'generic'}
        The file format; ``auto`` detects it from the header.
    source : str or None
        Value for the ``source`` column; defaults to ``"<fmt>:<file name>"``.

    Returns
    -------
    tracks : list of dict
        Checked rows (see :func:`moodtune.catalog.repository.validate_track`), one per id.
    report : ImportReport
        With ``rows``, ``skipped`` and ``ignored_columns`` filled in (not the counts).
    """
    if fmt not in FORMATS:
        raise ParameterError(f"format={fmt!r} is not one of {', '.join(FORMATS)}")
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ImportFileError(f"{path} {what}; give the path of a CSV file to import")
    with _Reader(path) as stream:
        lines = _records(stream, path)
        header_line, header = _header(lines, path)
        fmt = _detect(header, fmt, path)
        report = ImportReport(path=path, fmt=fmt)
        report.ignored_columns = _ignored(header, fmt)
        src = source if source is not None else f"{fmt}:{path.name}"
        tracks = _parse_rows(lines, header, fmt, src, report)
    if report.rows == 0:
        raise ImportFileError(f"{path} has a header but no rows; nothing to import")
    return tracks, report


# ---------------------------------------------------------------------- reading
class _Reader:
    """Context manager yielding a binary stream over a plain or gzip-compressed file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        try:
            raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed in __exit__
        except OSError as exc:
            raise ImportFileError(f"cannot read {self.path}: {exc.strerror}") from exc
        magic = raw.read(2)
        raw.seek(0)
        if magic == b"\x1f\x8b":
            raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        self._raw = raw
        return raw

    def __exit__(self, *exc: object) -> None:
        if self._raw is not None:
            self._raw.close()


def _records(stream: IO[bytes], path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line number, fields)`` per CSV record; read errors become ImportFileError.

    Lines are decoded one by one (strict UTF-8, a leading BOM dropped) so that an error
    names its line; a record may span lines (a quoted field with a newline).
    """
    line_no = 0

    def text_lines() -> Iterator[str]:
        nonlocal line_no
        for raw in stream:
            line_no += 1
            try:
                text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 1]
                raise ImportFileError(
                    f"{path} is not UTF-8 text (byte {bad!r} on line {line_no}); save it as "
                    "UTF-8 CSV and retry"
                ) from exc
            if "\x00" in text:
                raise ImportFileError(
                    f"{path} line {line_no} holds NUL bytes: this is not a text CSV file"
                )
            yield text

    reader = csv.reader(text_lines())
    last = 0
    while True:
        try:
            fields_ = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(
                f"{path} is not a readable CSV file (line {line_no}: {exc}); "
                "check that it is a comma-separated text file"
            ) from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFileError(
                f"{path} looks gzip-compressed but is damaged ({exc}); decompress or re-download it"
            ) from exc
        yield last + 1, fields_
        last = line_no


def _header(lines: Iterator[tuple[int, list[str]]], path: Path) -> tuple[int, list[str]]:
    for line, fields_ in lines:
        if not fields_ or all(not f.strip() for f in fields_):
            continue
        header = [f.strip().lower() for f in fields_]
        dupes = sorted(c for c, n in Counter(header).items() if n > 1 and c)
        if dupes:
            raise ImportFileError(
                f"{path} line {line}: the header repeats column(s) {', '.join(dupes)}; "
                "each column name must appear once"
            )
        return line, header
    raise ImportFileError(f"{path} is empty; give a CSV file with a header and rows")


def _detect(header: list[str], fmt: str, path: Path) -> str:
    cols = set(header)
    if fmt == "auto":
        if cols >= set(KAGGLE_COLUMNS):
            fmt = "kaggle"
        elif "track_id" in cols:
            fmt = "tidytuesday"
        elif "id" in cols:
            fmt = "generic"
        else:
            shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
            raise ImportFileError(
                f"{path}: unknown header ({shown}); expected the Kaggle 160k data.csv, "
                "TidyTuesday spotify_songs.csv, or a generic CSV with columns id, name, "
                "artists (see docs/catalog.md)"
            )
    required: tuple[str, ...] = {
        "kaggle": KAGGLE_COLUMNS,
        "tidytuesday": tuple(TIDY_COLUMNS),
        "generic": GENERIC_REQUIRED,
    }[fmt]
    missing = [c for c in required if c not in cols]
    if missing:
        raise ImportFileError(
            f"{path}: the {fmt} format needs column(s) {', '.join(missing)}, which the header "
            "lacks; fix the header or pass another --format"
        )
    return fmt


def _ignored(header: list[str], fmt: str) -> list[str]:
    used: set[str]
    if fmt == "kaggle":
        used = set(KAGGLE_COLUMNS)
    elif fmt == "tidytuesday":
        used = {c for c, to in TIDY_COLUMNS.items() if to} | {"playlist_genre", "playlist_subgenre"}
    else:
        used = set(GENERIC_COLUMNS)
    return [c for c in header if c not in used]


# ---------------------------------------------------------------------- values
def _number(col: str, text: str) -> float | None:
    text = text.strip()
    if text.lower() in MISSING:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{col}={text!r} is not a number") from None


def _explicit(text: str) -> int | None:
    value = text.strip().lower()
    if value in MISSING:
        return None
    if value in ("1", "true", "1.0", "yes"):
        return 1
    if value in ("0", "false", "0.0", "no"):
        return 0
    raise ValueError(f"explicit={text!r} must be 0/1 or true/false")


def _artists_list(text: str, *, lists: bool, strict: bool, split: bool) -> list[str]:
    """Parse an artists cell.

    With ``lists``, a JSON or Python list literal of names is read as such; a cell that
    starts with ``[`` but is no such literal is an error with ``strict``, else (as
    ``[ALEXANDROS]``) a plain name. Plain text is one name, or with ``split`` names
    separated by ``;``.
    """
    text = text.strip()
    if text.lower() in MISSING:
        return []
    if lists and text.startswith("["):
        if len(text) > MAX_ARTISTS_CHARS:
            raise ValueError(f"artists cell is longer than {MAX_ARTISTS_CHARS} characters")
        value: Any
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)  # literals only: never runs code
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                value = None
        if isinstance(value, list) and all(isinstance(a, str) for a in value):
            return [a.strip() for a in value if a.strip()]
        if value is not None or strict or text[1:2] in ("'", '"'):
            raise ValueError(f"artists={text[:80]!r} is not a list of names")
    if split:
        return [a.strip() for a in text.split(";") if a.strip()]
    return [text]


def _year_from_date(text: str | None) -> int | None:
    if not text:
        return None
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"release_date={text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year = int(match.group(1))
    low, high = RANGES["year"]
    return year if low <= year <= high else None  # e.g. "0000": unknown, not an error


def _convert(cells: dict[str, str], *, fmt: str) -> dict[str, Any]:
    """Turn one row's text cells (already under catalog column names) into typed values."""
    row: dict[str, Any] = {}
    for col, text in cells.items():
        if col == "artists":
            row[col] = _artists_list(
                text, lists=fmt != "tidytuesday", strict=fmt == "kaggle", split=fmt == "generic"
            )
        elif col == "explicit":
            row[col] = _explicit(text)
        elif col in _NUMERIC:
            row[col] = _number(col, text)
        else:
            value = text.strip()
            row[col] = None if value.lower() in MISSING else value
    if row.get("year") is None:
        row["year"] = _year_from_date(row.get("release_date"))
    elif row.get("release_date"):
        _year_from_date(row["release_date"])  # still check its shape
    if not row.get("url") and row.get("id"):
        row["url"] = spotify_track_url(row["id"]) or None
    return row


def most_frequent(labels: list[str]) -> str | None:
    """Return the most frequent non-empty label, the first seen winning a tie (or ``None``)."""
    counts = Counter(label for label in labels if label)
    if not counts:
        return None
    return counts.most_common(1)[0][0]


# ---------------------------------------------------------------------- rows
def _parse_rows(
    lines: Iterator[tuple[int, list[str]]],
    header: list[str],
    fmt: str,
    source: str,
    report: ImportReport,
) -> list[dict[str, Any]]:
    if fmt == "tidytuesday":
        mapping = {c: to for c, to in TIDY_COLUMNS.items() if to}
        mapping.update({"playlist_genre": "genre", "playlist_subgenre": "subgenre"})
    elif fmt == "kaggle":
        mapping = {c: c for c in KAGGLE_COLUMNS}
    else:
        mapping = {c: c for c in GENERIC_COLUMNS}
    index = [(i, mapping[c]) for i, c in enumerate(header) if c in mapping]
    width = len(header)
    merge = fmt == "tidytuesday"

    tracks: dict[str, dict[str, Any]] = {}
    first_line: dict[str, int] = {}
    genres: dict[str, list[str]] = {}
    subgenres: dict[str, list[str]] = {}
    for line, cells in lines:
        if not cells or all(not c.strip() for c in cells):
            continue
        report.rows += 1
        if len(cells) != width:
            report.skipped.append((line, f"has {len(cells)} fields, the header has {width}"))
            continue
        try:
            row = _convert({to: cells[i] for i, to in index}, fmt=fmt)
            row["source"] = source
            genre, subgenre = row.get("genre"), row.get("subgenre")
            if merge:
                row.pop("genre", None)
                row.pop("subgenre", None)
            checked = validate_track(row)
        except ValueError as exc:
            report.skipped.append((line, str(exc)))
            continue
        track_id = checked["id"]
        if track_id in tracks:
            if merge:
                genres[track_id].append(genre or "")
                subgenres[track_id].append(subgenre or "")
            else:
                report.skipped.append(
                    (line, f"repeats id {track_id!r} of line {first_line[track_id]}")
                )
            continue
        tracks[track_id] = checked
        first_line[track_id] = line
        if merge:
            genres[track_id] = [genre or ""]
            subgenres[track_id] = [subgenre or ""]
    if merge:
        for track_id, checked in tracks.items():
            checked["genre"] = most_frequent(genres[track_id])
            checked["subgenre"] = most_frequent(subgenres[track_id])
    return list(tracks.values())
