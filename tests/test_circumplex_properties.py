"""Property tests of the circumplex mapping (moodtune.types) and of va_to_feature_targets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodtune.errors import ParameterError
from moodtune.recommend import trajectory, va_to_feature_targets
from moodtune.types import (
    CIRCUMPLEX,
    LABELS,
    EmotionEstimate,
    normalized_entropy_confidence,
    probabilities_to_valence_arousal,
)

coordinate = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
weights = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=len(LABELS),
    max_size=len(LABELS),
).filter(lambda w: sum(w) > 1e-9)


@given(weights)
def test_probabilities_map_inside_the_square(w):
    p = np.array(w) / np.sum(w)
    v, a = probabilities_to_valence_arousal(p)
    assert -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0
    # a blend of points on a circle of radius 0.8 stays inside that circle
    assert np.hypot(v, a) <= 0.8 + 1e-9


@given(st.sampled_from(LABELS))
def test_one_hot_gives_the_label_coordinates(label):
    p = np.zeros(len(LABELS))
    p[LABELS.index(label)] = 1.0
    est = EmotionEstimate.from_probabilities(p)
    assert est.label == label
    assert (est.valence, est.arousal) == pytest.approx(CIRCUMPLEX[label])
    assert est.confidence == pytest.approx(1.0, abs=1e-6)


@given(weights)
def test_from_probabilities_normalises(w):
    est = EmotionEstimate.from_probabilities(w)
    assert est.probabilities.sum() == pytest.approx(1.0)
    assert np.all(est.probabilities >= 0)
    assert 0.0 <= est.confidence <= 1.0
    assert -1.0 <= est.valence <= 1.0 and -1.0 <= est.arousal <= 1.0
    scaled = EmotionEstimate.from_probabilities(np.array(w) * 3.5)
    np.testing.assert_allclose(scaled.probabilities, est.probabilities)
    assert scaled.valence == pytest.approx(est.valence, abs=1e-12)


@given(weights)
def test_confidence_in_unit_interval(w):
    assert 0.0 <= normalized_entropy_confidence(w) <= 1.0


def test_uniform_distribution_has_zero_confidence():
    assert normalized_entropy_confidence(np.full(len(LABELS), 1 / 7)) == pytest.approx(
        0.0, abs=1e-9
    )


@pytest.mark.parametrize(
    "bad", [[0.5] * 6, [-0.1] + [0.2] * 6, [float("nan")] + [0.1] * 6, [0.0] * 7]
)
def test_from_probabilities_rejects_bad_input(bad):
    with pytest.raises(ParameterError):
        EmotionEstimate.from_probabilities(bad)


# --------------------------------------------------------------------------- feature targets


@given(coordinate, coordinate)
def test_feature_targets_in_range(v, a):
    t = va_to_feature_targets(v, a)
    for name in ("valence", "energy", "acousticness", "danceability", "mode"):
        assert 0.0 <= t[name] <= 1.0
    assert 86.0 - 1e-9 <= t["tempo"] <= 150.0 + 1e-9
    assert -17.0 <= t["loudness"] <= -3.0


@given(coordinate, coordinate, coordinate)
def test_more_valence_never_lowers_target_valence(v1, v2, a):
    lo, hi = sorted((v1, v2))
    t_lo, t_hi = va_to_feature_targets(lo, a), va_to_feature_targets(hi, a)
    assert t_hi["valence"] >= t_lo["valence"]
    assert t_hi["mode"] >= t_lo["mode"]
    assert t_hi["danceability"] >= t_lo["danceability"]


@given(coordinate, coordinate, coordinate)
def test_more_arousal_raises_energy_tempo_loudness(a1, a2, v):
    lo, hi = sorted((a1, a2))
    t_lo, t_hi = va_to_feature_targets(v, lo), va_to_feature_targets(v, hi)
    assert t_hi["energy"] >= t_lo["energy"]
    assert t_hi["tempo"] >= t_lo["tempo"]
    assert t_hi["loudness"] >= t_lo["loudness"]
    assert t_hi["acousticness"] <= t_lo["acousticness"]
    if hi - lo > 1e-6:
        assert t_hi["tempo"] > t_lo["tempo"]


@settings(max_examples=60)
@given(
    coordinate,
    coordinate,
    st.sampled_from(["match", "uplift", "calm", "energize"]),
    st.integers(min_value=1, max_value=100),
)
def test_trajectories_stay_in_the_square_and_never_darken(v, a, strategy, n):
    path = trajectory(v, a, strategy=strategy, n=n)
    assert path.shape == (n, 2)
    assert np.all(np.abs(path) <= 1.0)
    if strategy != "match":
        # no strategy moves the listener towards less pleasant music
        assert np.all(np.diff(path[:, 0]) >= -1e-12)
    if strategy == "calm":
        assert np.all(np.diff(path[:, 1]) <= 1e-12)
    if strategy == "energize":
        assert np.all(np.diff(path[:, 1]) >= -1e-12)
