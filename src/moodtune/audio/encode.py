"""Encoding audio into the containers people send (Opus voice notes, MP3, M4A, video).

Used to re-encode audio the way messengers do (training augmentation: Opus at a low
bitrate), to export mixes, and to build test fixtures. PyAV's bundled FFmpeg does the
work; no system ffmpeg is needed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from moodtune.errors import ParameterError


@dataclass(frozen=True)
class _Format:
    container: str
    codec: str
    rate: int | None  # sample rate the codec needs, None: keep the input's
    bitrate: int | None


#: Known output formats: name -> (FFmpeg muxer, codec, codec sample rate, bitrate in bit/s).
FORMATS: dict[str, _Format] = {
    "ogg": _Format("ogg", "libopus", 48000, 24000),  # a Telegram-style voice note
    "opus": _Format("ogg", "libopus", 48000, 24000),
    "webm": _Format("webm", "libopus", 48000, 32000),  # browser MediaRecorder
    "mp3": _Format("mp3", "libmp3lame", None, 64000),
    "m4a": _Format("ipod", "aac", None, 64000),
    "wav": _Format("wav", "pcm_s16le", None, None),
    "flac": _Format("flac", "flac", None, None),
    "mp4": _Format("mp4", "aac", None, 64000),
    "mov": _Format("mov", "aac", None, 64000),
}


def encode_audio(
    y: np.ndarray,
    *,
    sr: int,
    fmt: str = "ogg",
    bitrate: int | None = None,
    video: bool = False,
) -> bytes:
    """Encode mono audio into a container and return the file's bytes.

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float in [-1, 1] (clipped).
    sr : int
        Sample rate of ``y`` in Hz. Opus formats resample to 48 kHz as FFmpeg does.
    fmt : str
        One of :data:`FORMATS`: ``ogg``/``opus`` (Ogg Opus), ``webm`` (WebM Opus), ``mp3``,
        ``m4a`` (AAC), ``wav`` (16-bit PCM), ``flac``, ``mp4``/``mov`` (AAC).
    bitrate : int, optional
        Target bitrate in bit/s for lossy codecs; defaults to the format's entry.
    video : bool
        For ``mp4``/``mov``/``webm``: also add a small black video track (the file then
        looks like a recorded video message).

    Returns
    -------
    bytes
        The encoded file.
    """
    import av

    if fmt not in FORMATS:
        raise ParameterError(f"fmt={fmt!r} is not one of {sorted(FORMATS)}")
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"audio must be mono and non-empty with shape (n,), got {y.shape}")
    if not isinstance(sr, int | np.integer) or sr <= 0:
        raise ParameterError(f"sr={sr!r} must be a positive integer (Hz)")
    spec = FORMATS[fmt]
    pcm = (np.clip(np.nan_to_num(y), -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=spec.container) as out:
        v_stream = None
        if video:
            if fmt not in {"mp4", "mov", "webm"}:
                raise ParameterError(f"video=True needs fmt mp4, mov or webm, not {fmt!r}")
            v_stream = out.add_stream("libvpx" if fmt == "webm" else "mpeg4", rate=10)
            v_stream.width, v_stream.height, v_stream.pix_fmt = 64, 48, "yuv420p"
        rate = spec.rate or int(sr)
        a_stream: av.audio.stream.AudioStream = out.add_stream(  # type: ignore[assignment]
            spec.codec, rate=rate, layout="mono"
        )
        rate_bits = bitrate if bitrate is not None else spec.bitrate
        if rate_bits is not None:
            a_stream.bit_rate = int(rate_bits)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = int(sr)
        frame.pts = 0  # a timed first frame lets MP4 muxers write the priming edit list
        frame.time_base = Fraction(1, int(sr))
        for packet in a_stream.encode(frame):
            out.mux(packet)
        for packet in a_stream.encode(None):
            out.mux(packet)
        if v_stream is not None:
            n_frames = max(1, int(np.ceil(y.size / sr * 10)))
            black = np.zeros((48, 64, 3), dtype=np.uint8)
            for i in range(n_frames):
                vf = av.VideoFrame.from_ndarray(black, format="rgb24")
                vf.pts = i
                for packet in v_stream.encode(vf):
                    out.mux(packet)
            for packet in v_stream.encode(None):
                out.mux(packet)
    return buf.getvalue()


def encode_video_only(*, seconds: float = 1.0, fmt: str = "mp4") -> bytes:
    """Encode a small black video with no audio track (for tests and error paths).

    Parameters
    ----------
    seconds : float
        Duration in seconds.
    fmt : str
        ``mp4``, ``mov`` or ``webm``.

    Returns
    -------
    bytes
        The encoded file.
    """
    import av

    if fmt not in {"mp4", "mov", "webm"}:
        raise ParameterError(f"fmt={fmt!r} must be mp4, mov or webm")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream("libvpx" if fmt == "webm" else "mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        black = np.zeros((48, 64, 3), dtype=np.uint8)
        for i in range(max(1, round(seconds * 10))):
            frame = av.VideoFrame.from_ndarray(black, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
