"""A music file's identity and tags: its content hash and what its tags say.

Scans (:mod:`moodtune.catalog.scan`), the Subsonic import and the analysis of one file
(:mod:`moodtune.music.report`) read files through these.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's content, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_tags(path: Path | str) -> dict[str, Any]:
    """Title, artists, album, genre and year from a file's tags (mutagen); ``{}`` if none.

    Returns
    -------
    dict
        Catalog column names: ``name``, ``artists`` (list), ``album``, ``genre``, ``year``.
    """
    try:
        import mutagen
    except ImportError:  # pragma: no cover - a base dependency
        log.warning("mutagen is not installed: tags are not read")
        return {}
    try:
        f = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen raises many types on odd files; tags are optional
        log.debug("%s: tags unreadable: %s", path, exc)
        return {}
    if f is None or not f.tags:
        return {}

    def values(key: str) -> list[str]:
        try:
            raw = f.tags.get(key) or []
        except Exception:  # some tag classes raise on unknown keys
            return []
        raw = raw if isinstance(raw, list) else [raw]
        return [str(v).strip() for v in raw if str(v).strip()]

    out: dict[str, Any] = {}
    if title := values("title"):
        out["name"] = title[0]
    if artists := values("artist"):
        out["artists"] = artists
    if album := values("album"):
        out["album"] = album[0]
    if genre := values("genre"):
        out["genre"] = genre[0]
    date = values("date") or values("year")
    if date and date[0][:4].isdigit() and 1000 <= int(date[0][:4]) <= 2100:
        out["year"] = int(date[0][:4])
    return out
