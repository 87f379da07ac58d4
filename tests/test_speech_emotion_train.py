"""End-to-end training on a tiny synthetic corpus with a cheap stand-in for Whisper."""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import numpy as np
import pytest

from moodtune.speech.emotion import HEAD_FILE, SAMPLES_PER_STATE, SpeakerStats, SpeechEmotionHead
from moodtune.train.speech_emotion import (
    FeatureTable,
    SpeechHeadConfig,
    _first_message_classifier,
    evaluate_speech_emotion,
    head_matrix,
    history_normalise,
    pooled_label_weights,
    sample_weights,
    speaker_subspace,
    train_speech_emotion,
)
from moodtune.types import LABELS

SR = 16000
SPLITS = {"s1": "train", "s2": "train", "s3": "validation", "s4": "test"}
SPEECH_NAMES = ["angry", "disgust", "fearful", "happy", "sad", "surprised", "calm"]
TOYS = ("toya", "toyb", "toyc")


def _write_wav(path: Path, y: np.ndarray) -> None:
    pcm = (np.clip(y, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SR)
        fh.writeframes(pcm.tobytes())


def _make_corpus(root: Path, rng: np.random.Generator, name: str = "toy", shift: float = 0.0):
    """Seven "emotions" 4 semitones apart in pitch; speakers differ in loudness and pitch.

    ``shift`` moves the whole corpus in pitch (a different "language" or microphone).
    """
    folder = root / name
    (folder / "audio").mkdir(parents=True)
    rows = []
    t = np.arange(int(0.6 * SR)) / SR
    for s_idx, (spk, split) in enumerate(SPLITS.items()):
        for lab_idx, emo in enumerate(SPEECH_NAMES):
            for take in range(3):
                semis = lab_idx * 4 + s_idx * 0.3 + shift + rng.uniform(-0.2, 0.2)
                f0 = 110.0 * 2 ** (semis / 12)
                y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
                y = (0.1 + 0.05 * s_idx) * y + 0.003 * rng.standard_normal(t.size)
                rel = f"audio/{spk}_{emo}_{take}.wav"
                _write_wav(folder / rel, y.astype(np.float32))
                rows.append({"path": rel, "speaker": spk, "emotion": emo, "split": split})
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


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech_data")
    rng = np.random.default_rng(5)
    for k, name in enumerate(TOYS):
        _make_corpus(root, rng, name, shift=0.5 * k)
    return root


@pytest.mark.slow
def test_training_runs_end_to_end_with_loco(tmp_path, toy_data):
    out = tmp_path / "out"
    cfg = SpeechHeadConfig(n_aug=1, aug_sets=TOYS, datasets=TOYS, C=0.1, ood_components=8)
    report = train_speech_emotion(
        toy_data, out, cache_dir=tmp_path / "cache", config=cfg, encoder=_toy_encoder,
        encoder_id="toy",
    )  # fmt: skip
    weights = out / HEAD_FILE
    assert weights.is_file()
    assert (out / "speech_emotion_report.json").is_file()
    with np.load(weights, allow_pickle=False) as npz:
        assert tuple(npz["labels"]) == LABELS
        assert all(npz[k].dtype != object for k in npz.files)
    # every corpus held out once, scored in every history mode
    assert set(report["loco"]) == set(TOYS)
    for name in TOYS:
        assert set(report["loco"][name]) == {"first", "history_10", "speaker_all"}
        m = report["loco"][name]["first"]
        # seven tones a few semitones apart carry over to a corpus shifted by half a tone
        assert m["uar"] > 0.5, (name, m)
        assert m["arousal_uar"] > 0.5 and 0.0 <= m["ece"] <= 1.0
    assert set(report["in_corpus"]) == set(TOYS)
    assert report["train_rows"] == 3 * 4 * 7 * 3 * 2  # four speakers, one augmented copy
    # the held-out predictions for fusion tuning: one row per clean clip
    with np.load(out / "speech_emotion_loco_predictions.npz", allow_pickle=False) as npz:
        assert npz["probabilities"].shape == (3 * 4 * 7 * 3, 7)
        np.testing.assert_allclose(npz["probabilities"].sum(axis=1), 1.0)

    head = SpeechEmotionHead.load(weights)
    y = np.sin(2 * np.pi * 150 * np.arange(SR) / SR).astype(np.float32) * 0.2
    est = head.predict(_toy_encoder(y), y)
    assert est.source == "voice"
    assert est.probabilities.sum() == pytest.approx(1.0)
    assert -1.0 <= est.valence <= 1.0 and -1.0 <= est.arousal <= 1.0
    stats = SpeakerStats()
    for k in range(3):
        yk = (y * (1 + 0.1 * k)).astype(np.float32)
        stats.update(head.features(_toy_encoder(yk), yk))
    with_stats = head.predict(_toy_encoder(y), y, speaker_stats=stats)
    assert with_stats.probabilities.sum() == pytest.approx(1.0)
    x = head.features(_toy_encoder(y), y)
    assert not np.allclose(head.normalise(x, speaker_stats=stats), head.normalise(x))

    # Re-evaluation reads the cache: an encoder that fails proves nothing is re-encoded.
    def broken(y: np.ndarray) -> np.ndarray:
        raise AssertionError("features should come from the cache")

    again = evaluate_speech_emotion(
        toy_data, weights, tmp_path / "again", cache_dir=tmp_path / "cache", encoder=broken,
        encoder_id="toy", datasets=TOYS,
    )  # fmt: skip
    assert set(again["datasets"]) == set(TOYS)
    assert again["datasets"]["toya"]["first"]["n"] == 7 * 3  # the test speaker's clips


def test_history_normalise_matches_speaker_stats(rng):
    X = rng.normal(2.0, 3.0, size=(12, 5))
    groups = np.array(["a"] * 6 + ["b"] * 6)
    pop_mean, pop_var = np.zeros(5), np.ones(5)
    Z, idx = history_normalise(
        X, groups, pop_mean, pop_var, shrink=2.0, sizes=(-1,), draws=1, rng=rng
    )
    stats = SpeakerStats()
    stats.update(X[:6])
    expected = stats.normalise(X[0], global_mean=pop_mean, global_var=pop_var, shrink=2.0)
    np.testing.assert_allclose(Z[0], expected)
    np.testing.assert_array_equal(idx, np.arange(12))


def test_first_message_is_a_scaled_population_z_score(toy_data, tmp_path):
    """One message, no history: normalise() equals SpeakerStats with that message only."""
    out = tmp_path / "out"
    cfg = SpeechHeadConfig(datasets=TOYS[:2], C=0.1, ood_components=4)
    train_speech_emotion(
        toy_data, out, cache_dir=tmp_path / "c", config=cfg, encoder=_toy_encoder,
        encoder_id="toy",
    )  # fmt: skip
    head = SpeechEmotionHead.load(out / HEAD_FILE)
    x = head.pop_mean + np.sqrt(head.pop_var)
    stats = SpeakerStats()
    stats.update(x)
    np.testing.assert_allclose(head.normalise(x), head.normalise(x, speaker_stats=stats))
    # stats of another width (an older head's) are ignored, not an error
    old = SpeakerStats()
    old.update(np.ones(3))
    np.testing.assert_allclose(head.normalise(x, speaker_stats=old), head.normalise(x))


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
    assert head_matrix(table, SpeechHeadConfig()).shape[0] == 0


def test_expected_calibration_error_known_answer():
    from moodtune.train.speech_emotion import expected_calibration_error

    sure = np.eye(7)[[0, 1, 2]]
    assert expected_calibration_error(sure, np.array([0, 1, 2])) == pytest.approx(0.0)
    half = np.full((4, 7), 0.5 / 6)
    half[:, 0] = 0.5
    # always right at confidence 0.5: |1 - 0.5|
    assert expected_calibration_error(half, np.zeros(4, dtype=int)) == pytest.approx(0.5)


def _label_table(labels: list[int], datasets: list[str]) -> FeatureTable:
    n = len(labels)
    text = np.array(["x"] * n)
    return FeatureTable(
        np.zeros((n, 1024)), np.zeros((n, 3)), np.asarray(labels), text,
        np.asarray(datasets), np.array(["orig"] * n), text, text,
    )  # fmt: skip


def test_pooled_label_weights_count_every_label_the_same():
    """Surprise in one corpus only weighs as much as anger in two (per-corpus balance
    gives it half as much)."""
    labels = [0] * 10 + [5] * 2 + [0] * 3 + [4] * 9
    datasets = ["a"] * 12 + ["b"] * 12
    table = _label_table(labels, datasets)
    y, d = table.labels, table.datasets
    w = pooled_label_weights(table)
    assert w.mean() == pytest.approx(1.0)
    totals = {lab: w[y == lab].sum() for lab in (0, 4, 5)}
    assert max(totals.values()) == pytest.approx(min(totals.values()))
    # inside a label, each corpus that has it gets the same share
    assert w[(y == 0) & (d == "a")].sum() == pytest.approx(w[(y == 0) & (d == "b")].sum())
    old = sample_weights(table)
    assert old[y == 5].sum() < 0.75 * old[y == 0].sum()


def test_speaker_subspace_finds_a_planted_speaker_direction(rng):
    d = 20
    direction = np.zeros(d)
    direction[3] = 1.0
    speakers = np.repeat(np.arange(8), 14).astype(str)
    labels = np.tile(np.repeat(np.arange(7), 2), 8)
    offsets = rng.normal(0, 4.0, 8)[speakers.astype(int)]
    X = rng.normal(0, 0.3, (len(labels), d)) + offsets[:, None] * direction
    X[:, 7] += labels  # the emotion lives elsewhere
    U = speaker_subspace(X, labels, speakers, np.zeros(d), np.ones(d), 1)
    assert U.shape == (d, 1)
    assert abs(U[3, 0]) > 0.95  # the speaker direction
    assert abs(U[7, 0]) < 0.2  # not the emotion: speakers' means balance their labels
    assert speaker_subspace(X, labels, speakers, np.zeros(d), np.ones(d), 50).shape == (d, 7)


def test_first_message_classifier_folds_the_projection_into_its_weights(rng):
    """f_W/f_b on standardised rows reproduce the logistic fitted on projected rows."""
    n, d = 40, 6
    Z = rng.standard_normal((n, d))
    y = np.arange(n) % 7
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0]
    c_mean, c_scale = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
    seen = {}

    def fake_fit(Zp, labels, w):
        seen["Zp"] = Zp
        seen["fit"] = (
            Zp.mean(axis=0),
            Zp.std(axis=0) + 1e-6,
            rng.standard_normal((d, 7)),
            rng.standard_normal(7),
        )
        return seen["fit"]

    out = _first_message_classifier(
        Z, y, np.ones(n), U=U, c_mean=c_mean, c_scale=c_scale, fit=fake_fit
    )
    p_mean, p_scale, W1, b1 = seen["fit"]
    np.testing.assert_allclose(seen["Zp"] @ U, 0.0, atol=1e-10)  # fitted on projected rows
    direct = ((Z - Z @ U @ U.T) - p_mean) / p_scale @ W1 + b1
    folded = (Z - c_mean) / c_scale @ out["f_W"] + out["f_b"]
    np.testing.assert_allclose(folded, direct, atol=1e-9)
    np.testing.assert_array_equal(out["meta_first_nap"], U)


def test_feature_cache_survives_a_copy_of_the_data_and_follows_its_content(tmp_path, rng):
    """The cache is keyed by a clip's bytes: a copied corpus (new paths, new mtimes) is not
    re-encoded, while a clip whose audio changed is."""
    import shutil

    from moodtune.train.speech_data import load_clips
    from moodtune.train.speech_emotion import extract_features

    data = _make_corpus(tmp_path / "data", rng)
    clips = load_clips(data, datasets=("toy",))[:3]
    calls: list[int] = []

    def counting(y: np.ndarray) -> np.ndarray:
        calls.append(len(y))
        return _toy_encoder(y)

    first = extract_features(clips, cache_dir=tmp_path / "c", encoder=counting, encoder_id="x")
    assert len(calls) == 3
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)  # new paths and new modification times
    copied = load_clips(copy, datasets=("toy",))[:3]
    again = extract_features(copied, cache_dir=tmp_path / "c", encoder=counting, encoder_id="x")
    assert len(calls) == 3, "a copy of the same audio was encoded again"
    assert np.array_equal(first.pooled, again.pooled)
    _write_wav(copied[0].path, 0.2 * rng.standard_normal(int(0.6 * SR)).astype(np.float32))
    extract_features(copied, cache_dir=tmp_path / "c", encoder=counting, encoder_id="x")
    assert len(calls) == 4, "a clip whose audio changed must be encoded again"


def test_feature_cache_written_under_the_old_key_is_still_read(tmp_path, rng):
    from moodtune.train.speech_data import _legacy_cache_key, clip_features, load_clips

    data = _make_corpus(tmp_path / "data", rng)
    clip = load_clips(data, datasets=("toy",))[0]
    cache = tmp_path / "c"
    cache.mkdir()
    old = {"pooled": np.arange(1024, dtype=np.float32), "prosody": np.ones(3, np.float32)}
    legacy = cache / f"{_legacy_cache_key(clip.path, 'orig', 'x')}.npz"
    np.savez(legacy, pooled=old["pooled"], prosody=old["prosody"])

    def broken(y: np.ndarray) -> np.ndarray:
        raise AssertionError("an old cache entry should have been read")

    got = clip_features(clip, cache_dir=cache, encoder=broken, encoder_id="x")
    assert np.array_equal(got["pooled"], old["pooled"])
    got = clip_features(clip, cache_dir=cache, encoder=broken, encoder_id="x")  # now new key
    assert np.array_equal(got["prosody"], old["prosody"])
