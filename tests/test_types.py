from __future__ import annotations

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.types import CIRCUMPLEX, LABELS, EmotionEstimate, canonical_label


def test_seven_labels():
    assert LABELS == ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")


def test_circumplex_quadrants():
    assert CIRCUMPLEX["happiness"][0] > 0.5
    assert CIRCUMPLEX["sadness"][0] < 0 and CIRCUMPLEX["sadness"][1] < 0
    assert CIRCUMPLEX["anger"][1] > 0.5 and CIRCUMPLEX["fear"][0] < 0
    assert CIRCUMPLEX["neutral"] == (0.0, 0.0)


@pytest.mark.parametrize(
    ("name", "label"), [("calm", "neutral"), ("Angry", "anger"), ("no_emotion", "neutral")]
)
def test_canonical_label(name, label):
    assert canonical_label(name) == label


def test_canonical_label_unknown():
    with pytest.raises(ParameterError, match="'boredom' is unknown"):
        canonical_label("boredom")


def test_estimate_to_dict_shape():
    est = EmotionEstimate.from_probabilities([0, 0, 0, 2, 0, 0, 0])
    d = est.to_dict()
    assert d["label"] == "happiness"
    assert set(d["probabilities"]) == set(LABELS)
    assert d["confidence"] == pytest.approx(1.0, abs=1e-3)
    assert d["valence"] == pytest.approx(CIRCUMPLEX["happiness"][0], abs=1e-3)


@pytest.mark.parametrize("bad", [[1, 2], [np.nan] * 7, [-1, 0, 0, 0, 0, 0, 2], [0] * 7])
def test_estimate_rejects_bad_probabilities(bad):
    with pytest.raises(ParameterError):
        EmotionEstimate.from_probabilities(bad)
