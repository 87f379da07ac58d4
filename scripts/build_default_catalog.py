#!/usr/bin/env python
"""Build moodtune's embedded default catalog from the TidyTuesday "Spotify Songs" tables.

Run once by a maintainer; the output is committed inside the package and loaded on first
use (``moodtune.catalog.default``). The product never reads the source directory.

    python scripts/build_default_catalog.py \
        --source ../shared/data/catalog/tidytuesday_spotify_songs \
        --out src/moodtune/data/default_catalog.csv.gz

Input (``--source``): ``tracks.csv.gz`` (one row per ``track_id``, the 19 TidyTuesday track
columns) and ``playlist_tracks.csv.gz`` (``playlist_id, playlist_name, playlist_genre,
playlist_subgenre, track_id``). A track's genre (subgenre) is the most frequent
``playlist_genre`` (``playlist_subgenre``) over its playlist rows, the first seen winning a
tie; every row counts, as when importing the original 23-column ``spotify_songs.csv``.

Output: moodtune's generic CSV (see docs/catalog.md), gzip level 9 with a zero timestamp
so that a rebuild is byte-identical, plus ``<out stem>.json``, a manifest with the row
count, the SHA-256 of the file and its provenance. Feature values are copied as the
source's text, unchanged.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

from moodtune.catalog.importers import most_frequent, read_tracks
from moodtune.catalog.table import FEATURES

log = logging.getLogger("build_default_catalog")

OUT_COLUMNS = (
    "id",
    "name",
    "artists",
    "album",
    "genre",
    "subgenre",
    "release_date",
    "popularity",
    "duration_ms",
    "key",
    "mode",
    *FEATURES,
)
FROM_TIDY = {
    "id": "track_id",
    "name": "track_name",
    "album": "track_album_name",
    "release_date": "track_album_release_date",
    "popularity": "track_popularity",
    "duration_ms": "duration_ms",
    "key": "key",
    "mode": "mode",
    **{f: f for f in FEATURES},
}
PROVENANCE = {
    "dataset": "TidyTuesday 2020-01-21 'Spotify Songs' (R4DS community), pulled from the "
    "Spotify Web API with the spotifyr R package",
    "url": "https://github.com/rfordatascience/tidytuesday/tree/master/data/2020/2020-01-21",
    "terms": "Spotify metadata and audio features are subject to the Spotify Developer Terms "
    "(https://developer.spotify.com/terms); moodtune links each track to open.spotify.com "
    "and does not redistribute audio",
}


def _read_csv_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _artists_cell(name: str) -> str:
    """The generic format splits plain text on ';' and reads '[...]' as a list: protect both."""
    if not name:
        return ""
    if ";" in name or name.startswith("["):
        return json.dumps([name], ensure_ascii=False)
    return name


def build(source: Path, out: Path) -> dict[str, object]:
    """Write the default catalog to ``out`` and its manifest next to it; return the manifest."""
    tracks = _read_csv_gz(source / "tracks.csv.gz")
    memberships = _read_csv_gz(source / "playlist_tracks.csv.gz")
    genres: dict[str, list[str]] = defaultdict(list)
    subgenres: dict[str, list[str]] = defaultdict(list)
    for m in memberships:
        genres[m["track_id"]].append(m["playlist_genre"].strip())
        subgenres[m["track_id"]].append(m["playlist_subgenre"].strip())

    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(OUT_COLUMNS)
    seen: set[str] = set()
    no_genre = 0
    for t in tracks:
        track_id = t["track_id"].strip()
        if track_id in seen:
            raise SystemExit(f"duplicate track_id {track_id} in {source / 'tracks.csv.gz'}")
        seen.add(track_id)
        row = {col: t[src].strip() for col, src in FROM_TIDY.items()}
        row["artists"] = _artists_cell(t["track_artist"].strip())
        row["genre"] = most_frequent(genres.get(track_id, [])) or ""
        row["subgenre"] = most_frequent(subgenres.get(track_id, [])) or ""
        no_genre += not row["genre"]
        writer.writerow([row[c] for c in OUT_COLUMNS])

    out.parent.mkdir(parents=True, exist_ok=True)
    raw = text.getvalue().encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    out.write_bytes(buf.getvalue())

    # Self-check: the shipped reader must take every row.
    parsed, report = read_tracks(out, fmt="generic")
    if report.skipped or len(parsed) != len(tracks):
        raise SystemExit(f"self-check failed: {report.summary()}; first skips {report.skipped[:5]}")

    manifest: dict[str, object] = {
        "file": out.name,
        "format": "generic",
        "tracks": len(parsed),
        "tracks_without_genre": no_genre,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "bytes": out.stat().st_size,
        "source_files": {
            name: hashlib.sha256((source / name).read_bytes()).hexdigest()
            for name in ("tracks.csv.gz", "playlist_tracks.csv.gz")
        },
        **PROVENANCE,
        "built_by": "scripts/build_default_catalog.py",
    }
    manifest_path = out.with_name(out.name.split(".")[0] + ".json")
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="tidytuesday_spotify_songs dir")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("src/moodtune/data/default_catalog.csv.gz"),
        help="output .csv.gz (a .json manifest is written next to it)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("tracks.csv.gz", "playlist_tracks.csv.gz"):
        if not (args.source / name).is_file():
            parser.error(f"{args.source / name} does not exist; --source must hold {name}")
    t0 = time.perf_counter()
    manifest = build(args.source, args.out)
    log.info(
        "wrote %s: %d tracks (%d without genre), %d bytes, sha256 %s in %.1f s",
        args.out,
        manifest["tracks"],
        manifest["tracks_without_genre"],
        manifest["bytes"],
        manifest["sha256"],
        time.perf_counter() - t0,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
