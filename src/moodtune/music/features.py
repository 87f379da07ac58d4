"""Spotify-style features and a per-second arousal/valence curve for one audio file.

Building blocks: moodtune's PyAV decoder (any container), sonara for tempo, key and mode,
pyloudnorm for ITU-R BS.1770 integrated loudness, vibenet's ONNX model for the perceptual
features (on a central 30 s excerpt, like the previews Spotify-style models are trained on)
and :mod:`moodtune.music.emotion` for the curve.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moodtune import config
from moodtune.audio.decode import load_audio
from moodtune.errors import ParameterError
from moodtune.music.emotion import (
    HOP_S,
    SILENCE_DBFS,
    EmotionModel,
    default_model,
    second_descriptors,
    second_levels,
    silent_mask,
    window_features,
)
from moodtune.music.vibe import FRAMES_PER_S, VIBE_LABELS, VIBE_SR, log_mel, outputs_to_features
from moodtune.music.vibe import raw_outputs as vibe_raw_outputs
from moodtune.types import quadrant

log = logging.getLogger(__name__)

#: Longest track analysed, s (``config.limits().music_seconds``, shared by every interface).
MAX_MUSIC_SECONDS = config.limits().music_seconds
#: Largest file read, bytes (``config.limits().file_bytes``).
MAX_MUSIC_BYTES = config.limits().file_bytes
#: Shortest track analysed, s.
MIN_MUSIC_SECONDS = 2.0
#: Length of the excerpt vibenet's track-level features come from, s.
EXCERPT_S = 30.0
#: Feature names of :attr:`TrackAnalysis.features`, in the JSON's order.
FEATURE_NAMES: tuple[str, ...] = (
    "tempo",
    "key",
    "mode",
    "loudness",
    "energy",
    "valence",
    "danceability",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "duration_s",
)
#: A track whose integrated loudness is below this is silent, LUFS.
SILENT_LUFS = -60.0
_PITCH = {
    "C": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4, "E#": 5, "F": 5,
    "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11, "CB": 11,
}  # fmt: skip


def parse_key(name: str | None) -> tuple[int, int | None]:
    """Spotify key and mode from a name like ``"D minor"`` or ``"F# major"``.

    Returns
    -------
    key : int
        Pitch class 0-11 (C = 0), -1 when unknown.
    mode : int or None
        1 major, 0 minor, None when unknown.
    """
    if not name:
        return -1, None
    parts = name.replace("♯", "#").replace("♭", "b").split()
    key = _PITCH.get(parts[0].upper(), -1)
    mode = None
    if len(parts) > 1:
        mode = {"major": 1, "minor": 0}.get(parts[1].lower())
    return key, mode


@dataclass
class TrackAnalysis:
    """What :func:`analyze_file` finds in one track.

    Attributes
    ----------
    features : dict
        Spotify scales: ``tempo`` BPM, ``key`` pitch class 0-11 (-1 unknown), ``mode`` 1 major /
        0 minor, ``loudness`` LUFS (BS.1770 integrated, dB), the seven perceptual features on
        [0, 1], ``duration_s`` seconds.
    arousal, valence : np.ndarray, shape (n_seconds,)
        Per-second curves on [-1, 1]; point ``k`` describes second ``[k, k + 1)``.
    hop_s : float
        Curve hop, s (1.0).
    path : str or None
        The analysed file.
    extra : dict
        Secondary values (tempo confidence, key confidence, model name).
    silent : bool
        The whole track is silent or nearly so (below :data:`SILENT_LUFS`, or no second above
        :data:`moodtune.music.emotion.SILENCE_DBFS`): no tempo, key, mode, perceptual features,
        genre or emotion point.
    silent_seconds : np.ndarray, shape (n_seconds,), bool
        Silent seconds (pauses, fades to nothing): marked on the curve, left out of the means.
    """

    features: dict[str, float | int | None]
    arousal: np.ndarray
    valence: np.ndarray
    hop_s: float = HOP_S
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    silent: bool = False
    silent_seconds: np.ndarray | None = None

    def _sounding(self) -> np.ndarray:
        n = self.arousal.shape[0]
        m = self.silent_seconds
        if m is None or m.shape != (n,) or m.all():
            return np.ones(n, dtype=bool)
        return ~m

    def silent_spans(self) -> list[list[float]]:
        """Silent stretches as ``[start_s, end_s]`` pairs."""
        m = self.silent_seconds
        if m is None or not m.any():
            return []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(int), [0]])))
        return [
            [float(a) * self.hop_s, float(b) * self.hop_s]
            for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]

    @property
    def summary(self) -> dict[str, Any]:
        """Mean, spread and range of the curves over the sounding seconds, and the quadrant.

        A silent track has ``None`` for every statistic and quadrant.
        """
        if self.silent:
            keys = ("arousal", "valence")
            out: dict[str, Any] = {
                f"{k}_{s}": None for k in keys for s in ("mean", "std", "min", "max")
            }
            out |= {"quadrant": None, "n_seconds": int(self.arousal.shape[0]), "silent": True}
            return out
        keep = self._sounding()
        a, v = self.arousal[keep], self.valence[keep]
        am, vm = float(np.mean(a)), float(np.mean(v))
        return {
            "arousal_mean": round(am, 4),
            "arousal_std": round(float(np.std(a)), 4),
            "arousal_min": round(float(np.min(a)), 4),
            "arousal_max": round(float(np.max(a)), 4),
            "valence_mean": round(vm, 4),
            "valence_std": round(float(np.std(v)), 4),
            "valence_min": round(float(np.min(v)), 4),
            "valence_max": round(float(np.max(v)), 4),
            "quadrant": quadrant(vm, am),
            "n_seconds": int(self.arousal.shape[0]),
            "silent_seconds": int(self.arousal.shape[0] - keep.sum()),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``moodtune analyze --json``."""
        return {
            "silent": self.silent,
            "features": dict(self.features),
            "curve": {
                "hop_s": self.hop_s,
                "arousal": [round(float(x), 4) for x in self.arousal],
                "valence": [round(float(x), 4) for x in self.valence],
                "silent_spans": self.silent_spans(),
            },
            "summary": self.summary,
        }

    def catalog_row(self, *, track_id: str) -> dict[str, Any]:
        """The features as a catalog row (Spotify column names; ``duration_ms``)."""
        f = self.features
        row: dict[str, Any] = {k: f[k] for k in FEATURE_NAMES if k != "duration_s"}
        row["duration_ms"] = float(f["duration_s"] or 0.0) * 1000.0
        row["id"] = track_id
        return row


#: Samples K-weighted at a time by :func:`loudness_lufs` (10 s at 16 kHz).
_LOUDNESS_CHUNK = 160_000
#: BS.1770 channel weights (L, R, C, Ls, Rs).
_CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)


def loudness_lufs(y: np.ndarray, sr: int) -> float:
    """ITU-R BS.1770-4 integrated loudness over all channels, as pyloudnorm measures it, LUFS.

    pyloudnorm's filters and 400 ms gated blocks, computed in chunks: the K-weighting IIR
    filters carry their state from chunk to chunk and each block's mean square is taken as
    soon as its samples are filtered, so memory stays at one chunk instead of several float64
    copies of the whole track (300 MB for 10 minutes). The channels' weighted mean squares are
    summed per block, as BS.1770 does.

    Parameters
    ----------
    y : np.ndarray, shape (n,) or (n, n_channels)
        Audio in [-1, 1]; channels in the order L, R, C, Ls, Rs (at most 5).
    sr : int
        Sample rate, Hz.

    Returns
    -------
    float
        On [-80, 10]; -80 for digital silence or audio shorter than one block.
    """
    import pyloudnorm
    import scipy.signal

    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, np.newaxis]
    if y.ndim != 2 or y.shape[1] > 5:
        raise ParameterError(f"audio of shape {y.shape} must be (n,) or (n, channels <= 5)")
    meter = pyloudnorm.Meter(sr)  # BS.1770-4, K-weighting, 400 ms gated blocks
    filters = list(meter._filters.values())
    n_ch = y.shape[1]
    # zero initial state, as a single lfilter call over the whole signal starts
    states = [[np.zeros(max(len(f.a), len(f.b)) - 1) for f in filters] for _ in range(n_ch)]
    gains = np.array(_CHANNEL_GAINS[:n_ch])
    t_g, step = meter.block_size, 1.0 - meter.overlap
    n = int(y.shape[0])
    n_blocks = int(np.round((n / sr - t_g) / (t_g * step))) + 1
    if n < t_g * sr or n_blocks < 1:
        return -80.0
    bounds = [(int(t_g * (j * step) * sr), int(t_g * (j * step + 1) * sr)) for j in range(n_blocks)]
    z = np.zeros(n_blocks)
    buf = np.zeros(0)  # weighted, squared filtered samples summed over channels
    buf_start, j = 0, 0
    for start in range(0, n, _LOUDNESS_CHUNK):
        chunk = np.asarray(y[start : start + _LOUDNESS_CHUNK], dtype=np.float64)
        power = np.zeros(chunk.shape[0])
        for ch in range(n_ch):
            x = chunk[:, ch]
            for k, f in enumerate(filters):
                x, states[ch][k] = scipy.signal.lfilter(f.b, f.a, x, zi=states[ch][k])
                x = f.passband_gain * x
            power += gains[ch] * np.square(x)
        buf = np.concatenate([buf, power])
        buf_end = buf_start + buf.shape[0]
        while j < n_blocks and bounds[j][1] <= buf_end:
            lo, hi = bounds[j]
            z[j] = np.sum(buf[lo - buf_start : hi - buf_start]) / (t_g * sr)
            j += 1
        keep_from = bounds[j][0] if j < n_blocks else buf_end
        buf = buf[keep_from - buf_start :]
        buf_start = keep_from
    for late in range(j, n_blocks):  # blocks reaching past the end (pyloudnorm's rounding)
        lo, hi = bounds[late]
        z[late] = np.sum(buf[max(lo - buf_start, 0) : max(hi - buf_start, 0)]) / (t_g * sr)
    with np.errstate(divide="ignore", invalid="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(z)
        above = block_lufs >= -70.0
        if not above.any():
            return -80.0
        relative = -0.691 + 10.0 * np.log10(np.mean(z[above])) - 10.0
        gated = (block_lufs > relative) & above
        value = -0.691 + 10.0 * np.log10(np.mean(z[gated])) if gated.any() else -math.inf
    if not math.isfinite(value):
        return -80.0
    return float(np.clip(value, -80.0, 10.0))


#: The mono measurement's older name.
_loudness = loudness_lufs

#: Files longer than this get their channel correction from a central excerpt this long, s.
LOUDNESS_EXCERPT_S = 60.0
#: Sample rate of the multichannel loudness measurement, Hz.
LOUDNESS_SR = 16000


def _decode_channels(path: str | Path, *, start_s: float, max_s: float) -> np.ndarray | None:
    """``max_s`` seconds of a file from ``start_s``, all channels, at :data:`LOUDNESS_SR`.

    Returns an array of shape (n, channels), or None when it cannot be read this way.
    """
    import av
    import soxr

    blocks: list[np.ndarray] = []
    stream_rs: Any = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if start_s > 0 and stream.time_base is not None:
                container.seek(int(start_s / stream.time_base), stream=stream)
            converter = None
            n = 0
            limit = int(max_s * LOUDNESS_SR)
            for frame in container.decode(stream):
                if frame.time is not None and frame.time < start_s - 0.05:
                    continue
                if stream_rs is None:
                    if len(frame.layout.channels) > 5:
                        return None
                    stream_rs = soxr.ResampleStream(
                        frame.sample_rate,
                        LOUDNESS_SR,
                        len(frame.layout.channels),
                        dtype="float32",
                        quality="MQ",
                    )
                if frame.format.name == "fltp":  # most codecs: planar float, no conversion
                    arr = frame.to_ndarray()
                else:
                    if converter is None:
                        converter = av.AudioResampler(
                            format="fltp", layout=frame.layout.name, rate=frame.sample_rate
                        )
                    outs = converter.resample(frame)
                    if not outs:
                        continue
                    arr = np.concatenate([o.to_ndarray() for o in outs], axis=1)
                out = stream_rs.resample_chunk(np.ascontiguousarray(arr.T, dtype=np.float32))
                blocks.append(out)
                n += out.shape[0]
                if n >= limit:
                    break
            if stream_rs is not None and blocks:
                empty = np.zeros((0, blocks[0].shape[1]), dtype=np.float32)
                blocks.append(stream_rs.resample_chunk(empty, last=True))
    except (OSError, ValueError, av.FFmpegError) as exc:
        log.debug("%s: multichannel decode failed (%s)", path, exc)
        return None
    if not blocks:
        return None
    y = np.concatenate(blocks)[:limit]
    return y if y.shape[0] > LOUDNESS_SR // 2 else None


def file_loudness(path: str | Path, *, y16: np.ndarray | None = None) -> float | None:
    """BS.1770 integrated loudness of a file over all its channels, LUFS.

    moodtune's analysis decoder downmixes to mono, which reads stereo music 3-6 dB low
    (BS.1770 sums the channels' power). Up to :data:`LOUDNESS_EXCERPT_S` (or without ``y16``)
    the file is decoded again keeping its channels and measured whole at :data:`LOUDNESS_SR`
    (music holds little power above 8 kHz: battle.ogg reads -12.93 LUFS here, -12.92 at
    32 kHz). A longer file is measured on its mono signal ``y16`` (16 kHz) plus the
    channel-sum correction measured on its central :data:`LOUDNESS_EXCERPT_S` (the loudness of
    all channels minus that of the decoder's mono, over the same excerpt), which saves decoding
    it twice. On the 40 Wesnoth tracks (stereo, 5-557 s) it differs from pyloudnorm on the whole
    stereo file at its own rate by 0.06 dB in the median and 1.0 dB at most (whole-file
    measurement at 16 kHz: 0.17 dB at most).

    Returns
    -------
    float or None
        None when the file cannot be decoded this way (the caller falls back to the mono
        measurement).
    """
    if y16 is None or y16.shape[0] <= LOUDNESS_EXCERPT_S * VIBE_SR:
        y = _decode_channels(path, start_s=0.0, max_s=min(MAX_MUSIC_SECONDS, 1200.0))
        if y is None:
            return None
        return loudness_lufs(y if y.shape[1] > 1 else y[:, 0], LOUDNESS_SR)
    duration = y16.shape[0] / VIBE_SR
    start = max(0.0, (duration - LOUDNESS_EXCERPT_S) / 2.0)
    part = _decode_channels(path, start_s=start, max_s=LOUDNESS_EXCERPT_S)
    mono = loudness_lufs(y16, VIBE_SR)
    if part is None or part.shape[1] == 1:
        return mono if part is not None else None
    both = loudness_lufs(part, LOUDNESS_SR)
    # the decoder's own mono over the same stretch (its downmix gains are FFmpeg's, not 1/2)
    i0 = int(start * VIBE_SR)
    down = loudness_lufs(y16[i0 : i0 + part.shape[0] * VIBE_SR // LOUDNESS_SR], VIBE_SR)
    if both <= -70.0 or down <= -70.0:  # a silent excerpt says nothing about the channels
        return mono
    return float(np.clip(mono + both - down, -80.0, 10.0))


def _tempo_key(y: np.ndarray, sr: int) -> dict[str, Any]:
    import sonara

    res = sonara.analyze_signal(
        np.ascontiguousarray(y, dtype=np.float32), sr=sr, features=["bpm", "key"]
    )
    key, mode = parse_key(res.get("key"))
    return {
        "tempo": float(res.get("bpm") or 0.0),
        "tempo_confidence": float(res.get("bpm_confidence") or 0.0),
        "key": key,
        "mode": mode,
        "key_confidence": float(res.get("key_confidence") or 0.0),
    }


def analyze_signal(
    y: np.ndarray,
    *,
    sr: int,
    model: EmotionModel | None = None,
    path: str | None = None,
    loudness: float | None = None,
) -> TrackAnalysis:
    """Analyse mono audio.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float
        Mono audio in [-1, 1].
    sr : int
        Sample rate of ``y``, Hz; resampled to 16 kHz when different.
    model : EmotionModel, optional
        Arousal/valence calibration; the shipped one by default.
    path : str, optional
        Recorded in the result.
    loudness : float, optional
        Integrated loudness of the file over all its channels (:func:`file_loudness`), LUFS;
        measured on ``y`` when not given.

    Returns
    -------
    TrackAnalysis

    Raises
    ------
    ParameterError
        ``y`` is not finite mono audio, or shorter than :data:`MIN_MUSIC_SECONDS`.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"audio of shape {y.shape} must be mono, shape (n,)")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio holds NaN or infinite samples")
    if sr != VIBE_SR:
        import soxr

        y = soxr.resample(y, sr, VIBE_SR).astype(np.float32, copy=False)
    duration = y.shape[0] / VIBE_SR
    if duration < MIN_MUSIC_SECONDS:
        label = path or "audio"
        raise ParameterError(
            f"{label} lasts {duration:.2f} s, too short for music analysis "
            f"(at least {MIN_MUSIC_SECONDS:g} s)"
        )
    model = model or default_model()
    if loudness is None:
        loudness = loudness_lufs(y, VIBE_SR)
    levels = second_levels(y, duration_s=duration)
    quiet = silent_mask(levels)
    if loudness < SILENT_LUFS or bool(np.all(levels < SILENCE_DBFS)):
        return _silent_analysis(duration, loudness, path=path, n=levels.shape[0])
    mel = log_mel(y)
    per_second = second_descriptors(y, mel, duration_s=duration)
    n_ex = int(EXCERPT_S * FRAMES_PER_S)
    start = max(0, (mel.shape[1] - n_ex) // 2)
    vibe = outputs_to_features(vibe_raw_outputs(mel[:, start : start + n_ex]))
    tk = _tempo_key(y, VIBE_SR)
    features: dict[str, float | int | None] = {
        "tempo": round(tk["tempo"], 2),
        "key": tk["key"],
        "mode": tk["mode"],
        "loudness": round(float(loudness), 2),
    }
    by_name = dict(zip(VIBE_LABELS, (round(float(v), 4) for v in vibe), strict=True))
    for name in ("energy", "valence", "danceability", "acousticness"):
        features[name] = by_name[name]
    for name in ("instrumentalness", "speechiness", "liveness"):
        features[name] = by_name[name]
    features["duration_s"] = round(duration, 3)
    windows = window_features(mel, duration_s=duration, y16=y, per_second=per_second)
    arousal, valence = model.curve(windows, silent=quiet)
    extra = {
        "tempo_confidence": round(tk["tempo_confidence"], 4),
        "key_confidence": round(tk["key_confidence"], 4),
    }
    return TrackAnalysis(
        features=features,
        arousal=arousal,
        valence=valence,
        path=path,
        extra=extra,
        silent_seconds=quiet,
    )


def _silent_analysis(
    duration: float, loudness: float, *, path: str | None, n: int
) -> TrackAnalysis:
    """The analysis of a silent track: no tempo, key, mode, perceptual features or emotion."""
    features: dict[str, float | int | None] = dict.fromkeys(FEATURE_NAMES)
    features["loudness"] = round(float(loudness), 2)
    features["duration_s"] = round(duration, 3)
    zeros = np.zeros(n)
    return TrackAnalysis(
        features=features,
        arousal=zeros,
        valence=zeros.copy(),
        path=path,
        silent=True,
        silent_seconds=np.ones(n, dtype=bool),
    )


def load_music(path: str | Path) -> np.ndarray:
    """Decode a music file to mono 16 kHz float32 with music-sized limits.

    Raises
    ------
    ParameterError
        Missing, unreadable, corrupt or non-audio file, or over the limits
        (:data:`MAX_MUSIC_SECONDS`, :data:`MAX_MUSIC_BYTES`).
    """
    return load_audio(
        Path(path),
        sr=VIBE_SR,
        max_seconds=MAX_MUSIC_SECONDS,
        max_bytes=MAX_MUSIC_BYTES,
        kind="music",
    )


def analyze_file(
    path: str | Path,
    *,
    model: EmotionModel | None = None,
) -> TrackAnalysis:
    """Analyse a music file (MP3, OGG, OPUS, FLAC, WAV, M4A and anything else PyAV reads).

    Parameters
    ----------
    path : str or Path
        The file.
    model : EmotionModel, optional
        Arousal/valence calibration; the shipped one by default.

    Returns
    -------
    TrackAnalysis

    Raises
    ------
    ParameterError
        Unreadable, corrupt, not audio, too short or too long.
    """
    y = load_music(path)
    result = analyze_signal(
        y, sr=VIBE_SR, model=model, path=str(path), loudness=file_loudness(path, y16=y)
    )
    return result
