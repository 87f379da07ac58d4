from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodtune.errors import InputTooLargeError, ModelError, ParameterError
from moodtune.text import available_backends, clean_text, get_backend
from moodtune.text.head import MLPHead
from moodtune.text.lang import detect_language
from moodtune.types import LABELS

DATA = Path(__file__).parent / "data" / "text_emotion"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Мне очень грустно и одиноко", "ru"),
        ("I feel sad and lonely", "en"),
        ("Сегодня OK, но грустно", "ru"),
        ("😀 123 !!!", "unknown"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_clean_text_collapses_whitespace():
    assert clean_text("  I   feel\n\tfine ") == "I feel fine"


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_clean_text_refuses_empty(bad):
    with pytest.raises(ParameterError, match="empty"):
        clean_text(bad)


def test_clean_text_refuses_too_long():
    with pytest.raises(InputTooLargeError, match="over the limit of 10"):
        clean_text("x" * 11, max_chars=10)


def test_unknown_backend_lists_available():
    with pytest.raises(ParameterError, match="available: .*e5"):
        get_backend("nope")
    assert "e5" in available_backends()


def _linear_head(d: int = 4) -> dict[str, np.ndarray]:
    W2 = np.zeros((d, 7), dtype=np.float32)
    for i in range(d):
        W2[i, i] = 5.0
    return {
        "labels": np.array(LABELS),
        "mean": np.zeros(d, np.float32),
        "scale": np.ones(d, np.float32),
        "W2": W2,
        "b2": np.zeros(7, np.float32),
        "temperature": np.float32(1.0),
    }


def test_head_known_answer_and_roundtrip(tmp_path):
    arrays = _linear_head()
    path = tmp_path / "head.npz"
    np.savez(path, **arrays)
    head = MLPHead.load(path)
    probs = head.predict_proba(np.eye(4, dtype=np.float32))
    assert probs.shape == (4, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert list(probs.argmax(axis=1)) == [0, 1, 2, 3]


def test_head_temperature_flattens():
    arrays = _linear_head()
    sharp = MLPHead(arrays).predict_proba(np.eye(4)[:1])
    arrays["temperature"] = np.float32(10.0)
    flat = MLPHead(arrays).predict_proba(np.eye(4)[:1])
    assert flat.max() < sharp.max()


def test_head_rejects_wrong_labels(tmp_path):
    arrays = _linear_head()
    arrays["labels"] = np.array(list(reversed(LABELS)))
    with pytest.raises(ModelError, match="labels"):
        MLPHead(arrays)


def test_head_missing_file_is_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        MLPHead.load(tmp_path / "nope.npz")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I am so happy today, everything is wonderful!", "happiness"),
        ("I feel so sad and lonely, I miss her terribly.", "sadness"),
        ("I am furious, this is outrageous and I hate it!", "anger"),
        ("I am terrified, something awful is going to happen.", "fear"),
        ("Мне очень грустно и одиноко.", "sadness"),
        ("Я так счастлива, сегодня прекрасный день!", "happiness"),
        ("Я в бешенстве, это возмутительно!", "anger"),
        ("Мне страшно, я боюсь, что случится беда.", "fear"),
    ],
)
def test_shipped_head_classifies_clear_sentences(text, label):
    est = get_backend("e5").predict(text)
    assert est.label == label, est.probability_dict()
    assert 0.0 <= est.confidence <= 1.0
    assert est.source == "text"


@pytest.mark.slow
def test_shipped_head_valence_order():
    backend = get_backend("e5")
    happy, sad = backend.predict_batch(["What a wonderful, joyful day!", "I am miserable and sad."])
    assert happy.valence > 0.2 > -0.2 > sad.valence


@pytest.mark.slow
def test_training_pipeline_end_to_end(tmp_path):
    from moodtune.train.text_emotion import TextHeadConfig, train_text_emotion

    report = train_text_emotion(
        DATA, tmp_path, cache_dir=tmp_path / "cache", config=TextHeadConfig(hidden=16, max_iter=30)
    )
    head = MLPHead.load(tmp_path / "text_emotion_head.npz")
    assert head.input_dim == 384
    assert set(report["datasets"]) == {
        "cedr",
        "goemotions",
        "ru_go_emotions",
        "ru_izard_emotions",
        "dair_emotion",
    }
    for metrics in report["datasets"].values():
        assert 0.0 <= metrics["macro_f1"] <= 1.0
    # the held-out fixture sentences are near-copies of the training ones: far above chance
    assert report["languages"]["en"]["accuracy"] > 0.5
    assert (tmp_path / "text_emotion_confusion.png").stat().st_size > 10_000
    assert (tmp_path / "text_emotion_training.png").stat().st_size > 5_000
    assert list((tmp_path / "cache").glob("e5-*.npy"))
