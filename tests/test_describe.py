"""The deterministic track description (moodtune.music.describe) on known curve shapes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.music.describe import describe_arc, format_time, mood_phrase

TIME = re.compile(r"\b\d+:\d\d\b")


def _search(pattern: str | re.Pattern[str], text: str) -> re.Match[str]:
    """The first match of ``pattern`` in ``text``, which must be there."""
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in {text!r}"
    return found


def sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", text))


def test_format_time():
    assert [format_time(x) for x in (0, 5.9, 59, 60, 100, 3599, 3600)] == [
        "0:00", "0:05", "0:59", "1:00", "1:40", "59:59", "1:00:00"
    ]  # fmt: skip


def test_rising_curve_builds_up_to_a_late_peak():
    a = np.linspace(-0.8, 0.8, 200)
    v = np.linspace(-0.7, -0.5, 200)
    text = describe_arc({"tempo": 140, "mode": 0}, a, v, genre="metal")
    assert "builds up" in text
    assert "tense finish" in text  # high arousal, negative valence at the end
    assert "3:1" in text  # the peak is in the last seconds (3:10-3:19)
    assert "140 BPM metal track in a minor key" in text
    assert 2 <= sentences(text) <= 3


def test_arch_names_the_peak_time():
    a = np.concatenate([np.linspace(-0.7, 0.8, 100), np.linspace(0.8, -0.6, 60)])
    v = np.concatenate([np.linspace(-0.6, 0.6, 100), np.full(60, 0.6)])
    text = describe_arc({"tempo": 128, "mode": 1}, a, v)
    assert text.startswith("Starts sad, builds to a euphoric peak at ")
    peak = _search(TIME, text).group()
    m, s = map(int, peak.split(":"))
    assert 90 <= 60 * m + s <= 105  # the raw peak is at 99 s
    assert "ends quietly" in text
    assert "brightens" in text
    # hop_s scales the times: the same curve at 2 s per point peaks twice as late
    slow = describe_arc({"tempo": 128, "mode": 1}, a, v, hop_s=2.0)
    m2, s2 = map(int, _search(TIME, slow).group().split(":"))
    assert abs((60 * m2 + s2) - 2 * (60 * m + s)) <= 2


def test_falling_curve_calms_down_and_ends_quietly():
    a = np.linspace(0.8, -0.8, 180)
    v = np.linspace(0.6, -0.5, 180)
    text = describe_arc({"tempo": 100, "mode": 0}, a, v)
    assert "calms down" in text
    assert "ends quietly" in text
    assert "darkens" in text
    assert "builds" not in text


def test_dip_names_the_quiet_passage():
    a = np.concatenate([np.full(60, 0.5), np.full(40, -0.6), np.full(60, 0.6)])
    text = describe_arc({}, a, np.full(160, 0.3))
    assert "drops to a very calm" in text and "comes back" in text
    m, s = map(int, _search(TIME, text).group().split(":"))
    assert 60 <= 60 * m + s < 100


def test_waves_count_the_swells():
    t = np.arange(300)
    text = describe_arc({}, 0.6 * np.sin(t / 12), np.full(300, 0.3))
    n = int(_search(r"Swells and drops (\d+) times", text).group(1))
    # sin(t/12) has extremes at 18.8 + 37.7 k s: 8 of them before 300 s, each followed by a
    # swing of more than TURN_MOVE before the end
    assert n == 8


@pytest.mark.parametrize(
    ("valence", "word"),
    [(-0.8, "dark"), (-0.3, "sombre"), (0.3, "warm"), (0.8, "bright")],
)
def test_valence_words(valence, word):
    text = describe_arc({}, np.full(100, 0.0), np.full(100, valence))
    assert word in text


def test_dark_and_bright_tracks_read_differently():
    a = np.linspace(-0.2, 0.2, 120)
    dark = describe_arc({}, a, np.full(120, -0.8))
    bright = describe_arc({}, a, np.full(120, 0.8))
    assert "dark" in dark and "bright" not in dark
    assert "bright" in bright and "dark" not in bright


def test_quadrant_words():
    assert mood_phrase(0.8, 0.8) == "euphoric"
    assert mood_phrase(-0.8, 0.8) == "tense"
    assert mood_phrase(-0.8, -0.8) == "sad"
    assert mood_phrase(0.8, -0.8) == "peaceful"
    assert mood_phrase(0.0, 0.0) == "steady"
    assert mood_phrase(-0.6, -0.1) == "steady and dark"


def test_flat_curve_says_it_stays():
    text = describe_arc(
        {"tempo": 90, "mode": 1, "duration_s": 60.0}, np.full(60, -0.5), np.full(60, 0.6)
    )
    assert text.startswith("Stays peaceful throughout its 1:00")
    assert "builds" not in text and "peak" not in text
    # small noise below the flat threshold is still flat
    rng = np.random.default_rng(1)
    noisy = np.full(60, -0.5) + rng.normal(0, 0.02, 60)
    assert describe_arc({}, noisy, np.full(60, 0.6)).startswith("Stays peaceful")


def test_short_and_tiny_inputs():
    short = describe_arc({"tempo": 120}, np.linspace(-0.5, 0.5, 5), np.zeros(5))
    assert "builds up" in short and "0:0" in short
    flat_short = describe_arc({}, np.full(5, 0.1), np.full(5, 0.1))
    assert flat_short.startswith("A short 0:05 excerpt")
    one = describe_arc({"tempo": 80, "mode": 1}, np.array([0.7]), np.array([0.7]))
    assert one.startswith("Stays euphoric") and "An 80 BPM track in a major key" in one


def test_nans_are_interpolated():
    a = np.linspace(-0.8, 0.8, 200)
    with_gaps = a.copy()
    with_gaps[50:80] = np.nan
    v = np.full(200, -0.6)
    assert describe_arc({}, with_gaps, v) == describe_arc({}, a, v)


def test_no_curve_falls_back_to_track_features():
    nan2 = np.array([np.nan, np.nan])
    text = describe_arc({"energy": 0.1, "valence": 0.9}, nan2, nan2)
    assert text == "A track, peaceful overall."
    assert "could not be read" in describe_arc({}, np.array([]), np.array([]))


def test_deterministic():
    rng = np.random.default_rng(7)
    a = np.clip(np.cumsum(rng.normal(0, 0.05, 240)), -1, 1)
    v = np.clip(np.cumsum(rng.normal(0, 0.05, 240)), -1, 1)
    features = {"tempo": 123.4, "mode": 0, "duration_s": 240.0}
    texts = {describe_arc(features, a, v, genre="indie") for _ in range(5)}
    assert len(texts) == 1
    assert describe_arc(features, a.copy(), v.copy(), genre="indie") in texts


def test_bad_input():
    with pytest.raises(ParameterError, match="hop_s"):
        describe_arc({}, np.zeros(5), np.zeros(5), hop_s=0)
    with pytest.raises(ParameterError, match="same length"):
        describe_arc({}, np.zeros(5), np.zeros(4))


def test_flat_excerpt_names_its_length_once() -> None:
    flat = np.zeros(6)
    text = describe_arc({"tempo": 119.0, "mode": 1, "duration_s": 6.0}, flat, flat + 0.3)
    assert text.count("0:06") == 1 and "excerpt" in text


def test_only_a_sure_genre_is_named_in_descriptions() -> None:
    from moodtune.music.report import sure_genre as _sure_genre

    probs = {"rap": 0.31, "pop": 0.29, "edm": 0.2, "latin": 0.1, "r&b": 0.05, "rock": 0.05}
    guess = {"label": "rap", "source": "classifier", "probabilities": probs}
    assert _sure_genre(guess) is None
    assert _sure_genre({**guess, "probabilities": {**probs, "rap": 0.7}}) == "rap"
    assert _sure_genre({**guess, "source": "catalog"}) == "rap"  # the catalog says so
    assert _sure_genre({**guess, "source": "tag"}) == "rap"


def test_an_abstaining_classifier_is_never_named_but_a_file_tag_is() -> None:
    from moodtune.music.report import sure_genre as _sure_genre

    probs = {"rap": 0.9, "pop": 0.04, "edm": 0.02, "latin": 0.02, "r&b": 0.01, "rock": 0.01}
    other = {"label": "other", "source": "classifier", "guess": "other", "probabilities": probs}
    assert _sure_genre(other) is None  # even with a high softmax, "other" names nothing
    tagged = {**other, "label": "Romantic Classical", "source": "tag"}
    assert _sure_genre(tagged) == "Romantic Classical"
    text = describe_arc({"tempo": 110.0, "mode": 1}, np.zeros(30), np.zeros(30), genre=None)
    assert "rap" not in text and "other" not in text


def test_extremes_with_the_same_mood_name_it_once() -> None:
    t = np.arange(60.0)
    arousal = -0.45 + 0.12 * np.sin(t / 3.0)  # small waves, all "calm"
    text = describe_arc({}, arousal, np.full(60, 0.1))
    assert "both calm" in text and "calm; quietest" not in text
