"""Playlist files any player opens: M3U8, XSPF and JSON (write and read back).

- **M3U8** (UTF-8 extended M3U): ``#EXTM3U``, a ``#PLAYLIST:`` title, then per track
  ``#EXTINF:<seconds>,<artist> – <title>`` and its location.
- **XSPF** (XML Shareable Playlist Format 1): ``<track>`` with ``<location>``, ``<title>``,
  ``<creator>``, ``<album>``, ``<duration>`` (ms) and ``<identifier>`` (the catalog id).
- **JSON**: ``{"title", "tracks": [{"id", "title", "artists", "album", "duration_s",
  "location", "kind"}]}``.

A local file is written relative to the playlist's folder when it shares a parent folder
with it (absolute otherwise). A catalog track without a local file is written as its
link (a Spotify URL) under a comment saying so, or left out with ``local_only`` (the
report counts it).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from moodtune.errors import ParameterError

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog

#: Playlist formats by file ending.
FORMATS: dict[str, str] = {".m3u8": "m3u8", ".m3u": "m3u8", ".xspf": "xspf", ".json": "json"}
XSPF_NS = "http://xspf.org/ns/0/"


@dataclass(frozen=True)
class PlaylistEntry:
    """One track of a playlist, as players need it.

    Attributes
    ----------
    track_id : str
        Catalog id (``local:…``, a Spotify id, ``subsonic:…``).
    title : str
    artists : tuple of str
    album : str or None
    duration_s : float or None
        Seconds.
    local_path : str or None
        Absolute path of a playable local file.
    url : str or None
        A link for tracks without a local file (Spotify).
    """

    track_id: str
    title: str
    artists: tuple[str, ...] = ()
    album: str | None = None
    duration_s: float | None = None
    local_path: str | None = None
    url: str | None = None

    @property
    def display(self) -> str:
        """``"Artist, Artist – Title"`` (or just the title)."""
        who = ", ".join(self.artists)
        return f"{who} – {self.title}" if who else self.title


@dataclass
class PlaylistFileReport:
    """What was written.

    Attributes
    ----------
    path : str
    fmt : str
        ``m3u8``, ``xspf`` or ``json``.
    local : int
        Tracks written as local files.
    links : int
        Tracks written as links (no local file).
    skipped : int
        Tracks without a local file left out (``local_only``) or with neither file nor link.
    """

    path: str
    fmt: str
    local: int = 0
    links: int = 0
    skipped: int = 0
    skipped_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "format": self.fmt,
            "local": self.local,
            "links": self.links,
            "skipped": self.skipped,
        }


def catalog_entries(catalog: Catalog, track_ids: Iterable[str]) -> list[PlaylistEntry]:
    """Catalog tracks as playlist entries (title, artists, duration, file or link).

    Unknown ids are left out. A local file that is gone counts as no file.
    """
    from moodtune.catalog.table import spotify_track_url

    out = []
    for tid in track_ids:
        row = catalog.get_track(tid)
        if row is None:
            continue
        path = row.get("local_path") or None
        if path is not None and not Path(path).is_file():
            path = None
        dur = row.get("duration_ms")
        out.append(
            PlaylistEntry(
                track_id=tid,
                title=str(row.get("name") or tid),
                artists=tuple(row.get("artists") or ()),
                album=row.get("album") or None,
                duration_s=None if dur is None else float(dur) / 1000.0,
                local_path=path,
                url=row.get("url") or spotify_track_url(tid) or None,
            )
        )
    return out


def playlist_format(path: Path | str) -> str:
    """The format of a playlist path by its ending.

    Raises
    ------
    ParameterError
        An ending other than ``.m3u8``/``.m3u``, ``.xspf`` or ``.json``.
    """
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ParameterError(f"--out {path}: the playlist file must end in .m3u8, .xspf or .json")
    return fmt


def _location(entry_path: str, base: Path) -> str:
    """A local file's path relative to ``base`` when they share a folder, else absolute."""
    target = Path(entry_path).resolve()
    try:
        common = os.path.commonpath([str(target), str(base)])
    except ValueError:  # different drives (Windows)
        return str(target)
    if common == Path(common).anchor:  # only the root is shared: keep the whole path
        return str(target)
    return os.path.relpath(target, base)


def write_playlist(
    entries: Iterable[PlaylistEntry],
    path: Path | str,
    *,
    local_only: bool = False,
    title: str = "moodtune",
) -> PlaylistFileReport:
    """Write a playlist file; the format follows the ending of ``path``.

    Parameters
    ----------
    entries : iterable of PlaylistEntry
    path : path
        ``.m3u8`` (or ``.m3u``, written as UTF-8 M3U8), ``.xspf`` or ``.json``.
    local_only : bool
        Leave out tracks without a local file (counted in the report).
    title : str
        The playlist's title.

    Raises
    ------
    ParameterError
        Unknown ending, or the folder does not exist.
    """
    path = Path(path).expanduser()
    fmt = playlist_format(path)
    if not path.parent.is_dir():
        raise ParameterError(f"--out {path}: the folder {path.parent} does not exist")
    base = path.parent.resolve()
    report = PlaylistFileReport(path=str(path), fmt=fmt)
    rows: list[tuple[PlaylistEntry, str, str]] = []  # entry, location, kind
    for e in entries:
        if e.local_path:
            rows.append((e, _location(e.local_path, base), "file"))
            report.local += 1
        elif e.url and not local_only:
            rows.append((e, e.url, "link"))
            report.links += 1
        else:
            report.skipped += 1
            report.skipped_ids.append(e.track_id)
    if fmt == "m3u8":
        text = _m3u8(rows, title)
    elif fmt == "xspf":
        text = _xspf(rows, title)
    else:
        text = json.dumps(
            {
                "title": title,
                "tracks": [
                    {
                        "id": e.track_id,
                        "title": e.title,
                        "artists": list(e.artists),
                        "album": e.album,
                        "duration_s": e.duration_s,
                        "location": loc,
                        "kind": kind,
                    }
                    for e, loc, kind in rows
                ],
            },
            ensure_ascii=False,
            indent=1,
        )
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"--out {path}: cannot write ({exc.strerror or exc})") from exc
    return report


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _m3u8(rows: list[tuple[PlaylistEntry, str, str]], title: str) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for e, loc, kind in rows:
        if kind == "link":
            lines.append(f"# not a local file: {_one_line(e.display)} is a link ({e.track_id})")
        seconds = -1 if e.duration_s is None else int(round(e.duration_s))
        lines.append(f"#EXTINF:{seconds},{_one_line(e.display)}")
        lines.append(loc)
    return "\n".join(lines) + "\n"


def _xspf(rows: list[tuple[PlaylistEntry, str, str]], title: str) -> str:
    ET.register_namespace("", XSPF_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", version="1")
    ET.SubElement(root, f"{{{XSPF_NS}}}title").text = title
    ET.SubElement(root, f"{{{XSPF_NS}}}creator").text = "moodtune"
    tracks = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    for e, loc, kind in rows:
        t = ET.SubElement(tracks, f"{{{XSPF_NS}}}track")
        if kind == "file":
            uri = quote(loc) if not os.path.isabs(loc) else Path(loc).as_uri()
        else:
            uri = loc
            t.append(ET.Comment(f" not a local file: {e.track_id} is a link "))
            ET.SubElement(t, f"{{{XSPF_NS}}}annotation").text = "not a local file: link"
        ET.SubElement(t, f"{{{XSPF_NS}}}location").text = uri
        ET.SubElement(t, f"{{{XSPF_NS}}}identifier").text = f"moodtune:{e.track_id}"
        ET.SubElement(t, f"{{{XSPF_NS}}}title").text = e.title
        if e.artists:
            ET.SubElement(t, f"{{{XSPF_NS}}}creator").text = ", ".join(e.artists)
        if e.album:
            ET.SubElement(t, f"{{{XSPF_NS}}}album").text = e.album
        if e.duration_s is not None:
            ET.SubElement(t, f"{{{XSPF_NS}}}duration").text = str(int(round(e.duration_s * 1000)))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def read_playlist(path: Path | str) -> list[dict[str, Any]]:
    """Parse a playlist file moodtune (or another program) wrote.

    Returns
    -------
    list of dict
        ``{"location", "title", "duration_s", "path"}`` per track; ``path`` is the local
        file resolved against the playlist's folder (None for links).
    """
    path = Path(path)
    fmt = playlist_format(path)
    base = path.parent.resolve()
    text = path.read_text(encoding="utf-8")
    out: list[dict[str, Any]] = []

    def resolve(loc: str) -> str | None:
        scheme = urlsplit(loc).scheme
        if scheme == "file":
            return unquote(urlsplit(loc).path)
        if scheme in ("http", "https", "spotify", "subsonic"):
            return None
        return str((base / loc).resolve())

    if fmt == "m3u8":
        info: tuple[float | None, str] | None = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("#EXTINF:"):
                secs, _, name = line[len("#EXTINF:") :].partition(",")
                dur = float(secs) if secs.strip().lstrip("-").isdigit() else None
                info = (None if dur is None or dur < 0 else dur, name)
            elif line and not line.startswith("#"):
                dur, name = info or (None, "")
                out.append(
                    {"location": line, "title": name, "duration_s": dur, "path": resolve(line)}
                )
                info = None
    elif fmt == "xspf":
        ns = {"x": XSPF_NS}
        root = ET.fromstring(text)
        for t in root.iterfind("x:trackList/x:track", ns):
            loc = t.findtext("x:location", default="", namespaces=ns)
            ms = t.findtext("x:duration", namespaces=ns)
            is_uri = urlsplit(loc).scheme != ""
            out.append(
                {
                    "location": loc,
                    "title": t.findtext("x:title", default="", namespaces=ns),
                    "creator": t.findtext("x:creator", namespaces=ns),
                    "duration_s": None if ms is None else int(ms) / 1000.0,
                    "path": resolve(loc if is_uri else unquote(loc)),
                }
            )
    else:
        for t in json.loads(text)["tracks"]:
            loc = t["location"]
            out.append(
                {
                    "location": loc,
                    "title": t.get("title", ""),
                    "duration_s": t.get("duration_s"),
                    "path": resolve(loc) if t.get("kind") == "file" else None,
                }
            )
    return out
