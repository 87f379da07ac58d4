from __future__ import annotations

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.recommend import STRATEGIES, TARGET_FEATURES, trajectory, va_to_feature_targets
from moodtune.recommend.reasons import describe_track, mood_word
from moodtune.recommend.strategies import end_point, progress
from moodtune.types import CIRCUMPLEX

# --------------------------------------------------------------------------- targets


def test_feature_targets_known_values():
    neutral = va_to_feature_targets(0.0, 0.0)
    assert neutral == pytest.approx(
        {
            "valence": 0.5,
            "energy": 0.5,
            "tempo": 118.0,
            "loudness": -10.0,
            "acousticness": 0.2375,
            "danceability": 0.55,
            "mode": 0.5,
        }
    )
    sad = va_to_feature_targets(*CIRCUMPLEX["sadness"])
    happy = va_to_feature_targets(*CIRCUMPLEX["happiness"])
    angry = va_to_feature_targets(*CIRCUMPLEX["anger"])
    assert sad["valence"] < 0.2 and happy["valence"] > 0.8
    assert sad["mode"] < 0.5 < happy["mode"]
    assert angry["energy"] > 0.85 and angry["tempo"] > 140 and angry["loudness"] > -6
    assert sad["energy"] < 0.35 and sad["tempo"] < 110 and sad["acousticness"] > 0.4


def test_feature_targets_sit_inside_real_catalog_ranges():
    for v in np.linspace(-1, 1, 9):
        for a in np.linspace(-1, 1, 9):
            t = va_to_feature_targets(v, a)
            assert set(t) == set(TARGET_FEATURES)
            for name in ("valence", "energy", "acousticness", "danceability", "mode"):
                assert 0.0 <= t[name] <= 1.0
            assert 60.0 <= t["tempo"] <= 200.0
            assert -20.0 <= t["loudness"] <= -2.0


@pytest.mark.parametrize("bad", [1.5, -1.01, float("nan"), float("inf"), "high", None])
def test_feature_targets_reject_bad_points(bad):
    with pytest.raises(ParameterError, match="must be"):
        va_to_feature_targets(bad, 0.0)
    with pytest.raises(ParameterError, match="arousal"):
        va_to_feature_targets(0.0, bad)


# --------------------------------------------------------------------------- strategies


def test_match_trajectory_is_constant():
    path = trajectory(-0.5, 0.3, strategy="match", n=7)
    assert path.shape == (7, 2)
    np.testing.assert_allclose(path, np.tile([-0.5, 0.3], (7, 1)))


def test_uplift_from_sad_starts_at_mood_and_rises_in_equal_steps():
    v, a = CIRCUMPLEX["sadness"]
    path = trajectory(v, a, strategy="uplift", n=10)
    np.testing.assert_allclose(path[0], [v, a])
    np.testing.assert_allclose(path[-1], [0.6, 0.1 - 0.35 * a])
    steps = np.diff(path, axis=0)
    np.testing.assert_allclose(steps, np.tile(steps[0], (9, 1)))
    assert np.all(steps[:, 0] > 0) and np.all(steps[:, 1] > 0)  # brighter and livelier


def test_uplift_from_anger_ends_calmer_and_brighter():
    v, a = CIRCUMPLEX["anger"]
    end = end_point(v, a, strategy="uplift")
    assert end[0] >= 0.6 and end[1] < 0.0 < a


def test_uplift_keeps_a_happy_listener_happy():
    v, a = CIRCUMPLEX["happiness"]
    end = end_point(v, a, strategy="uplift")
    assert end[0] == pytest.approx(v)


def test_calm_and_energize_reach_their_targets_half_way():
    calm = trajectory(0.2, 0.6, strategy="calm", n=10)
    assert calm[0, 1] < 0.6  # already one step towards calm
    np.testing.assert_allclose(calm[4:], np.tile([0.2, -0.6], (6, 1)))
    assert np.all(np.diff(calm[:, 1]) <= 1e-12)
    energize = trajectory(-0.3, -0.4, strategy="energize", n=10)
    np.testing.assert_allclose(energize[4:], np.tile([0.5, 0.7], (6, 1)))
    assert np.all(np.diff(energize[:, 1]) >= -1e-12)


def test_single_track_paths():
    assert trajectory(-0.7, -0.4, strategy="uplift", n=1).tolist() == [[-0.7, -0.4]]
    np.testing.assert_allclose(trajectory(0.0, 0.5, strategy="calm", n=1), [[0.2, -0.6]])
    assert progress(1, strategy="energize").tolist() == [1.0]


def test_unknown_strategy_names_valid_ones():
    with pytest.raises(ParameterError) as err:
        trajectory(0.0, 0.0, strategy="happyfy", n=5)
    for name in STRATEGIES:
        assert name in str(err.value)
    assert "happyfy" in str(err.value)


@pytest.mark.parametrize("n", [0, -3, 101, 2.5, "10", True, None])
def test_trajectory_n_out_of_range(n):
    with pytest.raises(ParameterError, match="n="):
        trajectory(0.0, 0.0, strategy="match", n=n)


def test_trajectory_accepts_numpy_integers():
    # numpy integers are accepted at run time, though the signature says int
    n = np.int64(3)
    assert trajectory(0.0, 0.0, strategy="match", n=n).shape == (3, 2)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reasons


def test_mood_words_for_label_points():
    assert mood_word(*CIRCUMPLEX["sadness"]) == "sad"
    assert mood_word(*CIRCUMPLEX["anger"]) == "angry"
    assert mood_word(*CIRCUMPLEX["happiness"]) == "happy"
    assert mood_word(*CIRCUMPLEX["fear"]) == "anxious"
    assert mood_word(0.05, -0.05) == "neutral"


def test_describe_track():
    assert describe_track(valence=0.7, energy=0.3, mode=1, tempo=92.4) == (
        "bright and calm, major key, 92 BPM"
    )
    assert (
        describe_track(valence=0.1, energy=0.9, mode=0, tempo=0.0)
        == "sombre and intense, minor key"
    )
    assert describe_track(
        valence=float("nan"), energy=float("nan"), mode=-1, tempo=float("nan")
    ) == ("a track")
