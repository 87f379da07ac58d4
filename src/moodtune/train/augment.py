"""Waveform augmentation for training the speech-emotion head (training clips only).

The seed project augmented with noise, speed, pitch and time shift; moodtune adds a
round trip through a low-bitrate Opus encoder, because real voice notes (Telegram,
browsers) arrive as Opus at 12-32 kbit/s.

Every function takes a mono float32 waveform ``y`` of shape (n,) at ``sr`` Hz and returns
a new float32 array; the input is never modified. Lengths:

- :func:`add_noise`, :func:`shift_pitch`, :func:`shift_time`, :func:`change_gain`,
  :func:`channel_filter`, :func:`add_reverb`, :func:`opus_roundtrip` keep the length (n,)
  and the sample rate;
- :func:`change_speed` keeps the sample rate and changes the length to about n / rate
  (faster speech is shorter), as speaking faster does.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from moodtune.errors import ParameterError

#: Names the augmentation recipe in feature-cache keys: change it when
#: :func:`random_augment` draws a different chain, so stale cached copies are not reused.
AUGMENT_VERSION = "v2"


def _check(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"y must be a non-empty 1-D float array, got shape {y.shape}")
    return y.astype(np.float32, copy=True)


def add_noise(y: np.ndarray, *, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add noise at a given signal-to-noise ratio.

    The noise is white Gaussian noise tilted by a random first-order filter (between
    white and brown), so the head meets hiss as well as rumble.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    snr_db : float
        Signal-to-noise ratio in dB (signal power over noise power).
    rng : np.random.Generator
        Source of randomness.

    Returns
    -------
    np.ndarray
        Shape (n,), float32.
    """
    from scipy.signal import lfilter

    y = _check(y)
    noise = rng.standard_normal(y.size).astype(np.float32)
    pole = float(rng.uniform(0.0, 0.95))
    noise = lfilter([1.0], [1.0, -pole], noise).astype(np.float32)
    p_sig = float(np.mean(y**2))
    p_noise = float(np.mean(noise**2))
    if p_sig <= 0 or p_noise <= 0:
        return y
    noise *= np.sqrt(p_sig / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (y + noise).astype(np.float32)


def change_speed(y: np.ndarray, *, rate: float) -> np.ndarray:
    """Speak faster (``rate`` > 1) or slower (< 1) without changing the pitch.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    rate : float
        Speed factor in (0.5, 2).

    Returns
    -------
    np.ndarray
        Shape (about n / rate,), float32, same sample rate.
    """
    import librosa

    if not 0.5 < rate < 2.0:
        raise ParameterError(f"rate={rate} must lie in (0.5, 2)")
    y = _check(y)
    return np.asarray(librosa.effects.time_stretch(y, rate=rate), dtype=np.float32)


def shift_pitch(y: np.ndarray, *, sr: int, n_steps: float) -> np.ndarray:
    """Shift the pitch by ``n_steps`` semitones, keeping the duration.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    sr : int
        Sample rate, Hz.
    n_steps : float
        Semitones, in [-6, 6].

    Returns
    -------
    np.ndarray
        Shape (n,), float32.
    """
    import librosa

    if not -6.0 <= n_steps <= 6.0:
        raise ParameterError(f"n_steps={n_steps} must lie in [-6, 6] semitones")
    y = _check(y)
    out = librosa.effects.pitch_shift(y, sr=sr, n_steps=n_steps)
    return np.asarray(librosa.util.fix_length(out, size=y.size), dtype=np.float32)


def shift_time(y: np.ndarray, *, sr: int, shift_s: float) -> np.ndarray:
    """Delay (``shift_s`` > 0) or advance (< 0) the signal, filling with silence.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    sr : int
        Sample rate, Hz.
    shift_s : float
        Shift in seconds; samples pushed past either end are dropped.

    Returns
    -------
    np.ndarray
        Shape (n,), float32.
    """
    y = _check(y)
    k = int(round(shift_s * sr))
    out = np.zeros_like(y)
    if k >= 0:
        out[k:] = y[: max(y.size - k, 0)]
    else:
        out[: y.size + k] = y[-k:]
    return out


def change_gain(y: np.ndarray, *, gain_db: float) -> np.ndarray:
    """Scale the level by ``gain_db`` dB, then limit peaks to 0.99 (no wrap-around).

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    gain_db : float
        Gain in dB.

    Returns
    -------
    np.ndarray
        Shape (n,), float32.
    """
    y = _check(y) * np.float32(10.0 ** (gain_db / 20.0))
    peak = float(np.max(np.abs(y)))
    if peak > 0.99:
        y *= np.float32(0.99 / peak)
    return y


def channel_filter(
    y: np.ndarray, *, sr: int, low_hz: float, high_hz: float, tilt_db: float
) -> np.ndarray:
    """Colour ``y`` as a microphone and a phone line do: band limits and a spectral tilt.

    A 2nd-order Butterworth high-pass at ``low_hz`` (small microphones lose the bass), a
    4th-order low-pass at ``high_hz`` (narrow-band codecs, cheap headsets) and a linear
    tilt of ``tilt_db`` dB between 0 Hz and Nyquist (bright or dull microphones). The
    level (RMS) is kept.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    sr : int
        Sample rate, Hz.
    low_hz, high_hz : float
        Band edges in Hz, ``0 < low_hz < high_hz <= sr / 2``; ``high_hz = sr / 2`` skips
        the low-pass.
    tilt_db : float
        Gain at Nyquist relative to 0 Hz, dB, in [-12, 12].

    Returns
    -------
    np.ndarray
        Shape (n,), float32.
    """
    from scipy.signal import butter, sosfilt

    if not 0.0 < low_hz < high_hz <= sr / 2:
        raise ParameterError(
            f"band {low_hz}-{high_hz} Hz must satisfy 0 < low_hz < high_hz <= sr/2 = {sr / 2}"
        )
    if not -12.0 <= tilt_db <= 12.0:
        raise ParameterError(f"tilt_db={tilt_db} must lie in [-12, 12] dB")
    y = _check(y)
    rms = float(np.sqrt(np.mean(y**2)))
    out = sosfilt(butter(2, low_hz, btype="highpass", fs=sr, output="sos"), y)
    if high_hz < sr / 2:
        out = sosfilt(butter(4, high_hz, btype="lowpass", fs=sr, output="sos"), out)
    if tilt_db:
        spec = np.fft.rfft(out)
        gain_db = np.linspace(0.0, tilt_db, spec.size)
        out = np.fft.irfft(spec * 10.0 ** (gain_db / 20.0), n=y.size)
    new_rms = float(np.sqrt(np.mean(out**2)))
    if new_rms > 0 and rms > 0:
        out = out * (rms / new_rms)
    peak = float(np.max(np.abs(out)))
    if peak > 0.99:
        out = out * (0.99 / peak)
    return np.asarray(out, dtype=np.float32)


def add_reverb(
    y: np.ndarray, *, sr: int, rt60_s: float, wet: float, rng: np.random.Generator
) -> np.ndarray:
    """Add room reverberation from a synthetic impulse response (decaying noise).

    The impulse response is Gaussian noise under an exponential envelope that falls by
    60 dB in ``rt60_s`` seconds, after a direct-path impulse; ``wet`` sets the share of
    the reverberant part. The level (RMS) and the length are kept.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    sr : int
        Sample rate, Hz.
    rt60_s : float
        Reverberation time in seconds, in [0.05, 2].
    wet : float
        Reverberant share in [0, 1].
    rng : np.random.Generator
        Source of the impulse response's noise.

    Returns
    -------
    np.ndarray
        Shape (n,), float32.
    """
    from scipy.signal import fftconvolve

    if not 0.05 <= rt60_s <= 2.0:
        raise ParameterError(f"rt60_s={rt60_s} must lie in [0.05, 2] seconds")
    if not 0.0 <= wet <= 1.0:
        raise ParameterError(f"wet={wet} must lie in [0, 1]")
    y = _check(y)
    n_ir = max(1, int(rt60_s * sr))
    t = np.arange(n_ir) / sr
    tail = rng.standard_normal(n_ir) * 10.0 ** (-3.0 * t / rt60_s)
    tail /= np.sqrt(np.sum(tail**2)) + 1e-12
    dry = np.zeros(n_ir)
    dry[0] = 1.0
    ir = (1.0 - wet) * dry + wet * tail
    out = fftconvolve(y, ir)[: y.size]
    rms, new_rms = float(np.sqrt(np.mean(y**2))), float(np.sqrt(np.mean(out**2)))
    if new_rms > 0 and rms > 0:
        out = out * (rms / new_rms)
    peak = float(np.max(np.abs(out)))
    if peak > 0.99:
        out = out * (0.99 / peak)
    return np.asarray(out, dtype=np.float32)


def opus_roundtrip(y: np.ndarray, *, sr: int = 16000, bitrate: int = 12000) -> np.ndarray:
    """Encode to Ogg Opus at ``bitrate`` bit/s with PyAV (libopus) and decode back.

    This is what a voice note suffers on its way through a messenger.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    sr : int
        Sample rate, Hz; the codec runs at 48 kHz internally, the result is resampled
        back to ``sr``.
    bitrate : int
        Target bit rate in bit/s (6000-64000).

    Returns
    -------
    np.ndarray
        Shape (n,), float32 (the codec's delay is removed, the tail trimmed or padded).
    """
    import av

    if not 6000 <= bitrate <= 64000:
        raise ParameterError(f"bitrate={bitrate} must lie in [6000, 64000] bit/s")
    y = _check(y)
    pcm = np.clip(y, -1.0, 1.0)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        frame = av.AudioFrame.from_ndarray(
            (pcm * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = sr
        frame.pts = None
        for rf in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(rf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    chunks = []
    with av.open(buf, mode="r") as inp:
        back = av.AudioResampler(format="flt", layout="mono", rate=sr)
        for dframe in inp.decode(audio=0):
            for rf in back.resample(dframe):
                chunks.append(rf.to_ndarray().reshape(-1))
        for rf in back.resample(None):
            chunks.append(rf.to_ndarray().reshape(-1))
    dec = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    out_y = np.zeros_like(y)
    m = min(dec.size, y.size)
    out_y[:m] = dec[:m]
    return out_y


@dataclass(frozen=True)
class AugmentRecipe:
    """How :func:`random_augment` draws its chain (each step applied with its probability).

    Attributes
    ----------
    p_speed, speed_range : float, (float, float)
        Probability and range of the speed factor.
    p_pitch, pitch_range : float, (float, float)
        Probability and range of the pitch shift, semitones.
    p_shift, shift_max_s : float, float
        Probability and largest absolute time shift, seconds.
    p_noise, snr_range_db : float, (float, float)
        Probability and range of the SNR, dB.
    p_opus, opus_bitrates : float, tuple of int
        Probability of the Opus round trip and the bit rates drawn from.
    p_gain, gain_range_db : float, (float, float)
        Probability and range of a level change, dB (microphones differ); peaks are
        limited to 0.99 after it.
    p_channel : float
        Probability of :func:`channel_filter` (low edge 50-400 Hz, high edge 3.4 kHz to
        Nyquist, tilt -9 to +6 dB).
    p_reverb, rt60_range_s, wet_range : float, (float, float), (float, float)
        Probability of :func:`add_reverb`, its RT60 range in seconds and wet share.
    """

    p_speed: float = 0.5
    speed_range: tuple[float, float] = (0.85, 1.15)
    p_pitch: float = 0.5
    pitch_range: tuple[float, float] = (-2.0, 2.0)
    p_shift: float = 0.5
    shift_max_s: float = 0.3
    p_noise: float = 0.5
    snr_range_db: tuple[float, float] = (10.0, 30.0)
    p_opus: float = 0.6
    opus_bitrates: tuple[int, ...] = (8000, 12000, 16000)
    p_gain: float = 0.5
    gain_range_db: tuple[float, float] = (-12.0, 6.0)
    p_channel: float = 0.5
    p_reverb: float = 0.3
    rt60_range_s: tuple[float, float] = (0.15, 0.8)
    wet_range: tuple[float, float] = (0.1, 0.5)


def random_augment(
    y: np.ndarray,
    *,
    sr: int,
    rng: np.random.Generator,
    recipe: AugmentRecipe | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Apply a random chain of the augmentations above.

    Order: speed, pitch, time shift, reverb (the room), noise, channel (the microphone),
    gain, then Opus (the codec comes last, as in life).
    At least one step is always applied.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), float.
    sr : int
        Sample rate, Hz.
    rng : np.random.Generator
        Source of randomness (seed it per clip and variant for reproducible caches).
    recipe : AugmentRecipe, optional
        Probabilities and ranges (default :class:`AugmentRecipe`).

    Returns
    -------
    y_aug : np.ndarray
        Shape (m,), float32 (m = n unless the speed changed).
    steps : list of str
        What was applied, e.g. ``["pitch-1.3", "opus12000"]``.
    """
    r = recipe or AugmentRecipe()
    steps: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = []
    while not steps:
        if rng.random() < r.p_speed:
            rate = float(rng.uniform(*r.speed_range))
            steps.append((f"speed{rate:.2f}", partial(change_speed, rate=rate)))
        if rng.random() < r.p_pitch:
            st = float(rng.uniform(*r.pitch_range))
            steps.append((f"pitch{st:+.1f}", partial(shift_pitch, sr=sr, n_steps=st)))
        if rng.random() < r.p_shift:
            sh = float(rng.uniform(-r.shift_max_s, r.shift_max_s))
            steps.append((f"shift{sh:+.2f}", partial(shift_time, sr=sr, shift_s=sh)))
        if rng.random() < r.p_reverb:
            rt60 = float(rng.uniform(*r.rt60_range_s))
            wet = float(rng.uniform(*r.wet_range))
            ir_rng = np.random.default_rng(int(rng.integers(2**31)))
            steps.append(
                (f"reverb{rt60:.2f}s", partial(add_reverb, sr=sr, rt60_s=rt60, wet=wet, rng=ir_rng))
            )
        if rng.random() < r.p_noise:
            snr = float(rng.uniform(*r.snr_range_db))
            noise_rng = np.random.default_rng(int(rng.integers(2**31)))
            steps.append((f"noise{snr:.0f}dB", partial(add_noise, snr_db=snr, rng=noise_rng)))
        if rng.random() < r.p_channel:
            lo = float(rng.uniform(50.0, 400.0))
            hi = float(rng.choice([3400.0, 4000.0, 5500.0, 7000.0, sr / 2]))
            tilt = float(rng.uniform(-9.0, 6.0))
            steps.append(
                (
                    f"channel{lo:.0f}-{hi:.0f}Hz{tilt:+.0f}dB",
                    partial(channel_filter, sr=sr, low_hz=lo, high_hz=hi, tilt_db=tilt),
                )
            )
        if rng.random() < r.p_gain:
            db = float(rng.uniform(*r.gain_range_db))
            steps.append((f"gain{db:+.0f}dB", partial(change_gain, gain_db=db)))
        if rng.random() < r.p_opus:
            br = int(rng.choice(r.opus_bitrates))
            steps.append((f"opus{br}", partial(opus_roundtrip, sr=sr, bitrate=br)))
    out = _check(y)
    for _, fn in steps:
        out = fn(out)
    return out, [name for name, _ in steps]
