"""Moods into tags: round trips on MP3, FLAC, Ogg Vorbis, Ogg Opus and M4A; scans after tagging."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from integration_media import write_song
from moodtune.catalog.repository import Catalog
from moodtune.catalog.scan import file_sha256, load_curve, scan_library
from moodtune.cli import main
from moodtune.errors import ParameterError
from moodtune.integrations.tags import (
    FIELDS,
    key_name,
    mood_tags,
    read_mood_tags,
    tag_library,
    write_mood_tags,
)

EXTS = ("mp3", "flac", "ogg", "opus", "m4a")
VALUES = {
    "BPM": "128",
    "INITIALKEY": "F#m",
    "MOOD": "sad",
    "MOODTUNE_AROUSAL": "-0.412",
    "MOODTUNE_VALENCE": "-0.250",
    "MOODTUNE_ENERGY": "0.310",
    "MOODTUNE_DANCEABILITY": "0.555",
}


def _samples(path: Path) -> np.ndarray:
    """Every decoded sample of the file's audio stream (decoders are deterministic)."""
    with av.open(str(path)) as c:
        frames = [f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]
    return np.concatenate(frames)


@pytest.mark.parametrize("ext", EXTS)
def test_tags_round_trip_and_audio_untouched(tmp_path: Path, ext: str) -> None:
    import mutagen

    path = write_song(tmp_path / f"song.{ext}", title="Rain", artist="Low Clouds", seed=1)
    before = _samples(path)
    assert read_mood_tags(path) == {}
    write_mood_tags(path, VALUES)
    assert read_mood_tags(path) == VALUES
    # the field names other tools read
    f = mutagen.File(path)
    if ext == "mp3":
        assert str(f.tags["TBPM"]) == "128" and str(f.tags["TKEY"]) == "F#m"
        assert str(f.tags["TMOO"]) == "sad"
        assert str(f.tags["TXXX:MOODTUNE_AROUSAL"]) == "-0.412"
    elif ext == "m4a":
        assert f.tags["tmpo"] == [128]
        assert bytes(f.tags["----:com.apple.iTunes:initialkey"][0]) == b"F#m"
        assert bytes(f.tags["----:com.apple.iTunes:MOOD"][0]) == b"sad"
    else:
        assert f.tags["BPM"] == ["128"] and f.tags["INITIALKEY"] == ["F#m"]
        assert f.tags["MOOD"] == ["sad"] and f.tags["MOODTUNE_VALENCE"] == ["-0.250"]
    # the other tags are kept, the audio is the same sample for sample
    easy = mutagen.File(path, easy=True)
    assert easy["title"] == ["Rain"] and easy["artist"] == ["Low Clouds"]
    np.testing.assert_array_equal(_samples(path), before)
    # writing again replaces (no duplicate frames/comments)
    write_mood_tags(path, VALUES | {"MOOD": "happy"})
    assert read_mood_tags(path)["MOOD"] == "happy"
    if ext in ("flac", "ogg", "opus"):
        assert mutagen.File(path).tags["MOOD"] == ["happy"]


def test_key_names_and_values() -> None:
    assert key_name(9, 0) == "Am" and key_name(0, 1) == "C" and key_name(6, 1) == "F#"
    assert key_name(-1, 1) is None and key_name(None, 0) is None
    row = {"tempo": 119.6, "key": 2, "mode": 0, "energy": 0.8, "danceability": 0.25}
    curve = (np.array([0.5, 0.7]), np.array([-0.6, -0.4]), 1.0)
    tags = mood_tags(row, curve)
    assert tags["BPM"] == "120" and tags["INITIALKEY"] == "Dm"
    assert tags["MOODTUNE_AROUSAL"] == "0.600" and tags["MOODTUNE_VALENCE"] == "-0.500"
    assert tags["MOOD"] in ("angry", "anxious", "irritated")  # aroused and negative
    assert tags["MOODTUNE_ENERGY"] == "0.800" and set(tags) == set(FIELDS)


def test_untaggable_files_are_refused(tmp_path: Path) -> None:
    wav = write_song(tmp_path / "a.wav", title="x", artist="y")
    with pytest.raises(ParameterError, match="writes tags to"):
        write_mood_tags(wav, VALUES)
    junk = tmp_path / "junk.mp3"
    junk.write_text("not audio " * 50)
    with pytest.raises(ParameterError, match="junk.mp3"):
        write_mood_tags(junk, VALUES)


@pytest.mark.slow
def test_scan_write_tags_dry_run_then_write_then_rescan_unchanged(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    files = [
        write_song(lib / f"s{i}.{ext}", title=f"Song {i}", artist="Band", bpm=80 + 20 * i, seed=i)
        for i, ext in enumerate(("mp3", "flac", "ogg", "m4a"))
    ]
    write_song(lib / "plain.wav", title="", artist="")
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, lib, workers=1, lyrics=False)
        assert rep.analysed == 5 and not rep.failed
        hashes = {p: file_sha256(p) for p in files}

        dry = tag_library(cat, lib, dry_run=True)
        assert dry.dry_run and dry.written == 4 and len(dry.changes) == 4
        assert [Path(p).name for p, _ in dry.skipped] == ["plain.wav"]
        assert all(file_sha256(p) == h for p, h in hashes.items())  # nothing written
        change = dry.changes[str(files[1].resolve())]
        assert change["BPM"][0] is None and change["MOOD"][1]

        done = tag_library(cat, lib)
        assert done.written == 4 and not done.dry_run
        for p in files:
            assert file_sha256(p) != hashes[p]
            with cat.transaction() as conn:
                (tid,) = conn.execute(
                    "SELECT track_id FROM music_files WHERE path = ?", (str(p.resolve()),)
                ).fetchone()
            row = cat.get_track(tid)
            assert row is not None
            expected = mood_tags(row, load_curve(cat, tid))
            assert read_mood_tags(p) == expected

        again = scan_library(cat, lib, workers=1, lyrics=False)
        assert again.unchanged == 5 and again.analysed == 0 and again.reused == 0
        assert tag_library(cat, lib).unchanged == 4


@pytest.mark.slow
def test_cli_scan_write_tags(tmp_path: Path, monkeypatch, capsys) -> None:
    from moodtune import service

    lib = tmp_path / "lib"
    song = write_song(lib / "one.flac", title="One", artist="Band")
    monkeypatch.setenv("MOODTUNE_CATALOG", str(tmp_path / "c.sqlite"))
    monkeypatch.setattr(service, "_service", None)
    assert main(["scan", str(lib), "--dry-run"]) == 2  # --dry-run needs --write-tags
    capsys.readouterr()
    code = main(["scan", str(lib), "--workers", "1", "--no-lyrics", "--write-tags", "--dry-run"])
    assert code == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "BPM: (none) ->" in printed and "dry run: nothing written" in printed
    assert read_mood_tags(song) == {}
    code = main(["scan", str(lib), "--workers", "1", "--write-tags", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["unchanged"] == 1 and data["tags"]["written"] == 1
    assert set(read_mood_tags(song)) == set(FIELDS)
    code = main(["scan", str(lib), "--workers", "1", "--write-tags", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["unchanged"] == 1 and data["analysed"] == 0
    assert data["tags"]["written"] == 0 and data["tags"]["unchanged"] == 1
