"""Subsonic: a real supysonic server started on 127.0.0.1 over a folder of test files."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from integration_media import write_song
from local_servers import free_port
from moodtune.catalog.repository import Catalog
from moodtune.catalog.scan import scan_library
from moodtune.cli import main
from moodtune.errors import ParameterError
from moodtune.integrations.playlists import PlaylistEntry
from moodtune.integrations.subsonic import (
    SubsonicClient,
    SubsonicConfig,
    SubsonicError,
    push_playlist,
    scan_subsonic,
    track_id_for,
)
from moodtune.service import Moodtune

pytest.importorskip("supysonic", reason="supysonic is in the test extra: pip install -e '.[test]'")
pytest.importorskip("waitress", reason="waitress is in the test extra: pip install -e '.[test]'")

PASSWORD = "pa55-w0rd-never-logged"


class Supysonic:
    """A supysonic instance in its own folder: config, database, music, server process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.music = root / "music"
        self.port = free_port()
        (root / "cache").mkdir(parents=True)
        (root / "supysonic.conf").write_text(
            "[base]\n"
            f"database_uri = sqlite:///{root / 'supysonic.db'}\n"
            "[webapp]\n"
            f"cache_dir = {root / 'cache'}\n"
            "mount_webui = no\n"
            "[daemon]\n"
            f"socket = {root / 'daemon.sock'}\n"
            "run_watcher = no\n"
        )
        self.env = os.environ | {"HOME": str(root)}  # no ~/.supysonic of the user
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        code = (
            "import sys; from supysonic.cli import main; "
            "sys.argv = ['supysonic-cli', *sys.argv[1:]]; main()"
        )
        subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=self.root,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def scan(self) -> None:
        self.cli("folder", "scan", "--foreground", "--force", "music")

    def start(self) -> None:
        code = "from supysonic.server import main; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "-S", "waitress", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        url = f"{self.url}/rest/ping?u=x&p=x&v=1.16.1&c=t&f=json"
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    msg = self.proc.stderr.read() if self.proc.stderr else b""
                    raise RuntimeError(f"supysonic did not start: {msg!r}") from None
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env_vars(self) -> dict[str, str]:
        return {
            "MOODTUNE_SUBSONIC_URL": self.url,
            "MOODTUNE_SUBSONIC_USER": "alice",
            "MOODTUNE_SUBSONIC_PASSWORD": PASSWORD,
        }

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("supysonic")
    sup = Supysonic(root)
    write_song(
        sup.music / "Quiet" / "calm.flac",
        title="Calm",
        artist="Quiet",
        album="Slow",
        bpm=70,
        seed=1,
    )
    write_song(
        sup.music / "Loud" / "drive.mp3",
        title="Drive",
        artist="Loud",
        album="Fast",
        bpm=140,
        seed=2,
    )
    write_song(
        sup.music / "Mid" / "walk.ogg", title="Walk", artist="Mid", album="Middle", bpm=100, seed=3
    )
    sup.cli("folder", "add", "music", str(sup.music))
    sup.cli("user", "add", "alice", "-p", PASSWORD)
    sup.scan()
    sup.start()
    try:
        yield sup
    finally:
        sup.stop()


def _client(server: Supysonic) -> SubsonicClient:
    return SubsonicClient(SubsonicConfig.from_env(server.env_vars()))


def test_library_and_stream_urls(server: Supysonic) -> None:
    client = _client(server)
    assert client.ping()["status"] == "ok"
    artists = {a["name"]: a for a in client.artists()}
    assert set(artists) == {"Quiet", "Loud", "Mid"}
    albums = client.albums_of(str(artists["Loud"]["id"]))
    assert [a["name"] for a in albums] == ["Fast"]
    songs = client.songs_of(str(albums[0]["id"]))
    assert [s["title"] for s in songs] == ["Drive"]
    # the stream URL plays: the server sends the audio
    with urllib.request.urlopen(client.stream_url(str(songs[0]["id"])), timeout=30) as resp:
        assert resp.read(3) in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert sorted(s["title"] for s in client.songs()) == ["Calm", "Drive", "Walk"]


@pytest.mark.slow
def test_scan_incremental_then_push_playlist(server: Supysonic, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = _client(server)
    db = tmp_path / "c.sqlite"
    # a local copy of one song: its analysis is reused for the server's song
    shutil.copy(server.music / "Mid" / "walk.ogg", tmp_path / "walk-copy.ogg")
    (tmp_path / "lib").mkdir()
    shutil.move(tmp_path / "walk-copy.ogg", tmp_path / "lib" / "walk-copy.ogg")
    with Catalog.open(db) as cat:
        assert scan_library(cat, tmp_path / "lib", workers=1, lyrics=False).analysed == 1
        rep = scan_subsonic(cat, client)
        assert (rep.artists, rep.albums, rep.songs) == (3, 3, 3)
        assert (rep.analysed, rep.reused, rep.unchanged, rep.failed) == (2, 1, 0, [])
        ids = {s["title"]: track_id_for(client.config, str(s["id"])) for s in client.songs()}
        drive = cat.get_track(ids["Drive"])
        assert drive is not None
        assert drive["artists"] == ["Loud"] and drive["album"] == "Fast"
        assert drive["source"] == "subsonic" and drive["local_path"] is None
        assert drive["url"] is None and 0 <= drive["energy"] <= 1 and drive["tempo"] > 0
        assert 3.5 < drive["duration_ms"] / 1000 < 4.5
        walk = cat.get_track(ids["Walk"])
        assert walk is not None
        assert walk["artists"] == ["Mid"] and walk["valence"] is not None
        again = scan_subsonic(cat, client)
        assert (again.analysed, again.reused, again.unchanged) == (0, 0, 3)
    # credentials never in the log (ping, library, downloads, failures)
    assert PASSWORD not in caplog.text
    assert PASSWORD.encode().hex() not in caplog.text
    assert "/rest/getAlbum" in caplog.text

    # songs removed from the server leave the catalog
    (server.music / "Loud" / "drive.mp3").unlink()
    server.scan()
    with Catalog.open(db) as cat:
        gone = scan_subsonic(cat, client)
        assert gone.removed == 1 and gone.songs == 2 and gone.unchanged == 2
        assert cat.get_track(ids["Drive"]) is None
    write_song(
        server.music / "Loud" / "drive.mp3",
        title="Drive",
        artist="Loud",
        album="Fast",
        bpm=140,
        seed=2,
    )
    server.scan()

    # a mood playlist on the server: scanned songs by id, a local file found by title/artist
    ids = {s["title"]: track_id_for(client.config, str(s["id"])) for s in client.songs()}
    with Catalog.open(db) as cat:
        assert scan_subsonic(cat, client).analysed == 1  # the song that came back
    local = PlaylistEntry("local:0000", "Calm", ("Quiet",))
    entries = [
        PlaylistEntry(ids["Drive"], "Drive", ("Loud",)),
        local,
        PlaylistEntry("4uLU6hMCjMI75M1A2tKUQC", "Not On The Server", ("Nobody",)),
    ]
    pushed = push_playlist(client, entries, name="moodtune: calm (calm)")
    assert pushed.matched == 1 and pushed.missing == ["4uLU6hMCjMI75M1A2tKUQC"]
    songs = client.playlist_songs(str(pushed.playlist_id))
    assert [s["title"] for s in songs] == ["Drive", "Calm"]


@pytest.mark.slow
def test_cli_subsonic_scan_and_recommend_to_subsonic(
    server: Supysonic, tmp_path: Path, monkeypatch, capsys
) -> None:
    from moodtune import service

    for k, v in server.env_vars().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MOODTUNE_CATALOG", str(tmp_path / "c.sqlite"))
    monkeypatch.setattr(service, "_service", None)
    assert main(["subsonic", "scan", "--workers", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["songs"] == 3 and data["analysed"] == 3
    assert main(["subsonic", "library", "--json"]) == 0
    lib = json.loads(capsys.readouterr().out)
    assert sum(len(al["songs"]) for a in lib["artists"] for al in a["albums"]) == 3
    assert main(["subsonic", "library"]) == 0
    assert PASSWORD not in capsys.readouterr().out  # the table has no stream URLs
    with Catalog.open(tmp_path / "c.sqlite") as cat:  # a catalog track too: never pushed
        cat.upsert_tracks([{"id": "4uLU6hMCjMI75M1A2tKUQC", "name": "Calm", "valence": 0.1}])
    args = ["recommend", "--valence", "-0.4", "--arousal", "-0.5", "--n", "3", "--no-llm"]
    args += ["--min-duration", "0"]  # the test songs last seconds
    assert main([*args, "--to", "subsonic", "--json"]) == 0
    cap = capsys.readouterr()
    tracks = json.loads(cap.out)["tracks"]
    assert all(t["id"].startswith("subsonic:") for t in tracks)  # only what the server has
    assert "Subsonic playlist 'moodtune: " in cap.err and "3 songs" in cap.err
    client = _client(server)
    lists = client.call("getPlaylists")["playlists"]["playlist"]
    mine = [p for p in lists if p["name"].startswith("moodtune: ") and "(match)" in p["name"]]
    assert len(mine) == 1
    songs = client.playlist_songs(str(mine[0]["id"]))
    assert [s["title"] for s in songs] == [t["name"] for t in tracks]
    # a wrong password: exit 1, and the message does not echo it
    monkeypatch.setenv("MOODTUNE_SUBSONIC_PASSWORD", "wrong-secret-123")
    monkeypatch.setattr(service, "_service", None)
    assert main(["subsonic", "scan"]) == 1
    err = capsys.readouterr().err
    assert "Subsonic server" in err and "wrong-secret-123" not in err


def test_auth_modes_and_configuration(server: Supysonic, tmp_path: Path, caplog) -> None:
    env = server.env_vars()
    cfg = SubsonicConfig.from_env(env)
    assert PASSWORD not in repr(cfg) and PASSWORD not in repr(SubsonicClient(cfg))
    # supysonic cannot check tokens: the client notices and sends the password instead
    client = SubsonicClient(cfg)
    client.ping()
    assert client._legacy
    # a stored token + salt (no password) is refused by this server with a clear error
    token_env = {k: v for k, v in env.items() if k != "MOODTUNE_SUBSONIC_PASSWORD"}
    token_env |= {
        "MOODTUNE_SUBSONIC_TOKEN": "26719a1196d2a940705a59634eb18eab",
        "MOODTUNE_SUBSONIC_SALT": "c19b2d",
    }
    with pytest.raises(SubsonicError, match="code 10"):
        SubsonicClient(SubsonicConfig.from_env(token_env)).ping()
    # the password from a file (a Docker/systemd secret)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)
    file_env = {k: v for k, v in env.items() if k != "MOODTUNE_SUBSONIC_PASSWORD"}
    file_env["MOODTUNE_SUBSONIC_PASSWORD_FILE"] = str(secret)
    with caplog.at_level(logging.WARNING):
        assert SubsonicClient(SubsonicConfig.from_env(file_env)).ping()["status"] == "ok"
    assert "chmod 600" in caplog.text and PASSWORD not in caplog.text
    caplog.clear()
    secret.chmod(0o600)
    SubsonicConfig.from_env(file_env)
    assert "chmod 600" not in caplog.text
    with pytest.raises(ParameterError, match="MOODTUNE_SUBSONIC_URL"):
        SubsonicConfig.from_env({})
    with pytest.raises(ParameterError, match="needs a password"):
        SubsonicConfig.from_env(
            {"MOODTUNE_SUBSONIC_URL": server.url, "MOODTUNE_SUBSONIC_USER": "a"}
        )
    with pytest.raises(ParameterError, match="http"):
        SubsonicConfig.from_env(env | {"MOODTUNE_SUBSONIC_URL": "ftp://x"})
    down = SubsonicConfig.from_env(
        env | {"MOODTUNE_SUBSONIC_URL": f"http://127.0.0.1:{free_port()}"}
    )
    with pytest.raises(SubsonicError, match="cannot reach") as info:
        SubsonicClient(down, timeout=2).ping()
    assert PASSWORD not in str(info.value)
    with pytest.raises(SubsonicError, match="none of the"):
        push_playlist(client, [PlaylistEntry("x", "No Such Song", ("Nobody",))], name="empty")


def test_service_facade_reads_environment(server: Supysonic, monkeypatch) -> None:
    for k, v in server.env_vars().items():
        monkeypatch.setenv(k, v)
    client = Moodtune().subsonic_client()
    assert client.config.url == server.url and client.ping()["status"] == "ok"


def test_a_server_that_is_not_subsonic(tmp_path: Path) -> None:
    import http.server
    import threading

    (tmp_path / "rest").mkdir()
    (tmp_path / "rest" / "ping").write_text("<html>a web page</html>")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        env = {
            "MOODTUNE_SUBSONIC_URL": url,
            "MOODTUNE_SUBSONIC_USER": "a",
            "MOODTUNE_SUBSONIC_PASSWORD": PASSWORD,
        }
        client = SubsonicClient(SubsonicConfig.from_env(env))
        with pytest.raises(SubsonicError, match="as a Subsonic server does") as info:
            client.ping()
        assert PASSWORD not in str(info.value)
        with pytest.raises(SubsonicError, match="HTTP 404") as info:
            client.call("getArtists")
        assert PASSWORD not in str(info.value) and "p=" not in str(info.value)
    finally:
        httpd.shutdown()
