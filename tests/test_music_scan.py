"""Library scans: incremental reruns, resume after interruption, corrupt files, engines."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from integration_media import SR, clip
from moodtune.audio.encode import encode_audio
from moodtune.catalog.repository import Catalog
from moodtune.catalog.scan import load_curve, load_curves, read_tags, scan_library
from moodtune.errors import ParameterError


def _row(cat: Catalog, track_id: str) -> dict[str, Any]:
    """The stored track, which must be there."""
    row = cat.get_track(track_id)
    assert row is not None, f"{track_id} is not in the catalog"
    return row


def _genres(cat: Catalog, track_id: str) -> dict[str, Any]:
    """The stored genre probabilities of a track, which must be there."""
    genres = cat.get_genres(track_id)
    assert genres is not None, f"{track_id} has no genres stored"
    return genres


def _clip(seconds: float, bpm: float, seed: int) -> np.ndarray:
    return clip(seconds, bpm, seed, tone=False)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    (lib / "album").mkdir(parents=True)
    for i, fmt in enumerate(["wav", "flac", "mp3", "ogg"]):
        sub = lib / "album" if i % 2 else lib
        (sub / f"t{i}.{fmt}").write_bytes(encode_audio(_clip(3.0, 90 + 20 * i, i), sr=SR, fmt=fmt))
    good = encode_audio(_clip(3.0, 100, 9), sr=SR, fmt="flac")
    (lib / "broken.flac").write_bytes(good[: len(good) // 3])
    (lib / "notes.mp3").write_text("not audio " * 100)
    (lib / "cover.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    return lib


def test_scan_rerun_and_corrupt_files(tmp_path: Path, library: Path) -> None:
    mutagen_flac = pytest.importorskip("mutagen.flac")
    tagged = mutagen_flac.FLAC(library / "album" / "t1.flac")
    tagged["title"], tagged["artist"], tagged["album"] = "Song One", "The Band", "Record"
    tagged.save()
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        seen: list[tuple[int, int]] = []
        rep = scan_library(cat, library, workers=1, progress=lambda d, t, p: seen.append((d, t)))
        assert rep.found == 6 and rep.analysed == 4 and not rep.interrupted
        assert sorted(Path(p).name for p, _ in rep.failed) == ["broken.flac", "notes.mp3"]
        assert seen[-1] == (6, 6)
        assert cat.count() == 4
        rows = [cat.get_track(str(i)) for i in cat.load_table().id]
        by_name = {r["name"]: r for r in rows if r}
        assert by_name["Song One"]["artists"] == ["The Band"]
        assert by_name["Song One"]["album"] == "Record"
        assert by_name["t0"]["local_path"] == str((library / "t0.wav").resolve())
        assert by_name["t0"]["source"] == "local"
        curve = load_curve(cat, by_name["t0"]["id"])
        assert curve is not None and curve[0].shape == (3,) and curve[2] == 1.0
        assert len(load_curves(cat)) == 4

        again = scan_library(cat, library, workers=1)
        assert (again.analysed, again.unchanged, len(again.failed)) == (0, 4, 2)

        # touched (same content, new mtime) and copied files are recognised by their hash
        t0 = library / "t0.wav"
        os.utime(t0, ns=(t0.stat().st_atime_ns, t0.stat().st_mtime_ns + 5_000_000_000))
        shutil.copy(t0, library / "copy_of_t0.wav")
        third = scan_library(cat, library, workers=1)
        assert (third.analysed, third.reused, third.unchanged) == (0, 2, 3)
        assert cat.count() == 4

        # a changed file is analysed again
        (library / "t0.wav").write_bytes(encode_audio(_clip(4.0, 150, 42), sr=SR, fmt="wav"))
        fourth = scan_library(cat, library, workers=1)
        assert fourth.analysed == 1 and cat.count() == 5


def test_interrupted_scan_resumes(tmp_path: Path, library: Path) -> None:
    def stop_after_two(done: int, total: int, path: str) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, library, workers=1, progress=stop_after_two)
        assert rep.interrupted
        written = cat.count()
        assert written == 2  # 2 failed + 2 written; the rest waits for the rerun
        assert len(load_curves(cat)) == written
        rest = scan_library(cat, library, workers=1)
        assert rest.unchanged == written and rest.analysed == 4 - written
        assert cat.count() == 4


def test_bad_arguments(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        with pytest.raises(ParameterError, match="no such folder"):
            scan_library(cat, tmp_path / "nope")
        with pytest.raises(ParameterError, match="engine"):
            scan_library(cat, tmp_path, engine="spark")
        with pytest.raises(ParameterError, match="workers"):
            scan_library(cat, tmp_path, workers=0)
    assert read_tags(tmp_path / "missing.mp3") == {}


@pytest.mark.slow
def test_scan_with_two_worker_processes(tmp_path: Path, library: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, library, workers=2)
        assert rep.analysed == 4 and len(rep.failed) == 2 and cat.count() == 4


@pytest.mark.slow
def test_scan_on_local_ray(tmp_path: Path, library: Path) -> None:
    pytest.importorskip("ray")
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, library, engine="ray", workers=2)
        assert rep.engine == "ray"
        assert rep.analysed == 4 and len(rep.failed) == 2 and cat.count() == 4
        assert len(load_curves(cat)) == 4


def test_scan_stores_genres_tag_genre_and_sidecar_lyrics(tmp_path: Path) -> None:
    mutagen_flac = pytest.importorskip("mutagen.flac")
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, name in enumerate(["tagged_rock", "tagged_other", "with_lyrics"]):
        (lib / f"{name}.flac").write_bytes(
            encode_audio(_clip(4.0, 100 + 10 * i, i), sr=SR, fmt="flac")
        )
    for name, genre in [("tagged_rock", "Hard Rock"), ("tagged_other", "Soundtrack")]:
        tagged = mutagen_flac.FLAC(lib / f"{name}.flac")
        tagged["genre"] = genre
        tagged.save()
    (lib / "with_lyrics.lrc").write_text(
        "[ti:Sunny]\n[00:01.00]I am so happy today, the sun is shining\n"
        "[00:05.00]We dance together and we laugh with joy\n",
        encoding="utf-8",
    )
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        rep = scan_library(cat, lib, workers=1, lyrics=False)
        assert rep.analysed == 3 and not rep.failed
        rows = {r["name"]: r for r in (cat.get_track(str(i)) for i in cat.load_table().id) if r}
        six = {"edm", "latin", "pop", "r&b", "rap", "rock"}
        rock = rows["tagged_rock"]
        assert rock["genre"] == "rock" and rock["subgenre"] == "Hard Rock"  # the tag maps
        other = rows["tagged_other"]
        # the classifier's genre, or "other" when it abstains (probabilities kept)
        assert other["genre"] in six | {"other"} and other["subgenre"] == "Soundtrack"
        for row in rows.values():
            stored = cat.get_genres(row["id"])
            assert stored is not None and set(stored["probabilities"]) == six
            assert sum(stored["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        probs = _genres(cat, other["id"])["probabilities"]
        assert other["genre"] in (max(probs, key=probs.get), "other")
        lyr = cat.get_lyrics(rows["with_lyrics"]["id"])
        assert lyr is not None and lyr["source"] == "lrc" and "sun is shining" in lyr["text"]
        assert lyr["valence"] > 0  # happy words
        assert cat.get_lyrics(rock["id"]) is None
        # --genre filters see the local tracks' genres
        from moodtune.recommend import Filters, Recommender

        rec = Recommender(cat.load_table())
        only_rock = Filters(genres=frozenset({"rock"}), min_duration_s=0)  # 3 s test clips
        picks = rec.recommend(0.0, 0.0, n=3, filters=only_rock)
        assert [str(rec.table.id[p.index]) for p in picks] == [rock["id"]]
        # a catalog scanned before the classifier: its genres are filled on the next scan
        with cat.transaction() as conn:
            conn.execute("DELETE FROM track_genres")
            conn.execute(
                "UPDATE tracks SET genre = 'Soundtrack', subgenre = NULL WHERE id = ?",
                (other["id"],),
            )
        rep2 = scan_library(cat, lib, workers=1)
        assert rep2.unchanged == 3 and rep2.analysed == 0
        assert cat.get_genres(other["id"]) is not None
        again = _row(cat, other["id"])
        assert again["genre"] == other["genre"] and again["subgenre"] == "Soundtrack"
        assert _row(cat, rock["id"])["genre"] == "rock"


def crashy_job(path: str, sha: str, lyrics: bool) -> dict:
    """A scan job that kills its worker process on files named crash*."""
    if Path(path).name.startswith("crash"):
        os._exit(3)
    return {"path": path, "sha256": sha, "ok": True}


def test_a_worker_crash_costs_only_its_own_file() -> None:
    from moodtune.catalog.scan import _run_local

    names = ["a", "b", "crash1", "c", "d", "e", "crash2", "f", "g"]
    jobs = [(f"/music/{n}.ogg", n, False) for n in names]
    results = {r["path"]: r for r in _run_local(jobs, 2, job_fn=crashy_job)}
    assert set(results) == {j[0] for j in jobs}  # every file reported exactly once
    failed = {Path(p).stem for p, r in results.items() if not r["ok"]}
    assert failed == {"crash1", "crash2"}
    assert "killed the worker" in results["/music/crash1.ogg"]["error"]


def test_gone_files_are_not_offered_and_come_back(tmp_path: Path) -> None:
    from moodtune.recommend import Filters

    short = Filters(min_duration_s=0)  # 4 s test clips: not only songs of 60 s+
    from moodtune.service import Moodtune

    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        (lib / f"s{i}.flac").write_bytes(
            encode_audio(_clip(4.0, 90 + 15 * i, i), sr=SR, fmt="flac")
        )
    shutil.copy(lib / "s2.flac", lib / "s2_copy.flac")
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    assert svc.scan(lib, workers=1, lyrics=False).analysed == 3
    cat = svc.catalog()
    ids = {_row(cat, str(t))["name"]: str(t) for t in cat.load_table().id}
    svc.scan(lib, workers=1)  # the copy is recorded as a second file of s2
    (lib / "s0.flac").unlink()
    (lib / "s2.flac").unlink()
    rep = svc.scan(lib, workers=1)
    assert rep.missing == 2 and rep.analysed == 0
    gone = cat.get_track(ids["s0"])
    assert gone is not None and gone["local_path"] is None  # the analysis stays
    assert _row(cat, ids["s2"])["local_path"] == str((lib / "s2_copy.flac").resolve())
    offered = {t["id"] for t in svc.recommend_for(text="happy", n=10, filters=short).tracks}
    assert ids["s0"] not in offered and ids["s1"] in offered and ids["s2"] in offered
    _, similar = svc.similar(ids["s1"], n=5)
    assert ids["s0"] not in {t.id for t in similar}
    # s0 comes back under a new name
    (lib / "back.flac").write_bytes(encode_audio(_clip(4.0, 90, 0), sr=SR, fmt="flac"))
    rep = svc.scan(lib, workers=1)
    assert _row(cat, ids["s0"])["local_path"] == str((lib / "back.flac").resolve())
    assert ids["s0"] in {
        t["id"] for t in svc.recommend_for(text="happy", n=10, filters=short).tracks
    }


def test_silent_files_are_recorded_but_never_offered(tmp_path: Path) -> None:
    from moodtune.service import Moodtune

    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(2):
        (lib / f"s{i}.flac").write_bytes(
            encode_audio(_clip(4.0, 90 + 15 * i, i), sr=SR, fmt="flac")
        )
    (lib / "silence.flac").write_bytes(
        encode_audio(np.zeros(6 * SR, dtype=np.float32), sr=SR, fmt="flac")
    )
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    rep = svc.scan(lib, workers=1, lyrics=False)
    assert rep.analysed == 3 and not rep.failed
    cat = svc.catalog()
    with cat.transaction() as conn:
        rows = conn.execute("SELECT id, name, silent, genre, tempo FROM tracks").fetchall()
    by_name = {r[1]: r for r in rows}
    silent_id = by_name["silence"][0]
    assert by_name["silence"][2:] == (1, None, None)  # silent, no genre, no tempo
    assert by_name["s0"][2] == 0 and by_name["s0"][3]
    assert silent_id not in set(cat.load_table().id)  # never a candidate
    from moodtune.recommend import Filters

    everything = Filters(min_duration_s=0)  # short test clips: not only songs of 60 s+
    offered = {
        t["id"] for t in svc.recommend_for(text="calm and quiet", n=20, filters=everything).tracks
    }
    assert by_name["s0"][0] in offered and silent_id not in offered
    _, similar = svc.similar(by_name["s0"][0], n=5)
    assert silent_id not in {t.id for t in similar}
    again = svc.scan(lib, workers=1, lyrics=False)
    assert again.analysed == 0 and again.unchanged == 3  # recorded: not analysed again
    with pytest.raises(ParameterError, match="silent"):
        svc.similar(_silent_copy(tmp_path), n=3)


def _silent_copy(tmp_path: Path) -> str:
    path = tmp_path / "elsewhere" / "quiet.wav"
    path.parent.mkdir()
    path.write_bytes(encode_audio(np.zeros(5 * SR, dtype=np.float32), sr=SR, fmt="wav"))
    return str(path)
