"""Music analysis memory: loudness in chunks equals pyloudnorm with a fraction of the memory."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from moodtune.audio.memory import release_freed_memory, returns_memory
from moodtune.music.features import _loudness


def _reference(y: np.ndarray, sr: int) -> float:
    import pyloudnorm

    with np.errstate(divide="ignore"):
        value = float(pyloudnorm.Meter(sr).integrated_loudness(y.astype(np.float64)))
    return -80.0 if not math.isfinite(value) else float(np.clip(value, -80.0, 10.0))


def _signal(seconds: float, sr: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.3 * t))
    y = y + 0.05 * rng.standard_normal(t.size)
    y[: y.size // 3] *= 0.001  # a quiet intro, so both gates matter
    return y.astype(np.float32)


@pytest.mark.parametrize("sr", [16000, 44100])
@pytest.mark.parametrize("seconds", [0.5, 2.0, 3.3, 37.77])
def test_chunked_loudness_equals_pyloudnorm(sr: int, seconds: float) -> None:
    y = _signal(seconds, sr, seed=int(seconds * 10))
    assert _loudness(y, sr) == pytest.approx(_reference(y, sr), abs=1e-6)


def test_silence_is_the_floor() -> None:
    assert _loudness(np.zeros(32000, np.float32), 16000) == -80.0


def test_chunked_loudness_holds_no_copy_of_the_track() -> None:
    y = _signal(120.0, 16000, seed=1)  # 15 MB as float64
    tracemalloc.start()
    try:
        _loudness(y, 16000)
        _, ours = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _reference(y, 16000)
        _, theirs = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ours < 8_000_000 and theirs > 2 * y.size * 8, (ours, theirs)  # 2 float64 copies


def test_returns_memory_keeps_the_result_and_errors() -> None:
    @returns_memory
    def work(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x * 2

    assert work(21) == 42
    with pytest.raises(ValueError, match="negative"):
        work(-1)
    assert isinstance(release_freed_memory(), bool)
