"""Write moodtune's analysis into the music files' own tags (mutagen), for taggers and servers.

Fields (the names beets and Picard use where they exist, ``MOODTUNE_*`` for the rest),
as MP3 (ID3v2.4) / FLAC and Ogg (Vorbis comment) / M4A (iTunes atoms) name them:

- tempo, whole BPM: ``TBPM`` / ``BPM`` / ``tmpo``
- initial key (``Am``, ``F#``): ``TKEY`` / ``INITIALKEY`` / ``----:com.apple.iTunes:initialkey``
- mood word (``sad``, ``happy``, ...): ``TMOO`` / ``MOOD`` / ``----:com.apple.iTunes:MOOD``
- arousal and valence, static means of the curve, -1..1: ``TXXX:MOODTUNE_AROUSAL`` /
  ``MOODTUNE_AROUSAL`` / ``----:com.apple.iTunes:MOODTUNE_AROUSAL`` (and ``_VALENCE``)
- energy and danceability, 0..1: ``TXXX:MOODTUNE_ENERGY`` / ``MOODTUNE_ENERGY`` /
  ``----:com.apple.iTunes:MOODTUNE_ENERGY`` (and ``_DANCEABILITY``)

Only tag frames are rewritten; mutagen keeps the audio frames/packets as they are (the
tests decode a file before and after and compare every sample). After writing, the file's
new size, mtime and content hash are recorded for its catalog track, so the next scan sees
it as unchanged instead of analysing it again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import ParameterError

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog

log = logging.getLogger(__name__)

#: Pitch-class names for ``INITIALKEY`` (sharps, as Picard/Mixxx/beets write them).
KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: The fields moodtune writes, in order (the Vorbis comment names).
FIELDS: tuple[str, ...] = (
    "BPM",
    "INITIALKEY",
    "MOOD",
    "MOODTUNE_AROUSAL",
    "MOODTUNE_VALENCE",
    "MOODTUNE_ENERGY",
    "MOODTUNE_DANCEABILITY",
)
#: Containers tags can be written to, by file ending.
TAGGABLE = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4"})
_ID3_NATIVE = {"BPM": "TBPM", "INITIALKEY": "TKEY", "MOOD": "TMOO"}
_MP4_FREEFORM = "----:com.apple.iTunes:"
_MP4_NAMES = {"INITIALKEY": "initialkey"}


def key_name(key: int | None, mode: int | None) -> str | None:
    """``INITIALKEY`` text for a pitch class and mode: ``(9, 0) -> "Am"``, ``(0, 1) -> "C"``."""
    if key is None or not 0 <= int(key) <= 11:
        return None
    return KEY_NAMES[int(key)] + ("m" if mode is not None and int(mode) == 0 else "")


def mood_tags(row: Mapping[str, Any], curve: tuple[Any, Any, float] | None) -> dict[str, str]:
    """The tag values for one catalog track.

    Parameters
    ----------
    row : mapping
        A catalog track (:meth:`Catalog.get_track`): ``tempo``, ``key``, ``mode``,
        ``valence``, ``energy``, ``danceability``.
    curve : (arousal, valence, hop_s) or None
        Its stored per-second curve; the static means give ``MOODTUNE_AROUSAL`` and
        ``MOODTUNE_VALENCE`` (-1..1). Without a curve, valence and energy (0..1) are mapped
        onto -1..1 instead.

    Returns
    -------
    dict
        Field name (:data:`FIELDS`) -> text; fields without a value are left out.
    """
    from moodtune.recommend.reasons import mood_word

    out: dict[str, str] = {}
    tempo = row.get("tempo")
    if tempo is not None and np.isfinite(tempo) and tempo > 0:
        out["BPM"] = str(int(round(float(tempo))))
    if (name := key_name(row.get("key"), row.get("mode"))) is not None:
        out["INITIALKEY"] = name
    if curve is not None and len(curve[0]) and len(curve[1]):
        arousal, valence = float(np.mean(curve[0])), float(np.mean(curve[1]))
    elif row.get("valence") is not None and row.get("energy") is not None:
        arousal, valence = 2 * float(row["energy"]) - 1, 2 * float(row["valence"]) - 1
    else:
        arousal = valence = float("nan")
    if np.isfinite(arousal) and np.isfinite(valence):
        out["MOOD"] = mood_word(valence, arousal)
        out["MOODTUNE_AROUSAL"] = f"{arousal:.3f}"
        out["MOODTUNE_VALENCE"] = f"{valence:.3f}"
    for col in ("energy", "danceability"):
        value = row.get(col)
        if value is not None and np.isfinite(value):
            out[f"MOODTUNE_{col.upper()}"] = f"{float(value):.3f}"
    return out


def _open(path: Path) -> Any:
    import mutagen

    try:
        f = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types on odd files
        raise ParameterError(f"{path}: tags cannot be read ({exc})") from exc
    if f is None:
        raise ParameterError(f"{path}: not a format mutagen can tag")
    return f


def _kind(f: Any) -> str:
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4

    if isinstance(f, MP4):
        return "mp4"
    if isinstance(f.tags, ID3) or type(f).__name__ in ("MP3", "EasyMP3"):
        return "id3"
    return "vorbis"


def read_mood_tags(path: Path | str) -> dict[str, str]:
    """The moodtune fields (:data:`FIELDS`) present in a file's tags, by Vorbis name."""
    f = _open(Path(path))
    tags = f.tags
    if tags is None:
        return {}
    kind = _kind(f)
    out: dict[str, str] = {}
    for name in FIELDS:
        if kind == "id3":
            frame = tags.get(_ID3_NATIVE.get(name, f"TXXX:{name}"))
            if frame is not None and frame.text:
                out[name] = str(frame.text[0])
        elif kind == "mp4":
            if name == "BPM":
                if tags.get("tmpo"):
                    out[name] = str(int(tags["tmpo"][0]))
                continue
            value = tags.get(_MP4_FREEFORM + _MP4_NAMES.get(name, name))
            if value:
                out[name] = bytes(value[0]).decode("utf-8")
        else:
            value = tags.get(name)
            if value:
                out[name] = str(value[0])
    return out


def write_mood_tags(path: Path | str, values: Mapping[str, str]) -> None:
    """Write ``values`` (:data:`FIELDS` names -> text) into the file's tags; audio untouched.

    Raises
    ------
    ParameterError
        Not a container moodtune can tag, or mutagen cannot read it.
    """
    path = Path(path)
    if path.suffix.lower() not in TAGGABLE:
        raise ParameterError(
            f"{path}: moodtune writes tags to {', '.join(sorted(TAGGABLE))} files only"
        )
    f = _open(path)
    if f.tags is None:
        f.add_tags()
    kind = _kind(f)
    tags = f.tags
    if kind == "id3":
        from mutagen.id3 import TBPM, TKEY, TMOO, TXXX

        native = {"BPM": TBPM, "INITIALKEY": TKEY, "MOOD": TMOO}
        for name, text in values.items():
            if name in native:
                tags.setall(_ID3_NATIVE[name], [native[name](encoding=3, text=[text])])
            else:
                tags.setall(f"TXXX:{name}", [TXXX(encoding=3, desc=name, text=[text])])
    elif kind == "mp4":
        from mutagen.mp4 import MP4FreeForm

        for name, text in values.items():
            if name == "BPM":
                tags["tmpo"] = [int(text)]
            else:
                key = _MP4_FREEFORM + _MP4_NAMES.get(name, name)
                tags[key] = [MP4FreeForm(text.encode("utf-8"))]
    else:
        for name, text in values.items():
            tags[name] = [text]
    try:
        f.save()
    except Exception as exc:  # mutagen's errors vary by format
        raise ParameterError(f"{path}: tags could not be written ({exc})") from exc


@dataclass
class TagReport:
    """What ``scan --write-tags`` did (or, with ``dry_run``, would do).

    Attributes
    ----------
    written : int
        Files whose tags were (or would be) changed.
    unchanged : int
        Files whose tags already held these values.
    skipped : list of (path, reason)
        Files not tagged (a container moodtune does not tag, or unreadable tags).
    changes : dict
        Path -> {field: (old or None, new)} for each file that changes.
    dry_run : bool
    """

    written: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    changes: dict[str, dict[str, tuple[str | None, str]]] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dry_run": self.dry_run,
            "written": self.written,
            "unchanged": self.unchanged,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "changes": {
                p: {k: {"old": o, "new": n} for k, (o, n) in c.items()}
                for p, c in self.changes.items()
            },
        }


def tag_library(catalog: Catalog, directory: Path | str, *, dry_run: bool = False) -> TagReport:
    """Write each scanned file's analysis under ``directory`` into its tags.

    Only files the catalog knows (scanned before) are touched. After a file is written,
    its new size, mtime and content hash replace the old ones in the catalog's record of
    that path (same track), so the next scan treats it as unchanged.

    Parameters
    ----------
    catalog : Catalog
    directory : path
        The scanned folder.
    dry_run : bool
        Only report what would change.
    """
    from moodtune.catalog.scan import file_sha256, load_curve

    root = Path(directory).expanduser().resolve()
    prefix = str(root) + os.sep
    files = sorted((path, track_id) for path, _, _, _, track_id in catalog.scanned_files())
    report = TagReport(dry_run=dry_run)
    for path, track_id in files:
        if not str(path).startswith(prefix):
            continue
        p = Path(path)
        if p.suffix.lower() not in TAGGABLE:
            report.skipped.append((path, f"moodtune does not tag {p.suffix or 'these'} files"))
            continue
        row = catalog.get_track(track_id)
        if row is None or not p.is_file():
            continue
        wanted = mood_tags(row, load_curve(catalog, track_id))
        try:
            present = read_mood_tags(p)
        except ParameterError as exc:
            report.skipped.append((path, str(exc)))
            continue
        diff = {k: (present.get(k), v) for k, v in wanted.items() if present.get(k) != v}
        if not diff:
            report.unchanged += 1
            continue
        report.changes[path] = diff
        report.written += 1
        if dry_run:
            continue
        try:
            write_mood_tags(p, {k: v for k, (_, v) in diff.items()})
        except ParameterError as exc:
            report.written -= 1
            del report.changes[path]
            report.skipped.append((path, str(exc)))
            continue
        st = p.stat()
        sha = file_sha256(p)
        catalog.update_file_state(path, size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=sha)
        log.info("%s: wrote %s", path, ", ".join(sorted(diff)))
    return report
