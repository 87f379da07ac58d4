"""Subsonic servers (Navidrome, gonic, Airsonic, Jellyfin's plugin, supysonic): read, analyse, push.

Configuration comes from the environment, never from a command line (where ``ps`` and
shell histories would show it):

``MOODTUNE_SUBSONIC_URL``
    The server, e.g. ``https://music.example.org`` (``/rest/...`` is added).
``MOODTUNE_SUBSONIC_USER``
    The user name.
``MOODTUNE_SUBSONIC_PASSWORD`` or ``MOODTUNE_SUBSONIC_PASSWORD_FILE``
    The password, or a file holding it (a Docker/systemd secret; the first line counts).
``MOODTUNE_SUBSONIC_TOKEN`` and ``MOODTUNE_SUBSONIC_SALT``
    Instead of the password: ``md5(password + salt)`` and its salt, so the password itself
    is never stored.

With a password, requests use a fresh salted token each time (Subsonic API 1.13); servers
that cannot check tokens (supysonic, LDAP users) answer with an error, and moodtune then
sends the password hex-encoded (``p=enc:…``) as the older API does; use HTTPS for such a
server. Credentials never appear in logs, errors or ``repr``: request URLs are logged
without their query string.

The client is a few calls over the standard library's HTTP client: the Subsonic REST API
is plain GET requests with JSON replies, and the PyPI client (``py-sonic``) cannot
authenticate with a stored token and salt instead of the password.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodtune.config import SubsonicSettings, settings
from moodtune.errors import MoodtuneError, ParameterError

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.integrations.playlists import PlaylistEntry

log = logging.getLogger(__name__)

API_VERSION = "1.16.1"
CLIENT_NAME = "moodtune"
#: Error codes of servers that do not take token authentication (Subsonic 41,
#: OpenSubsonic 42; supysonic answers 10, "missing parameter p").
TOKEN_REFUSED = frozenset({10, 41, 42})


class SubsonicError(MoodtuneError):
    """The Subsonic server is unreachable, refused the credentials or a request."""


@dataclass(frozen=True)
class SubsonicConfig:
    """Where the server is and how to log in (see the module docstring).

    ``password``, ``token`` and ``salt`` are kept out of ``repr``.
    """

    url: str
    user: str
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    salt: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SubsonicConfig:
        """Read ``MOODTUNE_SUBSONIC_*`` (:func:`moodtune.config.settings`, or ``environ``).

        Raises
        ------
        ParameterError
            A variable is missing, or the URL is not http(s).
        """
        s = settings().subsonic if environ is None else SubsonicSettings.from_env(environ)
        url, user = s.url or "", s.user or ""
        if not url or not user:
            raise ParameterError(
                "no Subsonic server configured: set MOODTUNE_SUBSONIC_URL and "
                "MOODTUNE_SUBSONIC_USER, and MOODTUNE_SUBSONIC_PASSWORD (or _PASSWORD_FILE, "
                "or _TOKEN and _SALT)"
            )
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ParameterError(
                f"MOODTUNE_SUBSONIC_URL={url!r} must start with http:// or https://"
            )
        password = s.password
        pw_file = s.password_file
        if password is None and pw_file:
            try:
                secret = pw_file
                if secret.stat().st_mode & 0o077:
                    log.warning("%s can be read by other users; chmod 600 it", secret)
                lines = secret.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ParameterError(
                    f"MOODTUNE_SUBSONIC_PASSWORD_FILE={pw_file}: cannot read it "
                    f"({exc.strerror or exc})"
                ) from exc
            password = lines[0] if lines else None
        token, salt = s.token, s.salt
        if password is None and (token is None or salt is None):
            raise ParameterError(
                "the Subsonic server needs a password: set MOODTUNE_SUBSONIC_PASSWORD "
                "(or _PASSWORD_FILE), or MOODTUNE_SUBSONIC_TOKEN and MOODTUNE_SUBSONIC_SALT"
            )
        return cls(url=url, user=user, password=password, token=token, salt=salt)

    @property
    def server_key(self) -> str:
        """A short stable name of this server and user (part of catalog ids)."""
        return hashlib.sha256(f"{self.url}\n{self.user}".encode()).hexdigest()[:8]


class SubsonicClient:
    """The few Subsonic REST calls moodtune needs.

    Parameters
    ----------
    config : SubsonicConfig
    timeout : float
        Seconds per request.
    """

    def __init__(self, config: SubsonicConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout
        self._legacy = False  # set by ping() when the server refuses tokens

    def __repr__(self) -> str:
        return f"SubsonicClient(url={self.config.url!r}, user={self.config.user!r})"

    # -- requests --------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        cfg = self.config
        params = {"u": cfg.user, "v": API_VERSION, "c": CLIENT_NAME}
        if cfg.token and cfg.salt:
            return params | {"t": cfg.token, "s": cfg.salt}
        assert cfg.password is not None
        if self._legacy:
            return params | {"p": "enc:" + cfg.password.encode("utf-8").hex()}
        salt = secrets.token_hex(8)
        token = hashlib.md5((cfg.password + salt).encode("utf-8")).hexdigest()  # noqa: S324
        return params | {"t": token, "s": salt}

    def _url(self, endpoint: str, params: dict[str, Any] | None = None) -> str:
        query = self._auth() | (params or {})
        return f"{self.config.url}/rest/{endpoint}?{urllib.parse.urlencode(query, doseq=True)}"

    def _open(self, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return urllib.request.urlopen(self._url(endpoint, params), timeout=self.timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raise SubsonicError(
                f"Subsonic server {self.config.url} answered HTTP {exc.code} to {endpoint}"
            ) from None
        except ValueError:  # a malformed URL; its text would carry the credentials
            raise SubsonicError(
                f"MOODTUNE_SUBSONIC_URL={self.config.url!r} is not a valid server address"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SubsonicError(
                f"cannot reach the Subsonic server {self.config.url} ({reason}); "
                "check MOODTUNE_SUBSONIC_URL"
            ) from None

    def call(self, endpoint: str, **params: Any) -> dict[str, Any]:
        """One JSON API call; returns the ``subsonic-response`` object.

        A server that does not take token authentication is asked again with the password
        (and from then on).

        Raises
        ------
        SubsonicError
            Unreachable, not a Subsonic reply, or ``status: failed`` (code and message kept).
        """
        try:
            return self._call(endpoint, params)
        except SubsonicError as exc:
            code = getattr(exc, "code", None)
            if self._legacy or self.config.password is None or code not in TOKEN_REFUSED:
                raise
            log.info("the Subsonic server does not take tokens; sending the password instead")
            self._legacy = True
            return self._call(endpoint, params)

    def _call(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        log.debug("subsonic %s/rest/%s", self.config.url, endpoint)
        with self._open(endpoint, params | {"f": "json"}) as resp:
            body = resp.read()
        try:
            data = json.loads(body)["subsonic-response"]
        except (ValueError, KeyError, TypeError):
            raise SubsonicError(
                f"{self.config.url} did not answer {endpoint} as a Subsonic server does"
            ) from None
        if data.get("status") != "ok":
            err = data.get("error") or {}
            exc = SubsonicError(
                f"Subsonic server {self.config.url}: {endpoint} failed: "
                f"{err.get('message', 'unknown error')} (code {err.get('code')})"
            )
            exc.code = err.get("code")  # type: ignore[attr-defined]
            raise exc
        return dict(data)

    def ping(self) -> dict[str, Any]:
        """Check the server and the credentials."""
        return self.call("ping")

    # -- library -----------------------------------------------------------------
    def artists(self) -> list[dict[str, Any]]:
        """Every artist (ID3 view): ``{"id", "name", "albumCount"}``."""
        idx = self.call("getArtists").get("artists", {}).get("index", [])
        return [a for group in idx for a in group.get("artist", [])]

    def albums_of(self, artist_id: str) -> list[dict[str, Any]]:
        """The albums of one artist."""
        return list(self.call("getArtist", id=artist_id).get("artist", {}).get("album", []))

    def songs_of(self, album_id: str) -> list[dict[str, Any]]:
        """The songs of one album."""
        return list(self.call("getAlbum", id=album_id).get("album", {}).get("song", []))

    def songs(self) -> Iterator[dict[str, Any]]:
        """Every song of the library (artists, then their albums, then the songs)."""
        seen: set[str] = set()
        for artist in self.artists():
            for album in self.albums_of(str(artist["id"])):
                if str(album["id"]) in seen:
                    continue
                seen.add(str(album["id"]))
                yield from self.songs_of(str(album["id"]))

    def stream_url(self, song_id: str) -> str:
        """A URL any player can stream the song from. It carries credentials: keep it private."""
        return self._url("stream", {"id": song_id})

    def download(self, song_id: str, dest: Path) -> int:
        """Save the song's original file to ``dest``; returns the bytes written."""
        with self._open("download", {"id": song_id}) as resp, open(dest, "wb") as fh:
            ctype = resp.headers.get("Content-Type", "")
            if "json" in ctype or "xml" in ctype:  # an error reply instead of audio
                raise SubsonicError(
                    f"Subsonic server {self.config.url} refused to send song {song_id}"
                )
            shutil.copyfileobj(resp, fh, 1 << 20)
        return dest.stat().st_size

    def search_song(self, title: str, artists: Iterable[str] = ()) -> str | None:
        """The id of the server's song with this title (and one of these artists), or None."""
        want = title.casefold().strip()
        names = {a.casefold().strip() for a in artists}
        found = self.call("search3", query=title, songCount=20, artistCount=0, albumCount=0)
        for song in found.get("searchResult3", {}).get("song", []):
            if str(song.get("title", "")).casefold().strip() != want:
                continue
            if not names or str(song.get("artist", "")).casefold().strip() in names:
                return str(song["id"])
        return None

    def create_playlist(self, name: str, song_ids: list[str]) -> str | None:
        """Create a playlist on the server; returns its id (when the server says it)."""
        data = self.call("createPlaylist", name=name, songId=song_ids)
        pl = data.get("playlist")
        if pl and pl.get("id") is not None:
            return str(pl["id"])
        for pl in self.call("getPlaylists").get("playlists", {}).get("playlist", []):
            if pl.get("name") == name:
                return str(pl["id"])
        return None

    def playlist_songs(self, playlist_id: str) -> list[dict[str, Any]]:
        """The songs of a playlist, in order."""
        return list(self.call("getPlaylist", id=playlist_id).get("playlist", {}).get("entry", []))


def track_id_for(config: SubsonicConfig, song_id: str) -> str:
    """The catalog id of a server's song: ``subsonic:<server key>:<song id>``."""
    return f"subsonic:{config.server_key}:{song_id}"


def song_id_of(config: SubsonicConfig, track_id: str) -> str | None:
    """The server's song id in a catalog id of this server, else None."""
    prefix = f"subsonic:{config.server_key}:"
    return track_id[len(prefix) :] if track_id.startswith(prefix) else None


@dataclass
class SubsonicScanReport:
    """What reading a Subsonic library did.

    Attributes
    ----------
    server : str
        The server URL.
    artists, albums, songs : int
        What the library holds.
    analysed, unchanged, reused : int
        Songs analysed now, known and unchanged, recognised by content (no analysis).
    removed : int
        Songs gone from the server since the last scan (their tracks leave the catalog).
    failed : list of (song id, reason)
    seconds : float
    """

    server: str
    artists: int = 0
    albums: int = 0
    songs: int = 0
    analysed: int = 0
    unchanged: int = 0
    reused: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "server": self.server,
            "artists": self.artists,
            "albums": self.albums,
            "songs": self.songs,
            "analysed": self.analysed,
            "unchanged": self.unchanged,
            "reused": self.reused,
            "removed": self.removed,
            "failed": [{"song_id": s, "error": e} for s, e in self.failed],
            "seconds": round(self.seconds, 2),
        }


def _song_row(song: dict[str, Any], track_id: str) -> dict[str, Any]:
    """Catalog columns from the server's song metadata."""
    row: dict[str, Any] = {"id": track_id, "name": str(song.get("title") or song["id"])}
    if song.get("artist"):
        row["artists"] = [str(song["artist"])]
    if song.get("album"):
        row["album"] = str(song["album"])
    if song.get("genre"):
        row["genre"] = str(song["genre"])
    year = song.get("year")
    if isinstance(year, int) and 1000 <= year <= 2100:
        row["year"] = year
    return row


def scan_subsonic(
    catalog: Catalog,
    client: SubsonicClient,
    *,
    lyrics: bool = False,
    workers: int = 1,
    progress: Callable[[int, int, str], None] | None = None,
) -> SubsonicScanReport:
    """Analyse a Subsonic server's songs into the catalog, incrementally.

    Each new or changed song (by the server's song id, size and ``created`` stamp) is
    downloaded to a temporary file, analysed as ``moodtune scan`` analyses a local file,
    and the file is deleted: the catalog keeps the analysis, the server's metadata and the
    song id (track id ``subsonic:<server>:<song id>``), never a copy of the audio. A song
    whose content moodtune has analysed before (a local file, another server) reuses that
    analysis. Songs gone from the server leave the catalog.

    Raises
    ------
    SubsonicError
        The server is unreachable or refuses the credentials.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers={workers!r} must be a positive integer")
    t0 = time.perf_counter()
    cfg = client.config
    report = SubsonicScanReport(server=cfg.url)
    client.ping()
    artists = client.artists()
    report.artists = len(artists)
    songs: list[dict[str, Any]] = []
    seen_albums: set[str] = set()
    for artist in artists:
        for album in client.albums_of(str(artist["id"])):
            if str(album["id"]) in seen_albums:
                continue
            seen_albums.add(str(album["id"]))
            songs.extend(client.songs_of(str(album["id"])))
    report.albums = len(seen_albums)
    report.songs = len(songs)
    server = cfg.server_key
    known = catalog.subsonic_songs(server)
    by_sha = catalog.analysed_hashes()
    present = {str(s["id"]) for s in songs}
    gone = [sid for sid in known if sid not in present]
    if gone:
        report.removed = catalog.forget_subsonic_songs(server, {s: known[s][2] for s in gone})
    todo = []
    for song in songs:
        sid = str(song["id"])
        old = known.get(sid)
        size = song.get("size")
        created = None if song.get("created") is None else str(song["created"])
        if old is not None and old[0] == size and old[1] == created:
            report.unchanged += 1
            continue
        todo.append((song, sid, size, created))
    done = 0
    with tempfile.TemporaryDirectory(prefix="moodtune-subsonic-") as tmp:
        for item in _download_and_analyse(client, todo, Path(tmp), by_sha, lyrics, workers):
            song, sid, size, created, sha, res, error = item
            track_id = track_id_for(cfg, sid)
            done += 1
            if error is not None:
                report.failed.append((sid, error))
            elif res is None:  # content analysed before (a local copy, another server)
                assert sha is not None
                if by_sha[sha] != track_id:
                    _copy_analysis(catalog, by_sha[sha], song, track_id)
                    report.reused += 1
                else:
                    report.unchanged += 1
                _record_song(
                    catalog, server, sid, size=size, created=created, sha=sha, track_id=track_id
                )
            else:
                assert sha is not None
                _write_song(catalog, res, song, track_id)
                _record_song(
                    catalog, server, sid, size=size, created=created, sha=sha, track_id=track_id
                )
                by_sha[sha] = track_id
                report.analysed += 1
            if progress is not None:
                progress(done, len(todo), str(song.get("title") or sid))
    report.seconds = time.perf_counter() - t0
    return report


_Todo = tuple[dict[str, Any], str, Any, "str | None"]
#: (song, song id, size, created, sha256, analysis result or None, error or None)
_Done = tuple[dict[str, Any], str, Any, "str | None", "str | None", "dict[str, Any] | None",
              "str | None"]  # fmt: skip


def _download_and_analyse(
    client: SubsonicClient,
    todo: list[_Todo],
    tmp: Path,
    by_sha: dict[str, str],
    lyrics: bool,
    workers: int,
) -> Iterator[_Done]:
    """Download each song to ``tmp`` and analyse it, ``workers`` at a time; delete it after.

    At most ``2 * workers`` downloaded files wait at once, so the library is never copied.
    Songs whose content is in ``by_sha`` are not analysed (result None, no error).
    """
    from moodtune.catalog.scan import analyze_job, file_sha256

    pool = None
    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from moodtune.catalog.scan import worker_init

        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("spawn"), initializer=worker_init
        )
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    running: dict[Future[dict[str, Any]], tuple[_Todo, str, Path]] = {}
    queue = iter(enumerate(todo))
    try:
        while True:
            while len(running) < 2 * max(workers, 1) or pool is None:
                nxt = next(queue, None)
                if nxt is None:
                    break
                i, (song, sid, size, created) = nxt
                suffix = "." + str(song.get("suffix") or "audio").lstrip(".")
                path = tmp / f"song-{i}{suffix}"
                try:
                    client.download(sid, path)
                    sha = file_sha256(path)
                except (SubsonicError, OSError) as exc:
                    path.unlink(missing_ok=True)
                    yield song, sid, size, created, None, None, str(exc)
                    continue
                if sha in by_sha:
                    path.unlink(missing_ok=True)
                    yield song, sid, size, created, sha, None, None
                    continue
                if pool is None:  # one at a time, in this process
                    res = analyze_job(str(path), sha, lyrics)
                    path.unlink(missing_ok=True)
                    err = None if res["ok"] else str(res["error"])
                    yield song, sid, size, created, sha, res if res["ok"] else None, err
                    continue
                running[pool.submit(analyze_job, str(path), sha, lyrics)] = (
                    (song, sid, size, created),
                    sha,
                    path,
                )
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                (song, sid, size, created), sha, path = running.pop(fut)
                path.unlink(missing_ok=True)
                try:
                    res = fut.result()
                except Exception as exc:  # the worker died (out of memory, a codec crash)
                    res = {"ok": False, "error": f"analysis failed: {type(exc).__name__}"}
                err = None if res["ok"] else str(res["error"])
                yield song, sid, size, created, sha, res if res["ok"] else None, err
    finally:
        if pool is not None:
            pool.shutdown(wait=not running, cancel_futures=True)


def _write_song(catalog: Catalog, res: dict[str, Any], song: dict[str, Any], track_id: str) -> None:
    from moodtune.music.genre import tag_to_genre

    row = dict(res["row"])
    row.update(_song_row(song, track_id))
    row["local_path"] = None
    row["source"] = "subsonic"
    row["url"] = None
    tag = row.pop("genre", None)
    if tag:
        row["subgenre"] = tag
    genres = res["genres"]
    silent = bool(res.get("silent"))  # silence: recorded, no genre, never offered
    row["genre"] = None if silent else tag_to_genre(tag) or max(genres, key=lambda g: genres[g])
    with catalog.transaction():
        catalog.upsert_tracks([row])
        catalog.put_curve(
            track_id, arousal=res["arousal"], valence=res["valence"], hop_s=res["hop_s"]
        )
        catalog.set_silent(track_id, silent)
        if not silent:
            catalog.put_genres([(track_id, genres, res["genre_model"])])
        if res.get("lyrics") is not None:
            catalog.put_lyrics(track_id, res["lyrics"])


def _copy_analysis(catalog: Catalog, source_id: str, song: dict[str, Any], track_id: str) -> None:
    """A song whose audio moodtune analysed before: same analysis, the server's metadata."""
    row = catalog.get_track(source_id)
    if row is None:
        raise SubsonicError(f"track {source_id} vanished from the catalog during the scan")
    row = dict(row)
    genre = row.get("genre")
    row.update(_song_row(song, track_id))
    row.update(local_path=None, source="subsonic", url=None, genre=genre)
    if song.get("genre"):
        row["subgenre"] = str(song["genre"])
    with catalog.transaction():
        catalog.upsert_tracks([row])
        catalog.copy_analysis(source_id, track_id)
        lyrics = catalog.get_lyrics(source_id)
        if lyrics is not None:
            catalog.put_lyrics(track_id, lyrics)


def _record_song(
    catalog: Catalog,
    server: str,
    song_id: str,
    *,
    size: Any,
    created: str | None,
    sha: str,
    track_id: str,
) -> None:
    catalog.record_subsonic_song(
        server,
        song_id,
        size=size if isinstance(size, int) else None,
        created=created,
        sha256=sha,
        track_id=track_id,
    )


@dataclass
class SubsonicPushReport:
    """What pushing a playlist did.

    Attributes
    ----------
    name : str
        The playlist's name on the server.
    playlist_id : str or None
    song_ids : list of str
        The server's songs in it, in order.
    matched : int
        Of them, tracks found on the server by title and artist (not scanned from it).
    missing : list of str
        Catalog ids of tracks the server does not have.
    """

    name: str
    playlist_id: str | None = None
    song_ids: list[str] = field(default_factory=list)
    matched: int = 0
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "playlist_id": self.playlist_id,
            "song_ids": self.song_ids,
            "matched": self.matched,
            "missing": self.missing,
        }


def push_playlist(
    client: SubsonicClient, entries: Iterable[PlaylistEntry], *, name: str
) -> SubsonicPushReport:
    """Create a playlist ``name`` on the server from the entries it has.

    A track scanned from this server is its own song; any other track (a local file, a
    catalog track) is looked up on the server by title and artist (``search3``).

    Raises
    ------
    SubsonicError
        Unreachable server, or none of the tracks is on it.
    """
    if not name.strip():
        raise ParameterError("a Subsonic playlist needs a name")
    client.ping()
    report = SubsonicPushReport(name=name)
    for e in entries:
        sid = song_id_of(client.config, e.track_id)
        if sid is None:
            sid = client.search_song(e.title, e.artists)
            if sid is not None:
                report.matched += 1
        if sid is None:
            report.missing.append(e.track_id)
        elif sid not in report.song_ids:
            report.song_ids.append(sid)
    if not report.song_ids:
        raise SubsonicError(
            f"none of the {len(report.missing)} tracks is on the Subsonic server "
            f"{client.config.url}; run `moodtune subsonic scan` first, or recommend "
            "from tracks the server has"
        )
    report.playlist_id = client.create_playlist(name, report.song_ids)
    return report
