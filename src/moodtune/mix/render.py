"""Rendering a voice-over mix: fit the music, set levels, duck, limit, export.

Libraries do the standard work: PyAV (FFmpeg) decodes, resamples and encodes and remuxes
video without re-encoding it; pyloudnorm measures integrated loudness (ITU-R BS.1770-4);
scipy's polyphase resampler oversamples 4x for true-peak measurement (BS.1770 annex 2).
Written by hand: the ducking envelope (:mod:`moodtune.mix.envelope`) and the true-peak
limiter's gain computer below.

Why a hand-written limiter: the limiters packaged for Python (pedalboard's JUCE
``Limiter``, for one) work on sample peaks, so inter-sample peaks still pass over
-1 dBTP, and none is in the base install. The gain computer here is short and offline:
the gain needed to hold every 4x-oversampled peak under the ceiling, a look-ahead minimum
so the gain is already down when a peak arrives, a smooth release, and a moving average
that removes clicks; a last measurement guarantees the ceiling.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from moodtune import config
from moodtune.errors import CorruptMediaError, ParameterError, UnsupportedMediaError
from moodtune.mix.envelope import DuckingParams, ducking_gain_db, gain_curve, segments_to_activity

log = logging.getLogger(__name__)

#: Sample rate of the mix, in Hz.
MIX_SR = 48000
#: True-peak ceiling of the final mix, in dBTP.
TRUE_PEAK_CEILING_DB = -1.0
#: Level of the music in the pauses, in LU below the target loudness.
MUSIC_BED_LU = 6.0
#: Audio output formats: extension -> (FFmpeg muxer, codec, bitrate in bit/s).
AUDIO_FORMATS: dict[str, tuple[str, str, int | None]] = {
    ".mp3": ("mp3", "libmp3lame", 192_000),
    ".m4a": ("ipod", "aac", 192_000),
    ".wav": ("wav", "pcm_s16le", None),
}
#: Video output formats: extension -> (FFmpeg muxer, audio codec).
VIDEO_FORMATS: dict[str, tuple[str, str]] = {
    ".mp4": ("mp4", "aac"),
    ".mov": ("mov", "aac"),
    ".mkv": ("matroska", "aac"),
    ".webm": ("webm", "libopus"),
}
#: Samples oversampled at once by the true-peak meter (bounds its memory).
_CHUNK = 1 << 18
#: Filter context on each side of a chunk (scipy's 4x polyphase filter spans 81 taps).
_CONTEXT = 64
#: Longest music file read, in seconds (``config.limits().music_seconds``).
MAX_MUSIC_SECONDS = config.limits().music_seconds


# --------------------------------------------------------------------------- measuring
def integrated_loudness(y: np.ndarray, *, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, pyloudnorm).

    Parameters
    ----------
    y : numpy.ndarray
        Shape (n,) mono or (channels, n), float, full scale 1.0.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    float
        LUFS; ``-inf`` for silence.
    """
    import pyloudnorm

    data = np.asarray(y, dtype=np.float64)
    data = data.T if data.ndim == 2 else data
    if data.shape[0] < int(0.4 * sr):  # shorter than one gating block
        data = np.concatenate([data, np.zeros_like(data)[: int(0.4 * sr) - data.shape[0] + 1]])
    return float(pyloudnorm.Meter(sr).integrated_loudness(data))


def true_peak_db(y: np.ndarray, *, oversample: int = 4) -> float:
    """True peak in dBTP: the largest magnitude of the signal oversampled ``oversample`` times.

    Parameters
    ----------
    y : numpy.ndarray
        Shape (n,) or (channels, n), float, full scale 1.0.
    oversample : int
        Oversampling factor (4 as in ITU-R BS.1770-4 annex 2 for 48 kHz).

    Returns
    -------
    float
        dBTP (dB relative to full scale); ``-inf`` for silence.
    """
    from scipy.signal import resample_poly

    data = np.atleast_2d(np.asarray(y))
    n = data.shape[-1]
    if n == 0:
        return float("-inf")
    peak = float(np.max(np.abs(data)))
    for a in range(0, n, _CHUNK):  # in chunks (with filter context): bounded memory
        lo, hi = max(0, a - _CONTEXT), min(n, a + _CHUNK + _CONTEXT)
        up = resample_poly(data[:, lo:hi].astype(np.float64), oversample, 1, axis=-1)
        peak = max(peak, float(np.max(np.abs(up))))
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def _peak_envelope(
    y: np.ndarray, *, floor: float = 0.0, oversample: int = 4, block: int = 4096
) -> np.ndarray:
    """Per-sample true-peak magnitude, shape (n,): max over channels and sub-samples.

    Only blocks whose sample peak exceeds ``floor`` are oversampled (with filter context);
    elsewhere the sample magnitude stands in, which is enough for a gain computer whose
    threshold is well above ``floor``.
    """
    from scipy.signal import resample_poly

    n = y.shape[-1]
    env = np.abs(y).max(axis=0)
    n_blocks = int(np.ceil(n / block))
    padded = np.concatenate([env, np.zeros(n_blocks * block - n, dtype=env.dtype)])
    hot = np.flatnonzero(padded.reshape(n_blocks, block).max(axis=1) > floor)
    i = 0
    while i < hot.size:  # merge runs of neighbouring hot blocks
        j = i
        while j + 1 < hot.size and hot[j + 1] == hot[j] + 1:
            j += 1
        run_a, run_b = int(hot[i]) * block, min(n, (int(hot[j]) + 1) * block)
        for a in range(run_a, run_b, _CHUNK):  # bounded memory on long runs
            b = min(run_b, a + _CHUNK)
            lo, hi = max(0, a - _CONTEXT), min(n, b + _CONTEXT)
            up = np.abs(resample_poly(y[:, lo:hi], oversample, 1, axis=-1))
            per = up.reshape(y.shape[0], hi - lo, oversample).max(axis=2).max(axis=0)
            env[a:b] = np.maximum(env[a:b], per[a - lo : b - lo])
        i = j + 1
    return env


# --------------------------------------------------------------------------- limiter
def limit_true_peak(
    y: np.ndarray, *, sr: int, ceiling_db: float = TRUE_PEAK_CEILING_DB
) -> np.ndarray:
    """Hold the true peak of ``y`` (shape (channels, n)) under ``ceiling_db`` dBTP.

    See :func:`limit_true_peak_measured`; this returns only the limited audio, float32.
    """
    return limit_true_peak_measured(y, sr=sr, ceiling_db=ceiling_db)[0]


def limit_true_peak_measured(
    y: np.ndarray,
    *,
    sr: int,
    ceiling_db: float = TRUE_PEAK_CEILING_DB,
    lookahead_s: float = 0.005,
    release_s: float = 0.15,
    margin_db: float = 0.2,
) -> tuple[np.ndarray, float]:
    """Hold the true peak of ``y`` under ``ceiling_db`` with a look-ahead limiter.

    Parameters
    ----------
    y : numpy.ndarray
        Shape (channels, n), float.
    sr : int
        Sample rate in Hz.
    ceiling_db : float
        Ceiling in dBTP.
    lookahead_s : float
        Look-ahead (and attack) time in seconds.
    release_s : float
        Time constant of the gain's recovery, in seconds.
    margin_db : float
        The gain computer aims this far under the ceiling.

    Returns
    -------
    (numpy.ndarray, float)
        The limited audio, shape (channels, n), float32, and its true peak in dBTP
        (<= ``ceiling_db``).
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    n = y.shape[1]
    if n == 0:
        return y.astype(np.float32), float("-inf")
    ceiling = 10.0 ** ((ceiling_db - margin_db) / 20.0)
    # Inter-sample peaks of music and speech sit well under 6 dB above the sample peaks.
    peaks = _peak_envelope(y, floor=ceiling * 10.0 ** (-6.0 / 20.0))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if float(need.min()) < 1.0:
        look = max(1, int(lookahead_s * sr))
        # Gain down for every peak within +-look samples (covers the averaging below).
        g = minimum_filter1d(need, size=2 * look + 1, mode="nearest")
        # Release on 1 ms blocks: the gain may fall at once but rises exponentially.
        block = max(1, sr // 1000)
        n_blocks = int(np.ceil(n / block))
        padded = np.concatenate([g, np.ones(n_blocks * block - n)])
        g_block = padded.reshape(n_blocks, block).min(axis=1)
        a = float(np.exp(-block / (release_s * sr)))
        out = np.empty(n_blocks)
        level = 1.0
        for i, target in enumerate(g_block.tolist()):
            level = min(target, 1.0 - (1.0 - level) * a)
            out[i] = level
        g = np.repeat(out, block)[:n]
        # Smooth the attack: a centred average of half-width <= look keeps g <= need.
        g = uniform_filter1d(g, size=look + 1, mode="nearest")
        y = y * g[None, :]
    tp = true_peak_db(y)
    if tp > ceiling_db - 0.05:  # guarantee the ceiling whatever the filters did
        y = y * 10.0 ** ((ceiling_db - 0.05 - tp) / 20.0)
        tp = ceiling_db - 0.05
    return y.astype(np.float32), tp


# --------------------------------------------------------------------------- music
def decode_stereo(path: str | Path, *, sr: int = MIX_SR) -> np.ndarray:
    """Decode the first audio stream of a file we wrote to stereo float, shape (2, n)."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sr)
        blocks = [
            out.to_ndarray()
            for frame in container.decode(container.streams.audio[0])
            for out in resampler.resample(frame)
        ]
        blocks += [out.to_ndarray() for out in resampler.resample(None)]
    return np.concatenate(blocks, axis=1)


def load_music_stereo(path: str | Path, *, sr: int = MIX_SR) -> np.ndarray:
    """Decode a music file to stereo float audio at ``sr`` (PyAV, FFmpeg's resampler).

    Parameters
    ----------
    path : str or Path
        Any audio file FFmpeg reads.
    sr : int
        Output sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        Shape (2, n), float32.

    Raises
    ------
    ParameterError, UnsupportedMediaError, CorruptMediaError
        Missing, unreadable or empty music file.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"music file {path} does not exist; run `moodtune scan` again")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise UnsupportedMediaError(f"music file {path} cannot be read: {exc}") from exc
    chunks: list[np.ndarray] = []
    total = 0
    with container:
        if not container.streams.audio:
            raise UnsupportedMediaError(f"music file {path} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sr)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray()
                    chunks.append(block)
                    total += block.shape[1]
                if total > MAX_MUSIC_SECONDS * sr:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.FFmpegError as exc:
            if not chunks:
                raise CorruptMediaError(f"music file {path} is damaged: {exc}") from exc
            log.warning("%s: decoding stopped early (%s)", path, exc)
    if not chunks:
        raise CorruptMediaError(f"music file {path} holds no decodable audio")
    y = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return np.nan_to_num(y)


def beat_times(music: np.ndarray, *, sr: int) -> np.ndarray:
    """Beat positions of the music in seconds (sonara's beat tracker, 22.05 kHz mono mix).

    Returns an empty array when no steady beat is found.
    """
    import sonara
    import soxr

    mono = soxr.resample(music.mean(axis=0), sr, 22050).astype(np.float32)
    try:
        _, frames = sonara.beat_track(y=mono, sr=22050, hop_length=512)
    except Exception as exc:  # noqa: BLE001 - a beat tracker failure only loses alignment
        log.info("beat tracking failed (%s); looping without beat alignment", exc)
        return np.zeros(0)
    return np.asarray(frames, dtype=np.float64) * 512 / 22050


def _raised_cosine(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / max(n, 1))).astype(np.float32)


def fit_music(
    music: np.ndarray,
    *,
    sr: int,
    n_samples: int,
    beats_s: np.ndarray | None = None,
    crossfade_s: float = 2.0,
    fade_in_s: float = 1.0,
    fade_out_s: float = 2.5,
    loop: bool = True,
) -> np.ndarray:
    """Loop or trim music to ``n_samples``, with crossfades on the beat and fades.

    Parameters
    ----------
    music : numpy.ndarray
        Shape (channels, m), float.
    sr : int
        Sample rate in Hz.
    n_samples : int
        Length wanted.
    beats_s : numpy.ndarray, optional
        Beat times in seconds; when given, a loop runs from the first beat to a whole
        number of bars (4 beats) later, so the groove continues across the seam.
    crossfade_s, fade_in_s, fade_out_s : float
        Equal-power crossfade at each loop seam; fade in and fade out, in seconds.
    loop : bool
        Repeat music shorter than ``n_samples`` (for music made to loop:
        :func:`moodtune.music.loop.is_loopable`). ``False`` plays it once: it fades out
        over its last ``fade_out_s`` and silence follows under the voice.

    Returns
    -------
    numpy.ndarray
        Shape (channels, n_samples), float32.
    """
    music = np.asarray(music, dtype=np.float32)
    m = music.shape[1]
    if m == 0:
        raise ParameterError("the music track is empty; choose another track")
    loud = np.flatnonzero(np.abs(music).max(axis=0) > 10 ** (-50 / 20))
    start = int(loud[0]) if loud.size else 0
    end = int(loud[-1]) + 1 if loud.size else m
    if end - start >= n_samples:
        out = music[:, start : start + n_samples].copy()
    elif not loop:  # once through, fading out where it ends
        length = end - start
        out = np.zeros((music.shape[0], n_samples), dtype=np.float32)
        out[:, :length] = music[:, start:end]
        fi = min(int(fade_in_s * sr), length // 4)
        fo = min(int(fade_out_s * sr), length // 4)
        if fi:
            out[:, :fi] *= _raised_cosine(fi)
        if fo:
            out[:, length - fo : length] *= _raised_cosine(fo)[::-1]
        return out
    else:
        xf = int(min(crossfade_s * sr, (end - start) // 4))
        a, b = start, end - xf
        if beats_s is not None and len(beats_s) >= 9:
            beats = (np.asarray(beats_s) * sr).astype(np.int64)
            beats = beats[(beats >= start) & (beats < end)]
            if len(beats) >= 9:
                a = int(beats[0])
                bars = [int(x) for x in beats[4::4] if x + xf <= end and x - a >= 4 * xf]
                if bars:
                    b = bars[-1]
                else:
                    a, b = start, end - xf
        period = b - a
        if period <= 0:
            raise ParameterError("the music track is too short to loop; choose another track")
        fade_in = np.sqrt(_raised_cosine(xf))  # equal power
        fade_out = fade_in[::-1].copy()
        out = np.zeros((music.shape[0], n_samples + period + xf), dtype=np.float32)
        pos = 0
        first = True
        while pos < n_samples:
            src0 = start if first else a
            piece = music[:, src0 : b + xf].copy()
            if not first and xf:
                piece[:, :xf] *= fade_in
            if xf:
                piece[:, -xf:] *= fade_out
            out[:, pos : pos + piece.shape[1]] += piece
            pos += piece.shape[1] - xf
            first = False
        out = out[:, :n_samples]
    fi = min(int(fade_in_s * sr), n_samples // 4)
    fo = min(int(fade_out_s * sr), n_samples // 4)
    if fi:
        out[:, :fi] *= _raised_cosine(fi)
    if fo:
        out[:, n_samples - fo :] *= _raised_cosine(fo)[::-1]
    return out


# --------------------------------------------------------------------------- mixing
@dataclass
class MixStems:
    """A rendered mix and its parts, all shape (2, n) float32 at ``sr``.

    Attributes
    ----------
    mix : numpy.ndarray
        The final mix (loudness at the target, true peak under the ceiling).
    voice, music : numpy.ndarray
        The voice and the ducked music as they sit in the mix (before the limiter).
    gain_db : numpy.ndarray
        The ducking envelope per frame, in dB.
    loudness_lufs, true_peak_dbtp : float
        Integrated loudness and 4x-oversampled true peak of ``mix``.
    """

    mix: np.ndarray
    voice: np.ndarray
    music: np.ndarray
    gain_db: np.ndarray
    sr: int
    loudness_lufs: float
    true_peak_dbtp: float


def _gain_to(y: np.ndarray, *, sr: int, target_lufs: float) -> float:
    level = integrated_loudness(y, sr=sr)
    if not np.isfinite(level):
        return 1.0
    return float(10.0 ** ((target_lufs - level) / 20.0))


def render_mix(
    voice: np.ndarray,
    music: np.ndarray,
    *,
    sr: int,
    segments: Sequence[tuple[int, int]],
    target_lufs: float = -16.0,
    music_bed_lu: float = MUSIC_BED_LU,
    ducking: DuckingParams | None = None,
    ceiling_db: float = TRUE_PEAK_CEILING_DB,
) -> MixStems:
    """Mix music under a voice: levels, ducking, final loudness and true-peak limit.

    Parameters
    ----------
    voice : numpy.ndarray
        Shape (n,), mono float voice at ``sr``.
    music : numpy.ndarray
        Shape (channels, n), music already fitted to the voice's length.
    sr : int
        Sample rate in Hz.
    segments : sequence of (int, int)
        Speech segments (sample indices into ``voice``) that drive the ducking.
    target_lufs : float
        Integrated loudness of the mix, LUFS.
    music_bed_lu : float
        Music level in the pauses, LU below ``target_lufs``.
    ducking : DuckingParams, optional
        Ducking depth and timing.
    ceiling_db : float
        True-peak ceiling, dBTP.

    Returns
    -------
    MixStems
    """
    params = ducking or DuckingParams()
    n = voice.shape[0]
    if music.shape[1] != n:
        raise ParameterError(f"music has {music.shape[1]} samples, the voice {n}; fit it first")
    music = np.atleast_2d(music).astype(np.float32)
    if music.shape[0] == 1:
        music = np.repeat(music, 2, axis=0)
    v = np.repeat(voice[None, :].astype(np.float32), 2, axis=0)
    v *= _gain_to(v, sr=sr, target_lufs=target_lufs)
    music = music * _gain_to(music, sr=sr, target_lufs=target_lufs - music_bed_lu)
    active = segments_to_activity(segments, n_samples=n, sr=sr, hop_s=params.hop_s)
    gain_db = ducking_gain_db(active, params)
    music = music * gain_curve(gain_db, n_samples=n, sr=sr, hop_s=params.hop_s)[None, :]
    mix = v + music
    makeup = _gain_to(mix, sr=sr, target_lufs=target_lufs)
    v, music, mix = v * makeup, music * makeup, mix * makeup
    out, tp = limit_true_peak_measured(mix, sr=sr, ceiling_db=ceiling_db)
    level = integrated_loudness(out, sr=sr)
    for _ in range(3):  # the limiter can lower loudness: make it up and limit again
        short = target_lufs - level
        if not np.isfinite(short) or short < 0.2:
            break
        boost = 10.0 ** (short / 20.0)
        mix, v, music = mix * boost, v * boost, music * boost
        out, tp = limit_true_peak_measured(mix, sr=sr, ceiling_db=ceiling_db)
        level = integrated_loudness(out, sr=sr)
    return MixStems(
        mix=out,
        voice=v,
        music=music,
        gain_db=gain_db,
        sr=sr,
        loudness_lufs=level,
        true_peak_dbtp=tp,
    )


def duck_depth_db(
    music: np.ndarray,
    *,
    sr: int,
    segments: Sequence[tuple[int, int]],
    before_s: float = 0.5,
    after_s: float = 1.3,
    fades_s: float = 3.0,
) -> float:
    """Measure how much lower the music is during speech than in the pauses, in dB.

    RMS levels in 50 ms frames. Speech frames are those inside a speech segment; pause
    frames are at least ``before_s`` before and ``after_s`` after every segment (the
    envelope has settled: attack, hold and release are over) and ``fades_s`` from either
    end (away from the fades). Medians are compared.

    Returns
    -------
    float
        Median pause level minus median speech level, dB (NaN without both kinds of frames).
    """
    hop = int(0.05 * sr)
    x = np.atleast_2d(music).mean(axis=0)
    n_frames = x.shape[0] // hop
    if n_frames == 0:
        return float("nan")
    rms = np.sqrt(np.mean(np.square(x[: n_frames * hop].reshape(n_frames, hop)), axis=1) + 1e-20)
    level = 20 * np.log10(rms)
    t = (np.arange(n_frames) + 0.5) * hop
    inside = np.zeros(n_frames, dtype=bool)
    near = np.zeros(n_frames, dtype=bool)
    for s, e in segments:
        inside |= (t >= s) & (t <= e)
        near |= (t > s - before_s * sr) & (t < e + after_s * sr)
    pause = ~near & (t > fades_s * sr) & (t < x.shape[0] - fades_s * sr)
    if not inside.any() or not pause.any():
        return float("nan")
    return float(np.median(level[pause]) - np.median(level[inside]))


# --------------------------------------------------------------------------- export
def _audio_frames(y: np.ndarray, sr: int, block: int = 4096) -> Any:
    import av

    data = np.ascontiguousarray(np.clip(y, -1.0, 1.0).astype(np.float32))
    for pos in range(0, data.shape[1], block):
        chunk = np.ascontiguousarray(data[:, pos : pos + block])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = sr
        frame.pts = pos
        frame.time_base = Fraction(1, sr)
        yield frame


def _add_audio_stream(out: Any, codec: str, sr: int, bitrate: int | None) -> Any:
    rate = 48000 if codec == "libopus" else sr
    stream = out.add_stream(codec, rate=rate, layout="stereo")
    if bitrate:
        stream.bit_rate = bitrate
    return stream


def write_audio(path: Path, y: np.ndarray, *, sr: int) -> None:
    """Encode a stereo mix to ``path`` (format by its extension: .mp3, .m4a, .wav).

    Parameters
    ----------
    path : Path
        Output file; its suffix picks the format (see :data:`AUDIO_FORMATS`).
    y : numpy.ndarray
        Shape (2, n), float.
    sr : int
        Sample rate in Hz.
    """
    import av

    ext = path.suffix.lower()
    if ext not in AUDIO_FORMATS:
        raise ParameterError(f"output extension {ext!r} is not one of {sorted(AUDIO_FORMATS)}")
    fmt, codec, bitrate = AUDIO_FORMATS[ext]
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = _add_audio_stream(out, codec, sr, bitrate)
        for frame in _audio_frames(y, sr):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_video(path: Path, video_source: Path, y: np.ndarray, *, sr: int) -> None:
    """Copy the video stream of ``video_source`` into ``path`` with ``y`` as its soundtrack.

    The video packets are remuxed as they are (stream copy: no decoding, no re-encoding);
    the audio is encoded as AAC (Opus for WebM) and interleaved by time.

    Parameters
    ----------
    path : Path
        Output file; its suffix picks the container (see :data:`VIDEO_FORMATS`).
    video_source : Path
        The input video.
    y : numpy.ndarray
        Shape (2, n), float, the new soundtrack.
    sr : int
        Sample rate in Hz.
    """
    import av

    ext = path.suffix.lower()
    if ext not in VIDEO_FORMATS:
        raise ParameterError(f"output extension {ext!r} is not one of {sorted(VIDEO_FORMATS)}")
    fmt, codec = VIDEO_FORMATS[ext]
    with av.open(str(video_source), metadata_errors="ignore") as src:
        if not src.streams.video:
            raise UnsupportedMediaError(f"{video_source} has no video stream to copy")
        v_in = src.streams.video[0]
        try:
            out = av.open(str(path), mode="w", format=fmt)
        except av.FFmpegError as exc:
            raise ParameterError(f"cannot write {path}: {exc}") from exc
        with out:
            try:
                v_out = out.add_stream_from_template(v_in)
            except (ValueError, av.FFmpegError) as exc:
                raise UnsupportedMediaError(
                    f"the {v_in.codec_context.name} video of {video_source} cannot go into a "
                    f"{ext} file ({exc}); choose the input's own container"
                ) from exc
            a_out = _add_audio_stream(out, codec, sr, 192_000 if codec == "aac" else 128_000)
            audio_packets: list[Any] = []
            for frame in _audio_frames(y, sr):
                audio_packets.extend(a_out.encode(frame))
            audio_packets.extend(a_out.encode(None))

            def seconds(packet: Any) -> float:
                ts = packet.dts if packet.dts is not None else packet.pts
                return float(ts * packet.time_base) if ts is not None else 0.0

            k = 0
            try:
                for packet in src.demux(v_in):
                    if packet.dts is None and packet.pts is None:
                        continue  # the demuxer's flush packet
                    t = seconds(packet)
                    while k < len(audio_packets) and seconds(audio_packets[k]) <= t:
                        out.mux(audio_packets[k])
                        k += 1
                    packet.stream = v_out
                    out.mux(packet)
                for packet in audio_packets[k:]:
                    out.mux(packet)
            except av.FFmpegError as exc:
                raise CorruptMediaError(
                    f"the video of {video_source} could not be copied: {exc}"
                ) from exc
