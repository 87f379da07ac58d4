"""Queue a playlist on an MPD server (or Mopidy's MPD frontend) with ``python-mpd2``.

MPD plays songs by their URI relative to its music folder, which moodtune does not know.
Each local file is found in MPD's own database: the song URI that the file's absolute
path ends with (one ``listall`` per call). When the music folder is given
(``MOODTUNE_MPD_MUSIC_DIR`` or ``music_dir=``), the path relative to it is used directly.
A file MPD's database does not hold is tried once more as a ``file://`` URI, which MPD
accepts from local-socket clients only. Mopidy's MPD frontend does not list its library
(``listall``); it takes ``file://`` URIs of files under Mopidy-File's ``media_dirs``.

Tracks without a local file cannot be played by MPD; they are counted, not queued.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from moodtune.config import DEFAULT_MPD_HOST, DEFAULT_MPD_PORT, settings
from moodtune.errors import MoodtuneError, ParameterError, missing_extra
from moodtune.integrations.playlists import PlaylistEntry

log = logging.getLogger(__name__)

DEFAULT_HOST = DEFAULT_MPD_HOST
DEFAULT_PORT = DEFAULT_MPD_PORT


class MpdError(MoodtuneError):
    """The MPD server is unreachable or refused a command."""


def parse_target(target: str) -> tuple[str, int]:
    """``mpd``, ``mpd://host``, ``mpd://host:port`` -> ``(host, port)``.

    Without a host, ``MPD_HOST``/``MPD_PORT`` (as MPD's own clients read them) or
    ``localhost:6600``.

    Raises
    ------
    ParameterError
        Not an ``mpd`` target, or a bad port.
    """
    if target == "mpd":
        mpd = settings().mpd  # MPD_HOST=password@host: the password is read by _connect
        if mpd.error:
            raise ParameterError(mpd.error)
        return mpd.host, mpd.port
    parts = urlsplit(target)
    if parts.scheme != "mpd" or parts.path not in ("", "/"):
        raise ParameterError(f"--to {target!r} is not an MPD address; use mpd or mpd://host:port")
    host = parts.hostname or DEFAULT_HOST
    try:
        port_text = str(parts.port or DEFAULT_PORT)
    except ValueError as exc:
        raise ParameterError(f"--to {target!r}: the port must be a number") from exc
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ParameterError(f"MPD port {port_text!r} must be a number from 1 to 65535")
    return host, int(port_text)


@dataclass
class MpdReport:
    """What was queued.

    Attributes
    ----------
    host, port
    queued : list of str
        The URIs added, in order.
    replaced : bool
        The queue was cleared first.
    not_found : list of str
        Local files MPD does not know (outside its music folder, or not yet in its database).
    no_file : int
        Tracks without a local file (MPD cannot play them).
    playing : bool
        Playback was started.
    """

    host: str
    port: int
    queued: list[str] = field(default_factory=list)
    replaced: bool = False
    not_found: list[str] = field(default_factory=list)
    no_file: int = 0
    playing: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "host": self.host,
            "port": self.port,
            "queued": self.queued,
            "replaced": self.replaced,
            "not_found": self.not_found,
            "no_file": self.no_file,
            "playing": self.playing,
        }


def _connect(host: str, port: int, timeout: float) -> Any:
    try:
        from mpd import MPDClient
    except ImportError as exc:
        raise missing_extra("python-mpd2", "mpd") from exc
    client = MPDClient()
    client.timeout = timeout
    try:
        client.connect(host, port)
    except (OSError, ConnectionError) as exc:
        raise MpdError(
            f"cannot reach MPD at {host}:{port} ({exc}); is mpd running? (--to mpd://host:port)"
        ) from exc
    password = settings().mpd.password
    if password:
        try:
            client.password(password)
        except Exception as exc:  # mpd.CommandError; never echo the password
            client.disconnect()
            raise MpdError(f"MPD at {host}:{port} refused the password") from exc
    return client


def _song_uris(client: Any) -> dict[str, list[str]]:
    """MPD's song URIs by file name ({} from a server that does not list its database)."""
    from mpd import CommandError

    by_name: dict[str, list[str]] = {}
    try:
        items = client.listall()
    except (CommandError, ValueError) as exc:  # Mopidy refuses listall (python-mpd2 may
        # fail to parse its error code): files then go as file:// URIs
        log.info("the MPD server does not list its database (%s); adding file:// URIs", exc)
        return by_name
    for item in items:
        uri = item.get("file") if isinstance(item, dict) else None
        if uri:
            by_name.setdefault(uri.rsplit("/", 1)[-1], []).append(uri)
    return by_name


def _find_uri(path: str, by_name: dict[str, list[str]], music_dir: Path | None) -> str | None:
    if music_dir is not None:
        try:
            return Path(path).resolve().relative_to(music_dir.resolve()).as_posix()
        except ValueError:
            pass
    posix = Path(path).resolve().as_posix()
    matches = [u for u in by_name.get(Path(path).name, []) if posix.endswith("/" + u)]
    return max(matches, key=len) if matches else None


def queue_playlist(
    entries: Iterable[PlaylistEntry],
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    replace: bool = False,
    play: bool = False,
    music_dir: Path | str | None = None,
    timeout: float = 10.0,
) -> MpdReport:
    """Add the playlist's local files to MPD's queue (after clearing it with ``replace``).

    Parameters
    ----------
    entries : iterable of PlaylistEntry
    host, port : str, int
        The MPD server (the password, if any: ``MOODTUNE_MPD_PASSWORD`` or
        ``MPD_HOST=password@host``).
    replace : bool
        Replace the queue with the playlist and play it (the old queue is removed only once
        the new tracks are in).
    play : bool
        Start playback after queueing (always with ``replace``).
    music_dir : path, optional
        MPD's ``music_directory`` as this machine sees it (default
        ``MOODTUNE_MPD_MUSIC_DIR``); without it files are found in MPD's database.
    timeout : float
        Seconds per MPD command.

    Raises
    ------
    MpdError
        MPD unreachable, or nothing of the playlist could be queued.
    """
    items = list(entries)
    music = music_dir or settings().mpd.music_dir or None
    music_path = Path(music).expanduser() if music else None
    report = MpdReport(host=host, port=port, replaced=replace)
    client = _connect(host, port, timeout)  # names the extra when python-mpd2 is missing
    from mpd import CommandError

    try:
        by_name = _song_uris(client) if music_path is None else {}
        uris: list[str] = []
        for e in items:
            if not e.local_path:
                report.no_file += 1
                continue
            uri = _find_uri(e.local_path, by_name, music_path)
            uris.append(uri if uri is not None else Path(e.local_path).resolve().as_uri())
        # with replace, the old queue goes only once the new tracks are in (a playlist that
        # cannot be queued leaves the listener's queue as it was)
        old_length = int(client.status().get("playlistlength", 0)) if replace else 0
        for uri, e in zip(uris, [e for e in items if e.local_path], strict=True):
            try:
                client.add(uri)
            except CommandError as exc:
                log.info("MPD did not take %s: %s", uri, exc)
                report.not_found.append(str(e.local_path))
                continue
            report.queued.append(uri)
        if replace and report.queued and old_length:
            client.delete((0, old_length))
        if report.queued and (replace or play):
            client.play(0 if replace else max(0, len(client.playlistinfo()) - len(report.queued)))
            report.playing = True
    except CommandError as exc:
        raise MpdError(f"MPD at {host}:{port} refused a command: {exc}") from exc
    finally:
        try:
            client.close()
            client.disconnect()
        except Exception:  # already gone
            pass
    if not report.queued and items:
        raise MpdError(
            f"nothing was queued on MPD at {host}:{port}: {report.no_file} tracks have no "
            f"local file and {len(report.not_found)} files are not in MPD's music folder "
            "(scan a folder inside MPD's music_directory, or set MOODTUNE_MPD_MUSIC_DIR)"
        )
    return report


def queue_uris(host: str, port: int) -> list[str]:
    """The URIs in MPD's queue, in order (for checks and the CLI)."""
    client = _connect(host, port, 10.0)
    try:
        return [str(s["file"]) for s in client.playlistinfo()]
    finally:
        client.disconnect()
