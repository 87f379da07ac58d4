"""Train/evaluate the music emotion heads on a tiny synthetic corpus in the music_emotion layout."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from moodtune.audio.encode import encode_audio
from moodtune.errors import ParameterError
from moodtune.music.emotion import EmotionModel
from moodtune.train.music_emotion import (
    evaluate_music_emotion,
    find_4q,
    find_clips,
    lag_sweep,
    report_markdown,
    train_music_emotion,
)

SR = 16000


def _loud(rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    gate = (np.sin(2 * np.pi * 6 * np.arange(n) / SR) > 0).astype(np.float64)
    return 0.5 * rng.standard_normal(n) * gate


def _quiet(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(180, 300)
    return 0.02 * (np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * 1.5 * f0 * t))


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(3)
    q4 = root / "4q"
    (q4 / "audio").mkdir(parents=True)
    with (q4 / "annotations_static.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["song_id", "quadrant", "arousal", "valence", "artist"])
        for i in range(24):
            quad = ("Q1", "Q2", "Q3", "Q4")[i % 4]
            y = _loud(rng, 4.0) if quad in ("Q1", "Q2") else _quiet(rng, 4.0)
            (q4 / "audio" / f"MT{i:04d}.wav").write_bytes(encode_audio(y, sr=SR, fmt="wav"))
            w.writerow([f"MT{i:04d}", quad, "", "", f"artist {i // 2}"])
    dyn = root / "toyset"
    (dyn / "audio").mkdir(parents=True)
    rows, static = [], []
    for i in range(3):  # a quiet tone, a louder tone, loud bursts of noise
        y = _loud(rng, 8.0) if i == 2 else (1 + 4 * i) * _quiet(rng, 8.0)
        (dyn / "audio" / f"{i}.wav").write_bytes(encode_audio(y, sr=SR, fmt="wav"))
        for ts in np.arange(2.0, 7.01, 0.5):
            a = -0.6 + 0.5 * i
            rows.append([i, ts, a, 0.0, a, 0.0])
        static.append([i, -0.6 + 0.5 * i, 0.0])
    with (dyn / "annotations_dynamic.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["song_id", "time_s", "arousal", "valence", "arousal_norm", "valence_norm"])
        w.writerows(rows)
    with (dyn / "annotations_static.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["song_id", "arousal_mean_norm", "valence_mean_norm"])
        w.writerows(static)
    return root


@pytest.mark.slow
def test_train_and_evaluate_on_tiny_corpus(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    data = _corpus(tmp_path / "data")
    assert len(find_4q(data)) == 24
    clips = find_clips(data)
    assert [c.clip_id for c in clips] == ["toyset/0", "toyset/1", "toyset/2"]
    assert clips[2].static == pytest.approx((0.4, 0.0))
    cache = tmp_path / "cache"
    card = train_music_emotion(data, tmp_path / "out" / "me.npz", cache=cache)
    assert card["train"]["4q_clips"] == 24 and "research" in card["licence_note"]
    assert json.loads((tmp_path / "out" / "me.json").read_text())["gains"] == card["gains"]
    assert (cache / "4q" / "MT0000.npz").is_file()  # reruns read the cache
    model = EmotionModel.load(tmp_path / "out" / "me.npz")
    res = evaluate_music_emotion(data, tmp_path / "rep", cache=cache)
    fq = res["four_q"]
    assert fq["n_clips"] == 24 and fq["n_artists"] == 12
    assert fq["chosen"]["arousal_auc"] > 0.9  # loud bursts against quiet tones
    # arousal splits the quadrants in halves here, so a quadrant is right well above the
    # 4-way chance of 0.25 even though valence cannot be learnt from these sounds
    assert fq["chosen"]["quadrant_accuracy"] > 0.25 + 1 / 24
    keys = ("arousal_auc", "valence_auc", "quadrant_accuracy")
    variants = [tuple(fq[v][k] for k in keys) for v in ("both", "embedding", "descriptors")]
    assert tuple(fq["chosen"][k] for k in keys) in variants  # "chosen" is one of them
    assert set(fq) >= {"both", "embedding", "descriptors", "vibenet"}
    assert math.isfinite(fq["vibenet"]["valence_auc"])
    s = res["clips"]["chosen"]["summary"]["arousal"]
    assert math.isfinite(s["rmse_mean"]) and s["clip_mean_pearson_r"] > 0.5
    assert (tmp_path / "rep" / "music_emotion_4q.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "rep" / "music_emotion_eval.md").read_text()
    assert "arousal AUC" in table and "raw vibenet" in table and "raters' delay" in table
    assert [r["lag_s"] for r in res["clips"]["lag_sweep"]["chosen"]] == list(range(9))
    assert report_markdown(res) == table
    # the trained model reads loud noise as more aroused than a quiet tone
    from moodtune.music import analyze_signal

    rng = np.random.default_rng(9)
    loud = analyze_signal(_loud(rng, 6.0).astype(np.float32), sr=SR, model=model)
    quiet = analyze_signal(_quiet(rng, 6.0).astype(np.float32), sr=SR, model=model)
    assert loud.summary["arousal_mean"] > quiet.summary["arousal_mean"]


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no audio with per-second"):
        find_clips(tmp_path)
    with pytest.raises(ParameterError, match="no such folder"):
        find_clips(tmp_path / "nope")
    assert find_4q(tmp_path) == []
    with pytest.raises(ParameterError, match="no 4Q clips"):
        evaluate_music_emotion(tmp_path)


def test_lag_sweep_finds_the_raters_delay() -> None:
    """Annotations that trail the music by 3 s correlate best at lag 3, not at lag 0."""
    from moodtune.music.emotion import WindowFeatures
    from moodtune.train.music_emotion import ClipData

    rng = np.random.default_rng(0)
    data, preds = [], []
    for k in range(4):
        music = np.cumsum(rng.standard_normal(40))  # what the model hears, second by second
        first = 5
        rated = np.roll(music, 3)[first : first + 30]  # the slider moves 3 s later
        wf = WindowFeatures(
            at=np.arange(40.0),
            vibe=np.zeros((40, 7)),
            view=np.zeros((40, 2)),
            n_seconds=40,
            acoustic=np.zeros((40, 4)),
        )
        data.append(ClipData(f"c{k}", wf, rated, -rated, first))
        preds.append((music, -music))
    rows = lag_sweep(data, preds)
    best = max(rows, key=lambda r: r["arousal_r_mean"])
    assert best["lag_s"] == 3 and best["arousal_r_mean"] == pytest.approx(1.0)
    assert rows[3]["valence_r_median"] == pytest.approx(1.0)
    assert rows[0]["arousal_r_mean"] < 0.9
