"""End-to-end training on a tiny synthetic corpus with a cheap stand-in for Whisper."""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import numpy as np
import pytest

from moodtune.speech.emotion import HEAD_FILE, SAMPLES_PER_STATE, SpeakerStats, SpeechEmotionHead
from moodtune.train.speech_emotion import (
    SpeechHeadConfig,
    evaluate_speech_emotion,
    train_speech_emotion,
)
from moodtune.types import LABELS

SR = 16000
SPLITS = {"s1": "train", "s2": "train", "s3": "validation", "s4": "test"}
SPEECH_NAMES = ["angry", "disgust", "fearful", "happy", "sad", "surprised", "calm"]


def _write_wav(path: Path, y: np.ndarray) -> None:
    pcm = (np.clip(y, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SR)
        fh.writeframes(pcm.tobytes())


def _make_corpus(root: Path, rng: np.random.Generator) -> Path:
    """Seven "emotions" 4 semitones apart in pitch; speakers differ in loudness and pitch offset."""
    folder = root / "toy"
    (folder / "audio").mkdir(parents=True)
    rows = []
    t = np.arange(int(0.6 * SR)) / SR
    for s_idx, (spk, split) in enumerate(SPLITS.items()):
        for lab_idx, name in enumerate(SPEECH_NAMES):
            for take in range(3):
                f0 = 110.0 * 2 ** ((lab_idx * 4 + s_idx * 0.3 + rng.uniform(-0.2, 0.2)) / 12)
                y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
                y = (0.1 + 0.05 * s_idx) * y + 0.003 * rng.standard_normal(t.size)
                rel = f"audio/{spk}_{name}_{take}.wav"
                _write_wav(folder / rel, y.astype(np.float32))
                rows.append({"path": rel, "speaker": spk, "emotion": name, "split": split})
    with (folder / "metadata.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "speaker", "emotion", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def _toy_encoder(y: np.ndarray) -> np.ndarray:
    """(T, 512) 'states': a fixed random projection of each 20 ms frame's log spectrum."""
    proj = np.random.default_rng(0).standard_normal((161, 512)) / 10
    n = -(-len(y) // SAMPLES_PER_STATE)
    frames = np.zeros((n, SAMPLES_PER_STATE), dtype=np.float32)
    frames.reshape(-1)[: len(y)] = y
    spec = np.log1p(np.abs(np.fft.rfft(frames, axis=1))[:, :161])
    return np.asarray(spec @ proj, dtype=np.float32)


def test_training_runs_end_to_end(tmp_path, rng):
    data = _make_corpus(tmp_path / "data", rng)
    out = tmp_path / "out"
    cfg = SpeechHeadConfig(n_aug=1, datasets=("toy",), n_chunks=8)
    report = train_speech_emotion(
        data,
        out,
        cache_dir=tmp_path / "cache",
        config=cfg,
        encoder=_toy_encoder,
        encoder_id="toy",
    )
    weights = out / HEAD_FILE
    assert weights.is_file()
    assert (out / "speech_emotion_training.png").stat().st_size > 1000
    assert (out / "speech_emotion_confusion_global.png").stat().st_size > 1000
    assert (out / "speech_emotion_report.json").is_file()
    # The weights are plain arrays.
    with np.load(weights, allow_pickle=False) as npz:
        assert tuple(npz["labels"]) == LABELS
    metrics = report["datasets"]["toy"]
    assert set(metrics) >= {"global", "speaker_all", "speaker_history_5", "speaker_history_10"}
    # Seven separable tones: far above chance (1/7).
    assert metrics["global"]["uar"] > 0.6
    assert metrics["speaker_all"]["uar"] > 0.6
    assert report["config"]["train_rows"] == 2 * 2 * 7 * 3  # two speakers, one augmented copy

    head = SpeechEmotionHead.load(weights)
    y = np.sin(2 * np.pi * 150 * np.arange(SR) / SR).astype(np.float32) * 0.2
    est = head.predict(_toy_encoder(y), y)
    assert est.source == "voice"
    assert est.probabilities.shape == (7,)
    assert est.probabilities.sum() == pytest.approx(1.0)
    stats = SpeakerStats()
    for k in range(head.min_speaker_count):
        yk = (y * (1 + 0.1 * k)).astype(np.float32)
        stats.update(head.features(_toy_encoder(yk), yk))
    assert head.predict(_toy_encoder(y), y, speaker_stats=stats).probabilities.sum() == (
        pytest.approx(1.0)
    )

    # Re-evaluation reads the cache: an encoder that fails proves nothing is re-encoded.
    def broken(y: np.ndarray) -> np.ndarray:
        raise AssertionError("features should come from the cache")

    again = evaluate_speech_emotion(
        data,
        weights,
        tmp_path / "again",
        cache_dir=tmp_path / "cache",
        encoder=broken,
        encoder_id="toy",
        datasets=("toy",),
    )
    assert again["datasets"]["toy"]["global"] == metrics["global"]


def test_clips_without_speech_are_skipped_not_fatal(tmp_path, rng):
    from moodtune.errors import NoSpeechError
    from moodtune.train.speech_data import load_clips
    from moodtune.train.speech_emotion import extract_features

    data = _make_corpus(tmp_path / "data", rng)
    clips = load_clips(data, datasets=("toy",))[:2]

    def silent(y: np.ndarray) -> np.ndarray:
        raise NoSpeechError("no speech found")

    table = extract_features(clips, cache_dir=tmp_path / "c", encoder=silent, encoder_id="x")
    assert len(table) == 0
    assert table.matrix(use_prosody=True).shape[0] == 0


def test_expected_calibration_error_known_answer():
    from moodtune.train.speech_emotion import expected_calibration_error

    sure = np.eye(7)[[0, 1, 2]]
    assert expected_calibration_error(sure, np.array([0, 1, 2])) == pytest.approx(0.0)
    half = np.full((4, 7), 0.5 / 6)
    half[:, 0] = 0.5
    # always right at confidence 0.5: |1 - 0.5|
    assert expected_calibration_error(half, np.zeros(4, dtype=int)) == pytest.approx(0.5)
