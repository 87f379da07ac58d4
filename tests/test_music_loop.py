"""Loop detection on generated signals: a seamless loop passes, songs that are not loops fail."""

from __future__ import annotations

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.music.loop import is_loopable, loop_check

SR = 22050
PERIOD_S = 2.0  # chord frequencies are whole multiples of 1/PERIOD_S: the bar repeats exactly


def _bar(freqs: tuple[float, ...], *, seed: int = 0) -> np.ndarray:
    """One 2 s bar: a chord plus a decaying noise hit on every beat (0.5 s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(PERIOD_S * SR)) / SR
    y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in freqs)
    beat = int(0.5 * SR)
    hit = rng.normal(0.0, 0.3, beat) * np.exp(-np.arange(beat) / (0.05 * SR))
    return np.asarray(y + np.tile(hit, 4), dtype=np.float64)


A_MINOR = (220.0, 261.5, 329.5)
D_MINOR = (293.5, 349.0, 440.0)


def _loop(bars: int = 8) -> np.ndarray:
    return np.tile(_bar(A_MINOR), bars)


def test_a_seamless_loop_is_loopable() -> None:
    y = _loop()
    check = loop_check(y, sr=SR)
    assert check.loopable, check
    assert check.seam_ratio <= 1.25 and check.match_ratio <= 1.5
    assert is_loopable(np.vstack([y, y]), sr=SR)  # stereo too
    # rotating a loop (starting it at another point of the bar) keeps it a loop
    assert is_loopable(np.roll(y, 12_345), sr=SR)


def test_a_song_that_fades_out_is_not_a_loop() -> None:
    y = _loop()
    fade = np.ones_like(y)
    n = 4 * SR
    fade[-n:] = np.linspace(1.0, 0.0, n) ** 2
    check = loop_check(y * fade, sr=SR)
    assert not check.loopable and "fades out" in check.reason


def test_a_song_that_fades_in_is_not_a_loop() -> None:
    y = _loop()
    y[: 3 * SR] *= np.linspace(0.0, 1.0, 3 * SR) ** 2
    check = loop_check(y, sr=SR)
    assert not check.loopable and "fades in" in check.reason


def test_a_song_ending_on_silence_is_not_a_loop() -> None:
    y = np.concatenate([_loop(), np.zeros(2 * SR)])
    assert not is_loopable(y, sr=SR)


def test_a_song_that_ends_elsewhere_is_not_a_loop() -> None:
    # no fade at either end, but it ends in another chord than it starts with
    y = np.concatenate([np.tile(_bar(A_MINOR), 4), np.tile(_bar(D_MINOR, seed=1), 4)])
    check = loop_check(y, sr=SR)
    assert not check.loopable and "does not" in check.reason, check


def test_a_loop_cut_mid_bar_is_not_a_loop() -> None:
    y = _loop()[: int(7.37 * PERIOD_S * SR)]  # the seam lands mid-bar: a click and a jump
    check = loop_check(y, sr=SR)
    assert not check.loopable and "does not" in check.reason, check


def test_short_silent_and_bad_input() -> None:
    assert loop_check(_bar(A_MINOR)[: SR // 2], sr=SR).reason.startswith("it is shorter")
    assert loop_check(np.zeros(10 * SR), sr=SR).reason == "it is mostly silent"
    with pytest.raises(ParameterError, match="sample rate"):
        loop_check(_loop(), sr=0)
    bad = _loop()
    bad[5] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        loop_check(bad, sr=SR)
