from __future__ import annotations

import json

import numpy as np
import pytest

from moodtune.errors import ModelError, ParameterError
from moodtune.fusion import (
    FusionParams,
    fuse,
    fuse_arrays,
    is_unsure,
    load_fusion_params,
    voice_unsure_threshold,
)
from moodtune.train.fusion_tune import tune_fusion
from moodtune.types import LABELS, EmotionEstimate

EQUAL = FusionParams(voice_weight=1.0, text_weight=1.0, gamma=1.0)


def est(label: str, p: float, source: str) -> EmotionEstimate:
    probs = np.full(7, (1 - p) / 6)
    probs[LABELS.index(label)] = p
    return EmotionEstimate.from_probabilities(probs, source=source)


def test_single_source_passes_through_and_keeps_part():
    voice = est("anger", 0.6, "voice")
    out = fuse(voice, None, params=EQUAL)
    assert out.source == "fused"
    assert out.label == "anger"
    np.testing.assert_allclose(out.probabilities, voice.probabilities)
    assert set(out.parts) == {"voice"}
    assert out.confidence == pytest.approx(voice.confidence)


def test_text_only_keeps_text_part():
    out = fuse(None, est("sadness", 0.9, "text"), params=EQUAL)
    assert set(out.parts) == {"text"} and out.label == "sadness"


def test_nothing_to_fuse():
    with pytest.raises(ParameterError, match="nothing to fuse"):
        fuse(None, None)


def test_agreeing_sources_stay_on_label():
    out = fuse(est("happiness", 0.6, "voice"), est("happiness", 0.7, "text"), params=EQUAL)
    assert out.label == "happiness"
    assert set(out.parts) == {"voice", "text"}


def test_confident_source_wins():
    sure_text = est("sadness", 0.95, "text")
    unsure_voice = est("anger", 0.3, "voice")
    assert fuse(unsure_voice, sure_text, params=EQUAL).label == "sadness"
    sure_voice = est("anger", 0.95, "voice")
    unsure_text = est("sadness", 0.3, "text")
    assert fuse(sure_voice, unsure_text, params=EQUAL).label == "anger"


def test_prior_weight_tips_a_tie():
    voice, text = est("anger", 0.7, "voice"), est("sadness", 0.7, "text")
    assert fuse(voice, text, params=FusionParams(1.0, 3.0, 1.0)).label == "sadness"
    assert fuse(voice, text, params=FusionParams(3.0, 1.0, 1.0)).label == "anger"


def test_fused_valence_between_parts():
    voice, text = est("happiness", 0.8, "voice"), est("sadness", 0.8, "text")
    out = fuse(voice, text, params=EQUAL)
    lo, hi = sorted([voice.valence, text.valence])
    assert lo <= out.valence <= hi


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_params_validated(bad):
    with pytest.raises(ParameterError):
        FusionParams(voice_weight=bad)


def test_tune_recovers_the_informative_source(rng):
    n = 600
    y = rng.integers(0, 7, n)

    # both equally sure; text is right 80% of the time, voice 30%: only the prior differs
    def peaked(accuracy: float) -> np.ndarray:
        p = np.full((n, 7), 0.02)
        guess = np.where(rng.random(n) < accuracy, y, rng.integers(0, 7, n))
        p[np.arange(n), guess] = 0.88
        return p

    p_text, p_voice = peaked(0.8), peaked(0.3)
    params, report = tune_fusion(p_voice, p_text, y)
    assert params.text_weight > params.voice_weight
    assert report["fused"]["macro_f1"] >= report["voice_only"]["macro_f1"] + 0.3
    assert report["fused"]["macro_f1"] >= report["text_only"]["macro_f1"] - 0.01
    assert report["fused"]["macro_f1"] == pytest.approx(report["best_macro_f1"], abs=1e-3)


def test_fuse_arrays_rows_sum_to_one(rng):
    p = rng.dirichlet(np.ones(7), (2, 50))
    out = fuse_arrays(p[0], p[1], rng.random(50), rng.random(50), EQUAL)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_load_params_from_file(tmp_path):
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"params": {"voice_weight": 1, "text_weight": 2, "gamma": 0.5}}))
    assert load_fusion_params(path) == FusionParams(1, 2, 0.5)
    path.write_text("{}")
    with pytest.raises(ModelError, match="cannot read fusion"):
        load_fusion_params(path)


def test_shipped_params_load():
    params = load_fusion_params()
    assert params.voice_weight >= 0 and params.text_weight >= 0


GATED = FusionParams(voice_weight=1.0, text_weight=1.0, gamma=0.0, voice_unsure=0.3, text_clear=0.6)


def test_clear_words_decide_over_an_unsure_voice():
    words = est("anger", 0.7, "text")  # clear: top probability 0.7 >= 0.6
    voice = est("neutral", 0.35, "voice")  # unsure: confidence well below 0.3
    assert voice.confidence < GATED.voice_unsure
    out = fuse(voice, words, params=GATED)
    assert out.label == "anger"
    np.testing.assert_allclose(out.probabilities, words.probabilities)
    # without the gate the same pair is a near tie that pooling may give to the voice
    plain = FusionParams(voice_weight=4.0, text_weight=1.0, gamma=0.0)
    assert fuse(voice, words, params=plain).label == "neutral"


def test_a_sure_voice_still_counts_against_clear_words():
    words = est("anger", 0.7, "text")
    voice = est("sadness", 0.97, "voice")
    assert voice.confidence >= GATED.voice_unsure
    assert fuse(voice, words, params=GATED).label == "sadness"


def test_unclear_words_and_unsure_voice_are_unsure():
    voice, words = est("fear", 0.3, "voice"), est("sadness", 0.4, "text")
    out = fuse(voice, words, params=GATED)
    assert is_unsure(voice, params=GATED) and is_unsure(words, params=GATED)
    assert is_unsure(out, params=GATED)
    sure = fuse(voice, est("sadness", 0.9, "text"), params=GATED)
    assert not is_unsure(sure, params=GATED)
    assert not is_unsure(est("fear", 0.99, "voice"), params=GATED)
    # a typed text alone is never called unsure here: only voice messages are
    assert not is_unsure(fuse(None, words, params=GATED), params=GATED)


def test_gate_is_vectorised_row_by_row():
    pv = np.array([[0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]] * 2)
    pt = np.array([[0.05, 0.05, 0.05, 0.05, 0.7, 0.05, 0.05]] * 2)
    out = fuse_arrays(pv, pt, np.array([0.1, 0.9]), np.array([0.5, 0.5]), GATED)
    np.testing.assert_allclose(out[0], pt[0])  # voice unsure: the words
    assert not np.allclose(out[1], pt[1])  # voice sure: pooled


def test_voice_unsure_threshold_known_answer():
    # 40 confident right answers, then 60 flat wrong ones: the threshold sits at the
    # confidence of the least confident of the right ones
    y = np.zeros(100, dtype=int)
    p = np.zeros((100, 7))
    p[:40] = est("anger", 0.9, "voice").probabilities
    p[40:] = est("fear", 0.3, "voice").probabilities
    t = voice_unsure_threshold(p, y)
    assert t == pytest.approx(est("anger", 0.9, "voice").confidence)
    assert voice_unsure_threshold(p[40:], y[40:]) == 1.0  # never right: always unsure


def test_shipped_params_gate_the_voice():
    params = load_fusion_params()
    assert 0.0 < params.voice_unsure <= 1.0
    assert params.text_clear <= 1.0


def test_a_confidently_neutral_transcript_does_not_silence_the_voice():
    # acted corpora say neutral sentences in every emotion: neutral words name no emotion
    words = est("neutral", 0.9, "text")
    voice = est("anger", 0.5, "voice")
    assert voice.confidence < GATED.voice_unsure
    out = fuse(voice, words, params=GATED)
    assert not np.allclose(out.probabilities, words.probabilities)
    assert out.probabilities[LABELS.index("anger")] > words.probabilities[LABELS.index("anger")]
