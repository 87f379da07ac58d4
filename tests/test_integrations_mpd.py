"""MPD: playlists queued on Debian's real mpd, started by the test on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from integration_media import write_song
from local_servers import free_port
from moodtune.catalog.repository import Catalog
from moodtune.catalog.scan import scan_library
from moodtune.cli import main
from moodtune.errors import ParameterError
from moodtune.integrations.mpd import MpdError, parse_target, queue_uris
from moodtune.service import Moodtune

pytest.importorskip("mpd", reason="python-mpd2 is not installed: pip install 'moodtune[mpd]'")
MPD = shutil.which("mpd") or ("/usr/bin/mpd" if Path("/usr/bin/mpd").exists() else None)
pytestmark = pytest.mark.skipif(
    MPD is None, reason="Debian's mpd is not installed (scripts/test.sh apt-installs it)"
)


@pytest.fixture(scope="module")
def mpd_server(tmp_path_factory):
    """A real mpd over a music folder of 3 test files; yields (port, music dir, catalog)."""
    from mpd import MPDClient

    root = tmp_path_factory.mktemp("mpd")
    music = root / "music"
    write_song(music / "Quiet" / "calm.flac", title="Calm", artist="Quiet", bpm=70, seed=1)
    write_song(music / "Loud" / "drive.mp3", title="Drive", artist="Loud", bpm=140, seed=2)
    write_song(music / "Mid" / "walk.ogg", title="Walk", artist="Mid", bpm=100, seed=3)
    outside = root / "elsewhere"
    write_song(outside / "stray.flac", title="Stray", artist="Nobody", bpm=90, seed=4)
    port = free_port()
    conf = root / "mpd.conf"
    conf.write_text(
        f'music_directory "{music}"\n'
        f'db_file "{root / "mpd.db"}"\n'
        f'log_file "{root / "mpd.log"}"\n'
        'bind_to_address "127.0.0.1"\n'
        f'port "{port}"\n'
        'zeroconf_enabled "no"\n'
        'audio_output {\n  type "null"\n  name "null"\n}\n'
    )
    assert MPD is not None
    proc = subprocess.Popen(
        [MPD, "--no-daemon", "--stderr", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        client = MPDClient()
        deadline = time.monotonic() + 30
        while True:
            try:
                client.connect("127.0.0.1", port)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    msg = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"mpd did not start: {msg}") from None
                time.sleep(0.1)
        client.update()
        while "updating_db" in client.status() or len(client.listall()) < 6:
            if time.monotonic() > deadline:
                raise RuntimeError("mpd did not index the music folder")
            time.sleep(0.1)
        client.disconnect()
        db = root / "c.sqlite"
        with Catalog.open(db) as cat:
            assert scan_library(cat, music, workers=1, lyrics=False).analysed == 3
            assert scan_library(cat, outside, workers=1, lyrics=False).analysed == 1
            cat.upsert_tracks([{"id": "4uLU6hMCjMI75M1A2tKUQC", "name": "Remote", "valence": 0.5}])
        yield port, music, db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _local_ids(db: Path) -> dict[str, str]:
    with Catalog.open(db) as cat, cat.transaction() as conn:
        return {Path(p).name: t for p, t in conn.execute("SELECT path, track_id FROM music_files")}


def test_queue_then_replace(mpd_server) -> None:
    port, music, db = mpd_server
    svc = Moodtune(catalog_path=db)
    ids = _local_ids(db)
    target = f"mpd://127.0.0.1:{port}"
    rep = svc.queue_on_mpd([ids["calm.flac"], ids["drive.mp3"]], target, replace=True)
    assert rep.queued == ["Quiet/calm.flac", "Loud/drive.mp3"] and rep.playing
    assert queue_uris("127.0.0.1", port) == ["Quiet/calm.flac", "Loud/drive.mp3"]
    # queue (append): a catalog track without a file and a file outside MPD's folder are counted
    rep = svc.queue_on_mpd([ids["walk.ogg"], "4uLU6hMCjMI75M1A2tKUQC", ids["stray.flac"]], target)
    assert rep.queued == ["Mid/walk.ogg"] and rep.no_file == 1
    assert [Path(p).name for p in rep.not_found] == ["stray.flac"]
    assert queue_uris("127.0.0.1", port) == ["Quiet/calm.flac", "Loud/drive.mp3", "Mid/walk.ogg"]
    # with the music folder known, paths are mapped without asking MPD's database
    rep = svc.queue_on_mpd([ids["walk.ogg"]], target, replace=True, music_dir=music)
    assert queue_uris("127.0.0.1", port) == ["Mid/walk.ogg"]
    with pytest.raises(MpdError, match="nothing was queued"):
        svc.queue_on_mpd(["4uLU6hMCjMI75M1A2tKUQC"], target, replace=True)
    with pytest.raises(MpdError, match="nothing was queued"):
        svc.queue_on_mpd([ids["stray.flac"]], target, replace=True)
    assert queue_uris("127.0.0.1", port) == ["Mid/walk.ogg"]  # a failed replace keeps the queue


def test_cli_recommend_to_mpd(mpd_server, tmp_path: Path, monkeypatch, capsys) -> None:
    from moodtune import service

    port, music, db = mpd_server
    monkeypatch.setenv("MOODTUNE_CATALOG", str(db))
    monkeypatch.setattr(service, "_service", None)
    args = ["recommend", "--valence", "0.3", "--arousal", "0.4", "--n", "3", "--no-llm", "--json"]
    args += ["--min-duration", "0"]  # the test songs last seconds
    assert main([*args, "--to", f"mpd://127.0.0.1:{port}", "--replace"]) == 0
    cap = capsys.readouterr()
    tracks = json.loads(cap.out)["tracks"]
    assert all(t["id"].startswith("local:") for t in tracks)  # only files MPD can play
    assert "MPD 127.0.0.1" in cap.err and "replaced the queue" in cap.err
    names = {"Calm": "Quiet/calm.flac", "Drive": "Loud/drive.mp3", "Walk": "Mid/walk.ogg"}
    expected = [names[t["name"]] for t in tracks if t["name"] in names]
    assert expected and queue_uris("127.0.0.1", port) == expected
    # a journey goes to the player with --player (its --to is the end mood)
    ids = _local_ids(db)  # from one local song to another: both ends are files MPD has
    journey = ["journey", "--from", ids["calm.flac"], "--to", ids["drive.mp3"], "--n", "2"]
    journey += ["--min-duration", "0", "--player", f"mpd://127.0.0.1:{port}", "--replace"]
    assert main([*journey, "--json"]) == 0
    trip = [t["name"] for t in json.loads(capsys.readouterr().out)["tracks"]]
    assert trip == ["Calm", "Drive"]
    assert queue_uris("127.0.0.1", port) == ["Quiet/calm.flac", "Loud/drive.mp3"]
    # unreachable server: a runtime error, exit 1, one line
    assert main([*args, "--player", f"mpd://127.0.0.1:{free_port()}"]) == 1
    assert "cannot reach MPD" in capsys.readouterr().err
    # a catalog without local files: nothing MPD could play is a usage error (exit 2)
    monkeypatch.setenv("MOODTUNE_CATALOG", str(tmp_path / "empty.sqlite"))
    monkeypatch.setattr(service, "_service", None)
    with Catalog.open(tmp_path / "empty.sqlite") as cat:
        cat.upsert_tracks([{"id": "4uLU6hMCjMI75M1A2tKUQC", "name": "Remote", "valence": 0.5}])
    assert main([*args, "--to", f"mpd://127.0.0.1:{port}"]) == 2
    assert "moodtune scan DIR" in capsys.readouterr().err


def test_targets(monkeypatch) -> None:
    monkeypatch.delenv("MPD_HOST", raising=False)
    monkeypatch.delenv("MPD_PORT", raising=False)
    assert parse_target("mpd") == ("localhost", 6600)
    assert parse_target("mpd://10.0.0.2:6601") == ("10.0.0.2", 6601)
    assert parse_target("mpd://music") == ("music", 6600)
    monkeypatch.setenv("MPD_HOST", "secret@box")
    assert parse_target("mpd") == ("box", 6600)
    for bad in ("http://x", "mpd://x:port", "mpd://x/path"):
        with pytest.raises(ParameterError):
            parse_target(bad)


MOPIDY = shutil.which("mopidy")


@pytest.fixture(scope="module")
def mopidy_server(mpd_server, tmp_path_factory):
    """Debian's Mopidy (MPD frontend, Mopidy-File over the same music folder)."""
    if MOPIDY is None:
        pytest.skip(
            "Debian's mopidy and mopidy-mpd are not installed (scripts/test.sh installs them)"
        )
    _, music, db = mpd_server
    root = tmp_path_factory.mktemp("mopidy")
    port = free_port()
    conf = root / "mopidy.conf"
    conf.write_text(
        f"[core]\ncache_dir = {root / 'cache'}\nconfig_dir = {root / 'config'}\n"
        f"data_dir = {root / 'data'}\n"
        "[audio]\noutput = fakesink\n"
        f"[mpd]\nenabled = true\nhostname = 127.0.0.1\nport = {port}\n"
        f"[file]\nenabled = true\nmedia_dirs = {music}|Music\n"
        "[http]\nenabled = false\n[stream]\nenabled = false\n[m3u]\nenabled = false\n"
    )
    proc = subprocess.Popen(
        [MOPIDY, "--config", str(conf)],
        env={"HOME": str(root), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(64).startswith(b"OK MPD"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mopidy did not start")
            time.sleep(0.2)
        yield port, music, db
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_queue_on_mopidy(mopidy_server) -> None:
    port, music, db = mopidy_server
    svc = Moodtune(catalog_path=db)
    ids = _local_ids(db)
    target = f"mpd://127.0.0.1:{port}"
    rep = svc.queue_on_mpd([ids["drive.mp3"], ids["calm.flac"]], target, replace=True)
    want = [(music / "Loud" / "drive.mp3").as_uri(), (music / "Quiet" / "calm.flac").as_uri()]
    assert rep.queued == want and rep.playing
    assert queue_uris("127.0.0.1", port) == want
    rep = svc.queue_on_mpd([ids["walk.ogg"]], target)
    assert queue_uris("127.0.0.1", port) == [*want, (music / "Mid" / "walk.ogg").as_uri()]
