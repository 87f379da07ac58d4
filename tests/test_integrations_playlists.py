"""Playlist files: M3U8, XSPF and JSON written by recommend/similar and parsed back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from integration_media import write_song
from moodtune.catalog.repository import Catalog
from moodtune.catalog.scan import scan_library
from moodtune.cli import main
from moodtune.errors import ParameterError
from moodtune.integrations.playlists import (
    PlaylistEntry,
    read_playlist,
    write_playlist,
)
from moodtune.service import Moodtune

SPOTIFY_ID = "4uLU6hMCjMI75M1A2tKUQC"


def _spotify_row(track_id: str, name: str, valence: float, energy: float) -> dict:
    return {
        "id": track_id,
        "name": name,
        "artists": ["Remote Artist"],
        "genre": "pop",
        "duration_ms": 213000.0,
        "key": 0,
        "mode": 1,
        "valence": valence,
        "energy": energy,
        "danceability": 0.5,
        "acousticness": 0.3,
        "instrumentalness": 0.0,
        "speechiness": 0.05,
        "liveness": 0.1,
        "loudness": -8.0,
        "tempo": 110.0,
        "source": "test",
    }


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, Path]:
    """A catalog with 3 scanned local files (one with a non-ASCII name) and 2 Spotify tracks."""
    root = tmp_path_factory.mktemp("pl")
    lib = root / "Music"
    write_song(lib / "A" / "calm song.flac", title="Calm Song", artist="Quiet", bpm=70, seed=1)
    write_song(lib / "A" / "drive.mp3", title="Drive", artist="Loud", bpm=140, seed=2)
    write_song(lib / "B" / "песня.ogg", title="Песня", artist="Группа", bpm=100, seed=3)
    db = root / "c.sqlite"
    with Catalog.open(db) as cat:
        assert scan_library(cat, lib, workers=1, lyrics=False).analysed == 3
        cat.upsert_tracks(
            [
                _spotify_row(SPOTIFY_ID, "Far Away", 0.2, 0.2),
                _spotify_row("7ouMYWpwJ422jRcDASZB7P", "Near", 0.8, 0.8),
            ]
        )
    return db, lib


def _ids(db: Path) -> list[str]:
    with Catalog.open(db) as cat:
        return sorted(str(i) for i in cat.load_table().id)


@pytest.mark.parametrize("ext", ["m3u8", "xspf", "json"])
def test_round_trip_each_format(tmp_path: Path, library, ext: str) -> None:
    db, lib = library
    svc = Moodtune(catalog_path=db)
    ids = _ids(db)
    out = lib / "lists" / f"mood.{ext}"
    out.parent.mkdir(exist_ok=True)
    rep = svc.export_playlist(ids, out, title="moodtune: sad (match)")
    assert (rep.fmt, rep.local, rep.links, rep.skipped) == (
        "m3u8" if ext == "m3u8" else ext,
        3,
        2,
        0,
    )
    entries = {e.track_id: e for e in svc.playlist_entries(ids)}
    back = read_playlist(out)
    assert len(back) == 5
    for item, tid in zip(back, ids, strict=True):
        e = entries[tid]
        if e.local_path:
            assert item["path"] == str(Path(e.local_path).resolve())
            assert Path(item["path"]).is_file()
            assert not Path(item["location"]).is_absolute()  # relative to the playlist
        else:
            assert item["path"] is None
            assert item["location"] == f"https://open.spotify.com/track/{tid}"
        if ext == "m3u8":
            assert item["title"] == e.display
        else:
            assert item["title"] == e.title
        assert item["duration_s"] == pytest.approx(e.duration_s, abs=0.51)
    text = out.read_text(encoding="utf-8")
    if ext == "m3u8":
        assert text.startswith("#EXTM3U\n#PLAYLIST:moodtune: sad (match)\n")
        assert "#EXTINF:4,Группа – Песня\n../B/песня.ogg\n" in text
        assert f"# not a local file: Remote Artist – Far Away is a link ({SPOTIFY_ID})" in text
    elif ext == "xspf":
        root = ET.fromstring(text)  # well-formed XML in the XSPF namespace
        assert root.tag == "{http://xspf.org/ns/0/}playlist" and root.get("version") == "1"
        assert "../B/%D0%BF%D0%B5%D1%81%D0%BD%D1%8F.ogg" in text
        assert "not a local file" in text
    else:
        data = json.loads(text)
        assert data["title"] == "moodtune: sad (match)"
        assert {t["kind"] for t in data["tracks"]} == {"file", "link"}


def test_local_only_skips_links_and_absolute_paths_elsewhere(tmp_path: Path, library) -> None:
    db, _ = library
    svc = Moodtune(catalog_path=db)
    ids = _ids(db)
    out = tmp_path / "only.m3u8"
    rep = svc.export_playlist(ids, out, local_only=True)
    assert (rep.local, rep.links, rep.skipped) == (3, 0, 2)
    back = read_playlist(out)
    assert all(Path(b["path"]).is_file() for b in back) and len(back) == 3
    # the playlist shares only a deep parent folder with the music: still relative
    assert all(not Path(b["location"]).is_absolute() for b in back)


def test_paths_without_a_common_folder_stay_absolute(tmp_path: Path) -> None:
    entry = PlaylistEntry("local:x", "T", ("A",), duration_s=3.0, local_path="/usr/bin/env")
    rep = write_playlist([entry], tmp_path / "x.m3u8")
    assert rep.local == 1
    assert read_playlist(tmp_path / "x.m3u8")[0]["location"] == str(Path("/usr/bin/env").resolve())


def test_bad_playlist_paths(tmp_path: Path) -> None:
    e = PlaylistEntry("x", "T")
    with pytest.raises(ParameterError, match=r"\.m3u8, \.xspf or \.json"):
        write_playlist([e], tmp_path / "list.txt")
    with pytest.raises(ParameterError, match="does not exist"):
        write_playlist([e], tmp_path / "nope" / "list.m3u8")
    rep = write_playlist([e], tmp_path / "empty.xspf")  # no file and no link: skipped
    assert rep.skipped == 1 and read_playlist(tmp_path / "empty.xspf") == []


def test_cli_recommend_and_similar_write_playlists(
    tmp_path: Path, library, monkeypatch, capsys
) -> None:
    from moodtune import service

    db, lib = library
    monkeypatch.setenv("MOODTUNE_CATALOG", str(db))
    monkeypatch.setattr(service, "_service", None)
    out = tmp_path / "rec.m3u8"
    args = ["recommend", "--valence", "-0.5", "--arousal", "-0.5", "--n", "4", "--no-llm"]
    args += ["--min-duration", "0"]  # the test songs last seconds
    assert main([*args, "--out", str(out), "--json"]) == 0
    cap = capsys.readouterr()
    rec = json.loads(cap.out)
    assert "playlist file:" in cap.err
    back = read_playlist(out)
    assert len(back) == len(rec["tracks"]) == 4
    assert [b["title"].split(" – ")[-1] for b in back] == [t["name"] for t in rec["tracks"]]

    out2 = tmp_path / "rec.xspf"
    assert main([*args, "--out", str(out2), "--local-only"]) == 0
    local = read_playlist(out2)  # recommend picks among the local files: a full playlist
    assert len(local) == 3 and all(Path(b["path"]).is_file() for b in local)
    capsys.readouterr()

    local_id = next(i for i in _ids(db) if i.startswith("local:"))
    out3 = tmp_path / "like.json"
    assert main(["similar", local_id, "--n", "3", "--out", str(out3), "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)
    got = json.loads(out3.read_text(encoding="utf-8"))["tracks"]
    assert [t["id"] for t in got] == [t["id"] for t in sim["tracks"]]
    out4 = tmp_path / "like-local.m3u8"
    assert main(["similar", local_id, "--n", "4", "--out", str(out4), "--local-only"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    kept = read_playlist(out4)
    assert all(Path(b["path"]).is_file() for b in kept) and len(kept) <= 3
    assert f"{4 - len(kept)} without a local file left out" in printed

    out5 = tmp_path / "journey.xspf"
    journey = ["journey", "--from", "sad", "--to", "happy", "--n", "3", "--min-duration", "0"]
    assert main([*journey, "--seed", "1", "--out", str(out5), "--json"]) == 0
    trip = json.loads(capsys.readouterr().out)["tracks"]
    assert [b["title"] for b in read_playlist(out5)] == [t["name"] for t in trip]
    assert main([*journey, "--replace"]) == 2  # --replace needs --player mpd

    assert main([*args, "--out", str(tmp_path / "x.pls")]) == 2
    assert main([*args, "--replace"]) == 2  # --replace needs --to mpd
    assert main([*args, "--to", "jukebox"]) == 2
    monkeypatch.delenv("MOODTUNE_SUBSONIC_URL", raising=False)
    assert main([*args, "--to", "subsonic"]) == 2  # no server configured: said up front
    assert "MOODTUNE_SUBSONIC_URL" in capsys.readouterr().err


def test_mpd_without_its_client_library_names_the_extra(monkeypatch) -> None:
    import sys

    from moodtune.errors import MissingDependencyError
    from moodtune.integrations.mpd import queue_playlist

    monkeypatch.setitem(sys.modules, "mpd", None)  # as if python-mpd2 were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'moodtune\[mpd\]'"):
        queue_playlist([PlaylistEntry("local:x", "T", local_path="/x.mp3")], port=1)
