from __future__ import annotations

import json

import numpy as np
import pytest

from moodtune.errors import ModelError, ParameterError
from moodtune.fusion import FusionParams, fuse, fuse_arrays, load_fusion_params, tune_fusion
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
