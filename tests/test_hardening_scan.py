"""Every path a scan finds is recorded: byte-identical copies, interrupted scans."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from integration_media import SR, clip
from moodtune.audio.encode import encode_audio
from moodtune.catalog.repository import Catalog
from moodtune.catalog.scan import scan_library


def _clip(seconds: float, bpm: float, seed: int) -> np.ndarray:
    return clip(seconds, bpm, seed, tone=False)


def _files(cat: Catalog) -> dict[str, str]:
    with cat.transaction() as conn:
        return dict(conn.execute("SELECT path, track_id FROM music_files"))


def _accounted(rep) -> int:
    return rep.analysed + rep.unchanged + rep.reused + len(rep.failed) + rep.pending


@pytest.fixture
def library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    (lib / "copies").mkdir(parents=True)
    for i in range(3):
        (lib / f"t{i}.wav").write_bytes(encode_audio(_clip(3.0, 90 + 20 * i, i), sr=SR, fmt="wav"))
    shutil.copy(lib / "t0.wav", lib / "copies" / "t0 copy.wav")
    shutil.copy(lib / "t0.wav", lib / "copies" / "t0 copy 2.wav")
    return lib.resolve()


def test_identical_copies_in_one_scan_are_all_recorded(tmp_path: Path, library: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, library, workers=1, lyrics=False)
        assert rep.found == 5
        assert (rep.analysed, rep.reused, rep.pending, len(rep.failed)) == (3, 2, 0, 0)
        assert _accounted(rep) == rep.found
        files = _files(cat)
        assert sorted(files) == sorted(str(p) for p in library.rglob("*.wav"))
        original = files[str(library / "t0.wav")]
        assert files[str(library / "copies" / "t0 copy.wav")] == original
        assert files[str(library / "copies" / "t0 copy 2.wav")] == original
        assert cat.count() == 3

        again = scan_library(cat, library, workers=1, lyrics=False)
        assert (again.unchanged, again.analysed, again.reused, again.pending) == (5, 0, 0, 0)

        # the original goes: the track now plays from a copy
        (library / "t0.wav").unlink()
        third = scan_library(cat, library, workers=1, lyrics=False)
        assert third.missing == 1 and third.unchanged == 4
        local = cat.get_track(original)
        assert local is not None and "t0 copy" in local["local_path"]


def test_an_interrupted_scan_accounts_for_every_file_and_a_rerun_records_the_rest(
    tmp_path: Path, library: Path
) -> None:
    def stop(done: int, total: int, path: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, library, workers=1, lyrics=False, progress=stop)
        assert rep.interrupted and rep.found == 5
        assert rep.pending > 0 and _accounted(rep) == rep.found
        assert len(_files(cat)) == rep.analysed + rep.reused
        rest = scan_library(cat, library, workers=1, lyrics=False)
        assert not rest.interrupted and rest.pending == 0 and _accounted(rest) == 5
        assert sorted(_files(cat)) == sorted(str(p) for p in library.rglob("*.wav"))
        assert cat.count() == 3


def test_copies_of_a_file_that_fails_are_reported_failed_too(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    good = encode_audio(_clip(3.0, 100, 9), sr=SR, fmt="flac")
    (lib / "broken.flac").write_bytes(good[: len(good) // 3])
    shutil.copy(lib / "broken.flac", lib / "broken again.flac")
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, lib, workers=1, lyrics=False)
        assert rep.found == 2 and len(rep.failed) == 2 and rep.pending == 0
        copies = [reason for _, reason in rep.failed if reason.startswith("same content as")]
        assert len(copies) == 1 and "truncated" in copies[0]
