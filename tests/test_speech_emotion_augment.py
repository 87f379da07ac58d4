from __future__ import annotations

import numpy as np
import pytest

from moodtune.errors import ParameterError
from moodtune.train import augment as A

SR = 16000


def _tone(freq: float, seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(y: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / SR)[np.argmax(spec)])


def test_add_noise_keeps_length_and_hits_snr(rng):
    y = _tone(300.0)
    out = A.add_noise(y, snr_db=10.0, rng=rng)
    assert out.shape == y.shape and out.dtype == np.float32
    noise = out - y
    snr = 10 * np.log10(np.mean(y**2) / np.mean(noise**2))
    assert snr == pytest.approx(10.0, abs=0.01)
    assert not np.shares_memory(out, y)


def test_shift_time_known_answer():
    y = np.arange(1, 11, dtype=np.float32)
    late = A.shift_time(y, sr=10, shift_s=0.3)
    early = A.shift_time(y, sr=10, shift_s=-0.2)
    np.testing.assert_array_equal(late, [0, 0, 0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(early, [3, 4, 5, 6, 7, 8, 9, 10, 0, 0])


def test_shift_pitch_moves_a_tone_by_semitones():
    y = _tone(440.0)
    out = A.shift_pitch(y, sr=SR, n_steps=2.0)
    assert out.shape == y.shape and out.dtype == np.float32
    assert _peak_hz(out) == pytest.approx(440.0 * 2 ** (2 / 12), abs=3.0)


def test_change_speed_changes_length_not_pitch():
    y = _tone(440.0)
    out = A.change_speed(y, rate=1.25)
    assert out.dtype == np.float32
    assert out.size == pytest.approx(y.size / 1.25, abs=2)
    assert _peak_hz(out) == pytest.approx(440.0, abs=3.0)


def test_opus_roundtrip_keeps_length_and_alignment():
    y = _tone(440.0, seconds=1.5) * np.hanning(int(1.5 * SR)).astype(np.float32)
    out = A.opus_roundtrip(y, sr=SR, bitrate=12000)
    assert out.shape == y.shape and out.dtype == np.float32
    # The codec delay is compensated: the waveforms line up sample for sample.
    assert np.corrcoef(y, out)[0, 1] > 0.9
    assert _peak_hz(out) == pytest.approx(440.0, abs=3.0)


def test_random_augment_is_reproducible_and_documents_its_steps():
    y = _tone(220.0, seconds=1.2)
    a, steps_a = A.random_augment(y, sr=SR, rng=np.random.default_rng(7))
    b, steps_b = A.random_augment(y, sr=SR, rng=np.random.default_rng(7))
    assert steps_a == steps_b and steps_a
    np.testing.assert_array_equal(a, b)
    if not any(s.startswith("speed") for s in steps_a):
        assert a.shape == y.shape


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (A.change_speed, {"rate": 3.0}),
        (A.shift_pitch, {"sr": SR, "n_steps": 12.0}),
        (A.opus_roundtrip, {"bitrate": 1000}),
        (A.channel_filter, {"sr": SR, "low_hz": 500.0, "high_hz": 300.0, "tilt_db": 0.0}),
        (A.channel_filter, {"sr": SR, "low_hz": 100.0, "high_hz": 4000.0, "tilt_db": 30.0}),
        (A.add_reverb, {"sr": SR, "rt60_s": 5.0, "wet": 0.3, "rng": np.random.default_rng(0)}),
        (A.add_reverb, {"sr": SR, "rt60_s": 0.3, "wet": 1.5, "rng": np.random.default_rng(0)}),
    ],
)
def test_bad_parameters_raise(fn, kwargs):
    with pytest.raises(ParameterError):
        fn(_tone(200.0), **kwargs)


def test_bad_audio_raises():
    with pytest.raises(ParameterError):
        A.shift_time(np.zeros((2, 10), dtype=np.float32), sr=SR, shift_s=0.1)
    with pytest.raises(ParameterError):
        A.add_noise(np.array([], dtype=np.float32), snr_db=10, rng=np.random.default_rng(0))


def test_change_gain_scales_and_limits():
    y = _tone(300.0, amp=0.1)
    np.testing.assert_allclose(A.change_gain(y, gain_db=-20.0), y * 0.1, rtol=1e-5)
    loud = A.change_gain(y, gain_db=40.0)
    assert loud.shape == y.shape and np.max(np.abs(loud)) == pytest.approx(0.99)


def _band_power(y: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_channel_filter_cuts_outside_the_band_and_keeps_level():
    y = _tone(60.0) + _tone(1000.0) + _tone(6000.0)
    out = A.channel_filter(y, sr=SR, low_hz=300.0, high_hz=3400.0, tilt_db=0.0)
    assert out.shape == y.shape and out.dtype == np.float32
    keep = _band_power(out, 900, 1100) / _band_power(y, 900, 1100)
    assert _band_power(out, 50, 70) / _band_power(y, 50, 70) < 0.05 * keep
    assert _band_power(out, 5900, 6100) / _band_power(y, 5900, 6100) < 0.05 * keep
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=1e-3)


def test_channel_filter_tilt_brightens():
    y = _tone(500.0) + _tone(5000.0)
    bright = A.channel_filter(y, sr=SR, low_hz=50.0, high_hz=SR / 2, tilt_db=6.0)
    ratio_in = _band_power(y, 4900, 5100) / _band_power(y, 400, 600)
    ratio_out = _band_power(bright, 4900, 5100) / _band_power(bright, 400, 600)
    assert ratio_out > 1.5 * ratio_in


def test_add_reverb_smears_an_impulse_and_keeps_length():
    y = np.zeros(SR, dtype=np.float32)
    y[1000] = 0.5
    out = A.add_reverb(y, sr=SR, rt60_s=0.4, wet=0.5, rng=np.random.default_rng(1))
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.argmax(np.abs(out)) == 1000  # the direct path still comes first and loudest
    tail = out[1100 : 1000 + int(0.3 * SR)]
    assert np.sqrt(np.mean(tail**2)) > 1e-4  # energy arrives long after the impulse
    assert np.max(np.abs(out[:1000])) < 1e-6  # nothing before the sound (FFT round-off only)
