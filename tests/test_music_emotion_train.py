"""Train/evaluate the music emotion calibration on a tiny synthetic corpus in moodtune's layout."""

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
from moodtune.train.music_emotion import evaluate_music_emotion, find_clips, train_music_emotion

SR = 16000


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(3)
    folder = root / "toyset"
    (folder / "audio").mkdir(parents=True)
    rows = []
    for i, level in enumerate([0.02, 0.05, 0.1, 0.2, 0.4]):
        seconds = 10
        t = np.arange(seconds * SR) / SR
        ramp = np.linspace(0.3, 1.0, t.size)
        y = level * ramp * rng.standard_normal(t.size)
        (folder / "audio" / f"{i}.wav").write_bytes(encode_audio(y, sr=SR, fmt="wav"))
        for ts in np.arange(2.0, 9.01, 0.5):
            a = -0.8 + 0.35 * i + 0.05 * ts / 9
            rows.append([i, ts, a, 0.1 * i - 0.2, a, 0.1 * i - 0.2])
    with (folder / "annotations_dynamic.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["song_id", "time_s", "arousal", "valence", "arousal_norm", "valence_norm"])
        w.writerows(rows)
    return root


def test_train_and_evaluate_on_tiny_corpus(tmp_path: Path) -> None:
    data = _corpus(tmp_path / "data")
    clips = find_clips(data)
    assert [c.clip_id for c in clips] == [f"toyset/{i}" for i in range(5)]
    card = train_music_emotion(data, tmp_path / "out" / "me.npz")
    assert card["n_seconds"] > 0
    assert json.loads((tmp_path / "out" / "me.json").read_text())["clips"] == card["clips"]
    model = EmotionModel.load(tmp_path / "out" / "me.npz")
    assert model.coef[0, model.descriptors.index("level_db")] > 0
    res = evaluate_music_emotion(data, tmp_path / "rep", alpha=1.0)
    assert res["n_clips"] == 5
    s = res["calibrated"]["summary"]["arousal"]
    assert math.isfinite(s["rmse_mean"]) and s["clip_mean_r2"] > 0.5  # level explains arousal
    assert s["clip_mean_pearson_r"] > 0.9
    assert (tmp_path / "rep" / "music_emotion_eval.md").read_text().count("|") > 20
    assert res["anchors"]["mediaeval2015_best_dynamic_rmse"]["arousal"] == 0.202


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no audio with per-second"):
        find_clips(tmp_path)
    with pytest.raises(ParameterError, match="no such folder"):
        find_clips(tmp_path / "nope")
