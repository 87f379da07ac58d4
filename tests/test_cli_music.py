"""analyze, scan and similar through the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moodtune.audio.encode import encode_audio

SR = 16000
SCRIPT = Path(sys.executable).parent / "moodtune"

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=os.environ.copy() | env,
        timeout=300,
    )


def clicks(seconds: float, bpm: float, seed: int, *, level: float = 0.6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = 0.02 * rng.standard_normal(int(seconds * SR))
    n = int(0.01 * SR)
    for start in np.arange(0.0, seconds - 0.02, 60.0 / bpm):
        i = int(start * SR)
        y[i : i + n] += level * np.hanning(n)
    return y.astype(np.float32)


@pytest.fixture
def env(tmp_path):
    return {"MOODTUNE_CATALOG": str(tmp_path / "catalog.sqlite")}


@pytest.fixture
def library(tmp_path):
    lib = tmp_path / "music"
    lib.mkdir()
    for i, fmt in enumerate(["ogg", "mp3", "flac"]):
        (lib / f"song{i}.{fmt}").write_bytes(
            encode_audio(clicks(6.0, 100 + 20 * i, i), sr=SR, fmt=fmt)
        )
    good = encode_audio(clicks(6.0, 100, 9), sr=SR, fmt="flac")
    (lib / "broken.flac").write_bytes(good[: len(good) // 3])
    return lib


def test_analyze_json_shape_and_plot(tmp_path, env):
    path = tmp_path / "beat.wav"
    path.write_bytes(encode_audio(clicks(8.0, 120, 1), sr=SR, fmt="wav"))
    png = tmp_path / "curve.png"
    proc = run("analyze", str(path), "--json", "--plot", str(png), env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {
        "silent", "features", "curve", "summary", "genre", "lyrics", "emotion_point",
        "description",
    }  # fmt: skip
    assert data["silent"] is False
    assert data["lyrics"] is None  # clicks have no words
    features = set(data["features"])
    assert {"tempo", "key", "mode", "loudness", "energy", "valence", "danceability"} <= features
    assert {"acousticness", "instrumentalness", "speechiness", "liveness", "duration_s"} <= features
    assert abs(data["features"]["tempo"] - 120) <= 2
    assert data["curve"]["hop_s"] == 1.0
    assert abs(len(data["curve"]["arousal"]) - 8) <= 1
    assert png.stat().st_size > 20_000


def test_analyze_silence_says_silent(tmp_path, env):
    path = tmp_path / "silence.wav"
    path.write_bytes(encode_audio(np.zeros(12 * SR, dtype=np.float32), sr=SR, fmt="wav"))
    proc = run("analyze", str(path), "--json", "--no-lyrics", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["silent"] is True and data["emotion_point"] is None
    assert data["features"]["tempo"] is None and data["features"]["key"] is None
    assert data["features"]["mode"] is None and data["genre"]["label"] is None
    text = run("analyze", str(path), "--no-lyrics", env=env)
    assert text.returncode == 0, text.stderr
    assert "silent" in text.stdout and "latin" not in text.stdout


def test_scan_then_rerun_then_similar(library, env):
    first = run("scan", str(library), "--workers", "2", "--json", env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["analysed"] == 3
    assert [f["path"].endswith("broken.flac") for f in report["failed"]] == [True]
    assert "broken.flac" in first.stderr or report["failed"]
    again = json.loads(run("scan", str(library), "--json", env=env).stdout)
    assert again["analysed"] == 0 and again["unchanged"] == 3
    proc = run("similar", str(library / "song0.ogg"), "--n", "2", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["tracks"]) == 2
    # the whole catalog (the default one plus the scanned files) is searched; not the query
    assert not any((t["local_path"] or "").endswith("song0.ogg") for t in result["tracks"])


def test_bad_music_input(tmp_path, env):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio " * 100)
    proc = run("analyze", str(text), env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    proc = run("scan", str(tmp_path / "nope"), env=env)
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
