"""The embedded default catalog: 28,356 real tracks, installed on first use.

The package ships ``moodtune/data/default_catalog.csv.gz`` (moodtune's generic CSV) and
its manifest ``default_catalog.json``, built once by ``scripts/build_default_catalog.py``
from TidyTuesday 2020-01-21 "Spotify Songs" (Spotify Web API data via spotifyr; subject to
the Spotify Developer Terms). Every track has a Spotify id and links to
``https://open.spotify.com/track/<id>``.

:func:`open_default_catalog` opens the catalog at
:func:`moodtune.config.default_catalog_path`. When that file does not exist yet, it is
built in a temporary file in the same directory and moved into place atomically (a
hard link, which never replaces a file another process installed meanwhile), so an
interrupted first run leaves no half-written database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from moodtune import config
from moodtune.catalog.importers import read_tracks
from moodtune.catalog.repository import Catalog
from moodtune.errors import CatalogError

log = logging.getLogger(__name__)

#: Package resource names of the embedded catalog and its manifest.
DEFAULT_CATALOG_FILE = "default_catalog.csv.gz"
DEFAULT_MANIFEST_FILE = "default_catalog.json"
#: ``source`` column value of the embedded tracks.
DEFAULT_SOURCE = "default:tidytuesday-2020-01-21"


def manifest() -> dict[str, Any]:
    """Return the embedded catalog's manifest (track count, SHA-256, provenance, terms)."""
    data = resources.files("moodtune") / "data" / DEFAULT_MANIFEST_FILE
    try:
        result: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(
            f"the embedded catalog manifest {DEFAULT_MANIFEST_FILE} is missing or broken "
            f"({exc}); reinstall moodtune"
        ) from exc
    return result


def fill_from_embedded(catalog: Catalog) -> int:
    """Import the embedded default catalog into ``catalog`` (one transaction).

    Parameters
    ----------
    catalog : Catalog
        Target catalog; existing ids are updated.

    Returns
    -------
    int
        Number of tracks imported.

    Raises
    ------
    CatalogError
        The embedded file is missing, does not match its manifest's SHA-256, or has bad rows.
    """
    info = manifest()
    resource = resources.files("moodtune") / "data" / DEFAULT_CATALOG_FILE
    with resources.as_file(resource) as path:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise CatalogError(
                f"the embedded catalog {DEFAULT_CATALOG_FILE} cannot be read ({exc}); "
                "reinstall moodtune"
            ) from exc
        if digest != info["sha256"]:
            raise CatalogError(
                f"the embedded catalog {path} does not match its manifest (sha256 {digest}); "
                "reinstall moodtune"
            )
        tracks, report = read_tracks(path, fmt="generic", source=DEFAULT_SOURCE)
    if report.skipped or len(tracks) != info["tracks"]:
        raise CatalogError(
            f"the embedded catalog has {len(tracks)} good rows of {info['tracks']} "
            f"(first problems: {report.skipped[:3]}); reinstall moodtune"
        )
    catalog._write_rows(tracks)
    return len(tracks)


def open_default_catalog() -> Catalog:
    """Open the catalog at :func:`moodtune.config.default_catalog_path`, creating it if needed.

    On first use (no file yet) the embedded default catalog is installed atomically;
    later calls just open the file. An existing file is never overwritten, even when the
    user has emptied it.

    Returns
    -------
    Catalog
        The open catalog; close it when done.

    Raises
    ------
    CatalogError
        The file or its directory cannot be created or opened, or the file is corrupt.
    """
    path = config.default_catalog_path()
    if not path.exists():
        _install_default(path)
    return Catalog.open(path)


def _install_default(path: Path) -> None:
    """Build the default catalog in a temporary file next to ``path``, then link it in place."""
    if not path.parent.is_dir():
        raise CatalogError(
            f"the directory {path.parent} of catalog {path} does not exist; create it or "
            "point MOODTUNE_CATALOG at a file in an existing directory"
        )
    t0 = time.perf_counter()
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".building", dir=path.parent
        )
    except OSError as exc:
        raise CatalogError(
            f"cannot create the catalog in {path.parent} ({exc.strerror}); check permissions "
            "or set MOODTUNE_CATALOG to a writable place"
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with Catalog.open(tmp) as catalog:
            n = fill_from_embedded(catalog)
            catalog.load_table()  # stores the table snapshot, so the first load is fast too
            with catalog._errors("write"):
                catalog._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            os.link(tmp, path)  # atomic, and fails rather than replace a winner's file
        except FileExistsError:
            log.info("catalog %s was installed by another process meanwhile", path)
            return
        except OSError:  # a file system without hard links
            if path.exists():
                return
            os.replace(tmp, path)
        log.info(
            "installed the default catalog (%d tracks) at %s in %.2f s",
            n,
            path,
            time.perf_counter() - t0,
        )
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
