from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.speech.emotion import SAMPLES_PER_STATE, SpeakerStats, pool_states
from moodtune.speech.prosody import PROSODY_DIM, PROSODY_NAMES, prosody_features

SR = 16000


def _voiced(f0: float, seconds: float = 1.5) -> np.ndarray:
    """A harmonic tone (5 partials) at ``f0`` Hz: a crude sustained vowel."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum((np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)), start=np.zeros_like(t))
    return (0.2 * y).astype(np.float32)


def test_prosody_pitch_known_answer():
    feats = dict(zip(PROSODY_NAMES, prosody_features(_voiced(200.0)), strict=True))
    # 200 Hz is 12 semitones above 100 Hz; a steady tone has no spread or slope.
    assert feats["f0_p50"] == pytest.approx(12.0, abs=0.3)
    assert feats["f0_std"] < 0.3
    assert abs(feats["f0_slope"]) < 0.5
    assert feats["voiced_share"] > 0.9


def test_prosody_higher_voice_gives_higher_pitch():
    low = dict(zip(PROSODY_NAMES, prosody_features(_voiced(120.0)), strict=True))
    high = dict(zip(PROSODY_NAMES, prosody_features(_voiced(240.0)), strict=True))
    assert high["f0_mean"] - low["f0_mean"] == pytest.approx(12.0, abs=0.5)


def test_prosody_silence_and_short_input_are_zero_not_nan():
    assert prosody_features(np.zeros(SR, dtype=np.float32)).shape == (PROSODY_DIM,)
    assert not prosody_features(np.zeros(SR, dtype=np.float32)).any()
    assert not prosody_features(np.ones(100, dtype=np.float32) * 0.1).any()


def test_prosody_rejects_bad_input():
    with pytest.raises(ParameterError):
        prosody_features(_voiced(200.0), sr=8000)
    with pytest.raises(ParameterError):
        prosody_features(np.full(SR, np.nan, dtype=np.float32))


def test_pool_states_drops_padding_frames():
    states = np.zeros((1500, 512), dtype=np.float32)
    states[:100] = 1.0  # 2 s of audio in a 30 s window
    pooled = pool_states(states[None], n_samples=100 * SAMPLES_PER_STATE)
    np.testing.assert_allclose(pooled[:512], 1.0)
    np.testing.assert_allclose(pooled[512:], 0.0)
    diluted = pool_states(states)
    assert diluted[0] == pytest.approx(100 / 1500)


def test_pool_states_rejects_bad_shapes():
    with pytest.raises(ParameterError):
        pool_states(np.zeros((10, 384)))
    with pytest.raises(ParameterError):
        pool_states(np.zeros((0, 512)))


def test_speaker_stats_match_numpy_and_round_trip(rng):
    x = rng.normal(3.0, 2.0, size=(40, 6))
    stats = SpeakerStats()
    for row in x[:10]:
        stats.update(row)
    stats.update(x[10:])
    assert stats.count == 40
    assert stats.mean is not None and stats.m2 is not None
    np.testing.assert_allclose(stats.mean, x.mean(axis=0))
    np.testing.assert_allclose(stats.m2 / stats.count, x.var(axis=0))
    # With no shrinkage, normalising gives the speaker's own z-scores.
    z = stats.normalise(x, global_mean=np.zeros(6), global_var=np.ones(6), shrink=0.0)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-6)
    back = SpeakerStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert back.count == 40
    assert back.mean is not None
    np.testing.assert_allclose(back.mean, stats.mean)


def test_speaker_stats_shrink_towards_global_when_few():
    stats = SpeakerStats()
    stats.update(np.array([10.0, 10.0]))
    z = stats.normalise(
        np.array([10.0, 10.0]), global_mean=np.zeros(2), global_var=np.ones(2), shrink=4.0
    )
    # mean shrinks to (1*10 + 4*0)/5 = 2; variance to (0 + 4*1)/5 = 0.8
    np.testing.assert_allclose(z, (10.0 - 2.0) / np.sqrt(0.8), rtol=1e-6)
    with pytest.raises(ParameterError):
        SpeakerStats().normalise(
            np.zeros(2), global_mean=np.zeros(2), global_var=np.ones(2), shrink=1.0
        )
    with pytest.raises(ParameterError):
        stats.update(np.zeros(3))


def test_warm_up_computes_prosody_once_on_a_real_tone(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from moodtune.speech import prosody

    seen: list[np.ndarray] = []
    real = prosody.prosody_features

    def spy(y: np.ndarray, *, sr: int = 16000) -> np.ndarray:
        seen.append(y)
        out = real(y, sr=sr)
        return out

    monkeypatch.setattr(prosody, "prosody_features", spy)
    prosody.warm_up()
    # one call on a voiced 150 Hz tone long enough to be analysed (not the silent shortcut)
    assert len(seen) == 1
    y = seen[0]
    assert y.dtype == np.float32 and y.size >= prosody.FRAME * 4
    assert 0.05 < float(np.max(np.abs(y))) <= 1.0
    assert "librosa" in sys.modules  # the import the first request would otherwise pay
    feats = dict(zip(PROSODY_NAMES, real(y), strict=True))
    # 150 Hz is 12*log2(1.5) = 7.02 semitones above 100 Hz
    assert feats["f0_p50"] == pytest.approx(7.02, abs=0.5)


def test_feature_options_remove_utterance_offset_and_speaker_pitch(rng):
    """instance_norm ignores an affine change of the state means; relative_pitch a pitch shift."""
    from moodtune.speech.emotion import transform_features

    pooled = rng.normal(size=(2, 1024))
    pros = rng.normal(size=(2, PROSODY_DIM))
    keep = np.ones(PROSODY_DIM, dtype=bool)
    shifted = pooled.copy()
    shifted[:, :512] = 3.0 * shifted[:, :512] + 1.5
    higher = pros.copy()
    pitch = [PROSODY_NAMES.index(n) for n in ("f0_mean", "f0_p10", "f0_p50", "f0_p90")]
    higher[:, pitch] += 7.0  # the same intonation, seven semitones higher
    kw: dict[str, Any] = {"log_std": False, "prosody_keep": keep}
    a = transform_features(pooled, pros, instance_norm=True, relative_pitch=True, **kw)
    b = transform_features(shifted, higher, instance_norm=True, relative_pitch=True, **kw)
    median = 1024 + PROSODY_NAMES.index("f0_p50")
    others = np.arange(a.shape[1]) != median
    np.testing.assert_allclose(a[:, others], b[:, others], atol=1e-9)
    np.testing.assert_allclose(b[:, median] - a[:, median], 7.0)
    # off by default: the plain features still see both changes
    plain = transform_features(pooled, pros, **kw)
    assert not np.allclose(plain, transform_features(shifted, higher, **kw))
