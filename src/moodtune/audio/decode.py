"""Decoding whatever people send into 16 kHz mono float audio.

PyAV (FFmpeg bundled in the wheel; no system ffmpeg) opens the container and decodes
the first audio stream; FFmpeg's resampler downmixes to mono, and soxr (high quality)
changes the sample rate. Supported in practice: Ogg/Opus (Telegram voice notes),
WebM/Opus (browser MediaRecorder), MP3, WAV, FLAC, M4A/AAC, and the audio track of
MP4/MOV/WebM video; anything else FFmpeg reads works too.

Limits
------
``max_bytes`` (default :data:`MAX_BYTES`, ``config.limits().file_bytes``) is checked
before decoding, and ``max_seconds`` (default :data:`MAX_SECONDS`,
``config.limits().voice_seconds``) both against the duration the container declares and
while decoding, so a file that lies about its length cannot exhaust memory. Half a
second over ``max_seconds`` is tolerated (codec padding).

A tiny file can hold hours of silence at an absurd sample rate (FLAC allows 655,350 Hz),
so memory is bounded by the output, not by the file: the stream's sample rate and
channel count are checked against :data:`moodtune.config.MAX_SAMPLE_RATE` and
:data:`moodtune.config.MAX_CHANNELS` before anything is decoded (and again on every
frame), and each decoded block is downmixed and resampled to ``sr`` at once (a
streaming soxr resampler), so at most ``max_seconds`` of audio at ``sr`` is ever held.

Errors
------
Every failure is one line in the moodtune error family:

==================================  =============================================
case                                error
==================================  =============================================
missing path, empty file            :class:`~moodtune.errors.ParameterError`
too many bytes or seconds           :class:`~moodtune.errors.InputTooLargeError`
not audio/video (text, image)       :class:`~moodtune.errors.UnsupportedMediaError`
a video with no audio stream        :class:`~moodtune.errors.UnsupportedMediaError`
truncated or damaged file           :class:`~moodtune.errors.CorruptMediaError`
==================================  =============================================

Truncation is caught where the file tells: an Ogg page cut short, a WAV data chunk
shorter than its header says, a container whose decoded audio is shorter than 90 %
of the duration it declares, or an MP4 without its index. A stream that declares no
duration (live WebM from a browser's MediaRecorder) and is cut between two blocks
cannot be told from a shorter recording: what is there is decoded.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moodtune import config
from moodtune.config import MAX_CHANNELS, MAX_SAMPLE_RATE
from moodtune.errors import (
    CorruptMediaError,
    InputTooLargeError,
    ParameterError,
    UnsupportedMediaError,
)

logger = logging.getLogger(__name__)

#: Default sample rate of decoded audio, in Hz (what Whisper and the VAD expect).
SAMPLE_RATE = 16000
#: Default longest voice message accepted, in seconds (``config.limits().voice_seconds``).
MAX_SECONDS = config.limits().voice_seconds
#: Default largest file accepted, in bytes (``config.limits().file_bytes``).
MAX_BYTES = config.limits().file_bytes
#: Decoded audio shorter than this share of the declared duration counts as truncated.
_TRUNCATED_SHARE = 0.9
#: What a caller decodes (``kind``): the noun and the formats its error messages name.
KINDS: dict[str, tuple[str, str]] = {
    "voice": (
        "voice message",
        "a voice message (ogg/opus, webm, mp3, m4a, wav, flac) or a video with sound",
    ),
    "music": ("music file", "a music file (mp3, flac, ogg, opus, m4a, wav, aiff)"),
    "media": ("recording", "an audio file or a video with sound"),
}
#: FFmpeg demuxers that read pictures or text, not media a person records.
_NOT_MEDIA_FORMATS = frozenset(
    {"tty", "image2", "image2pipe", "gif", "apng", "webp_pipe", "svg_pipe"}
)
#: File signatures of media containers: a file that starts so but fails to open is damaged.
_MEDIA_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"OggS"),
    (0, b"RIFF"),
    (0, b"ID3"),
    (0, b"fLaC"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (4, b"ftyp"),  # MP4 / M4A / MOV
    (0, b"\xff\xfb"),
    (0, b"\xff\xf3"),
    (0, b"\xff\xf2"),  # MPEG audio frames
)


@dataclass(frozen=True)
class DecodedAudio:
    """Decoded audio with what was learned about its source.

    Attributes
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float32, finite, at ``sr``.
    sr : int
        Sample rate of ``y`` in Hz.
    source_sr : int
        Sample rate of the audio stream in the file, in Hz.
    channels : int
        Channel count of the audio stream in the file.
    container : str
        FFmpeg's name for the container format (e.g. ``"ogg"``).
    codec : str
        FFmpeg's name for the audio codec (e.g. ``"opus"``).
    has_video : bool
        Whether the file also holds a video stream.
    """

    y: np.ndarray = field(repr=False)
    sr: int
    source_sr: int
    channels: int
    container: str
    codec: str
    has_video: bool

    @property
    def duration_s(self) -> float:
        """Duration of ``y`` in seconds."""
        return self.y.shape[0] / self.sr


def _check_params(sr: int, max_seconds: float, max_bytes: int, kind: str = "voice") -> None:
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r} must be one of {', '.join(KINDS)}")
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or not 4000 <= sr <= 192000:
        raise ParameterError(f"sr={sr!r} must be an integer sample rate in Hz from 4000 to 192000")
    if not np.isfinite(max_seconds) or max_seconds <= 0:
        raise ParameterError(f"max_seconds={max_seconds!r} must be a positive number of seconds")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int | np.integer) or max_bytes <= 0:
        raise ParameterError(f"max_bytes={max_bytes!r} must be a positive integer")


def _looks_like_media(head: bytes) -> bool:
    return any(head[off : off + len(magic)] == magic for off, magic in _MEDIA_MAGIC)


def _ogg_truncation(data: bytes) -> str | None:
    """Describe how an Ogg file is cut short, or return None when its last page is whole.

    Ogg declares no total length, and FFmpeg silently drops a partial last page, so the
    page structure is walked here: every page must be complete.
    """
    pos = 0
    size = len(data)
    while pos < size:
        if data[pos : pos + 4] != b"OggS" or pos + 27 > size:
            return f"the Ogg page at byte {pos} is cut short or damaged"
        n_segments = data[pos + 26]
        if pos + 27 + n_segments > size:
            return f"the Ogg page at byte {pos} is cut short"
        body = sum(data[pos + 27 : pos + 27 + n_segments])
        end = pos + 27 + n_segments + body
        if end > size:
            return f"the last Ogg page needs {end - size} more bytes"
        pos = end
    return None


def _wav_truncation(data: bytes) -> str | None:
    """Describe how a RIFF/WAVE file is cut short, or return None when its data is whole."""
    if data[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(data):
        chunk, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            available = len(data) - pos - 8
            if 0 < length < 0xFFFFFFFF and length > available:
                return f"its header declares {length:,} bytes of samples but {available:,} remain"
            return None
        pos += 8 + length + (length & 1)
    return None


def _open_source(
    source: str | Path | bytes | bytearray | memoryview, max_bytes: int, kind: str = "voice"
) -> tuple[Any, str, bytes]:
    """Return (file object or path for av.open, a label for messages, the first bytes)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        label = "the audio data"
        size = len(data)
        handle: Any = io.BytesIO(data)
        head = data[:16]
    elif isinstance(source, str | Path):
        path = Path(source).expanduser()
        label = str(path)
        if not path.exists():
            raise ParameterError(f"{path}: no such file; check the path")
        if not path.is_file():
            raise ParameterError(f"{path} is not a regular file; give an audio or video file")
        size = path.stat().st_size
        handle = str(path)
        with path.open("rb") as fh:
            head = fh.read(16)
    else:
        raise ParameterError(
            f"source must be a path or bytes, got {type(source).__name__}; pass a file path"
        )
    noun, what = KINDS[kind]
    if size == 0:
        raise ParameterError(f"{label} is empty (0 bytes); give {what}")
    if size > max_bytes:
        raise InputTooLargeError(
            f"{label} is {size:,} bytes, over the limit of {max_bytes:,} bytes "
            f"for a {noun}; give a smaller file"
        )
    return handle, label, head


def _too_long(label: str, seconds: float, max_seconds: float, kind: str) -> InputTooLargeError:
    noun = KINDS[kind][0]
    return InputTooLargeError(
        f"{label} lasts {seconds:.1f} s or more, over the limit of {max_seconds:g} s "
        f"for a {noun}; give a shorter one"
    )


def _check_format(label: str, sample_rate: int, channels: int) -> None:
    """Refuse absurd sample rates and channel counts before (more) audio is decoded."""
    if sample_rate > MAX_SAMPLE_RATE:
        raise UnsupportedMediaError(
            f"{label} has a sample rate of {sample_rate:,} Hz, over the limit of "
            f"{MAX_SAMPLE_RATE:,} Hz; convert it to 48 kHz or lower"
        )
    if channels > MAX_CHANNELS:
        raise UnsupportedMediaError(
            f"{label} has {channels} audio channels, over the limit of {MAX_CHANNELS}; "
            "mix it down to stereo or mono"
        )


def _check_whole_file(handle: Any, head: bytes, label: str) -> None:
    """Refuse an Ogg or WAV file whose own structure says it is cut short."""
    if head[:4] == b"OggS" or head[:4] == b"RIFF":
        data = handle.getvalue() if isinstance(handle, io.BytesIO) else Path(handle).read_bytes()
        problem = _ogg_truncation(data) if head[:4] == b"OggS" else _wav_truncation(data)
        del data
        if problem:
            raise CorruptMediaError(
                f"{label} is truncated or damaged: {problem}; send the whole file again"
            )


def _audio_stream(container: Any, *, label: str, head: bytes, what_to_give: str) -> Any:
    """The first audio stream of an open container, or the error that says why there is none."""
    fmt_name = container.format.name
    kinds = sorted({s.type for s in container.streams if s.type})
    if fmt_name in _NOT_MEDIA_FORMATS or fmt_name.endswith("_pipe"):
        seen = "text" if fmt_name == "tty" else "a picture"
        raise UnsupportedMediaError(
            f"{label} is not an audio or video file (it is {seen}); give {what_to_give}"
        )
    if not container.streams.audio:
        if not kinds and _looks_like_media(head):
            raise CorruptMediaError(
                f"{label} is a damaged {fmt_name} file: no stream could be read; "
                "send the file again"
            )
        what = "only " + " and ".join(kinds) if kinds else "no streams at all"
        raise UnsupportedMediaError(
            f"{label} has no audio stream ({fmt_name} with {what}); send a file with sound"
        )
    stream = container.streams.audio[0]
    if stream.codec_context is None:
        raise CorruptMediaError(
            f"{label} has an audio stream whose codec cannot be decoded (damaged header "
            f"or unknown codec in {fmt_name}); send the file again or convert it"
        )
    return stream


def _declared_seconds(container: Any, stream: Any) -> float | None:
    """The duration the stream (or else the container) declares, in seconds, if any."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / 1_000_000)
    return None


def decode(
    source: str | Path | bytes,
    *,
    sr: int = SAMPLE_RATE,
    max_seconds: float = MAX_SECONDS,
    max_bytes: int = MAX_BYTES,
    kind: str = "voice",
) -> DecodedAudio:
    """Decode the first audio stream of a file into mono float audio at ``sr``.

    Parameters
    ----------
    source : str, Path or bytes
        A file path, or the file's bytes (as a bot or an upload receives them).
    sr : int
        Output sample rate in Hz.
    max_seconds : float
        Longest audio accepted, in seconds; decoding stops as soon as it is passed.
    max_bytes : int
        Largest file accepted, in bytes.
    kind : {"voice", "music", "media"}
        What the caller expects, for the wording of error messages only.

    Returns
    -------
    DecodedAudio
        The audio and what the file held.

    Raises
    ------
    ParameterError, InputTooLargeError, UnsupportedMediaError, CorruptMediaError
        See the module docstring.
    """
    import av

    _check_params(sr, max_seconds, max_bytes, kind)
    what_to_give = KINDS[kind][1]
    handle, label, head = _open_source(source, max_bytes, kind)
    _check_whole_file(handle, head, label)
    try:
        container = av.open(handle, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        if _looks_like_media(head):
            raise CorruptMediaError(
                f"{label} looks like a media file but cannot be opened: it is damaged or "
                f"truncated ({exc.strerror or exc}); send the file again"
            ) from exc
        raise UnsupportedMediaError(
            f"{label} is not an audio or video file that can be read; give {what_to_give}"
        ) from exc
    with container:
        fmt_name = container.format.name
        has_video = bool(container.streams.video)
        stream = _audio_stream(container, label=label, head=head, what_to_give=what_to_give)
        codec_name = stream.codec_context.name
        source_sr = stream.codec_context.sample_rate or 0
        channels = stream.codec_context.channels or 0
        _check_format(label, source_sr, channels)  # before a single packet is decoded
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > max_seconds + 0.5:
            raise _too_long(label, declared, max_seconds, kind)
        blocks, n_in, errors, source_sr, channels = _decode_blocks(
            av, container, stream, label=label, sr=sr, max_seconds=max_seconds, kind=kind
        )

    decoded_s = n_in / source_sr if source_sr else 0.0
    if n_in == 0:
        detail = f" ({errors[0]})" if errors else ""
        raise CorruptMediaError(
            f"{label} has an audio stream ({codec_name}) but no audio could be decoded{detail}; "
            "the file is damaged or empty, send it again"
        )
    if declared is not None and decoded_s < _TRUNCATED_SHARE * declared - 0.25:
        raise CorruptMediaError(
            f"{label} is truncated: {decoded_s:.2f} s of audio decoded out of the "
            f"{declared:.2f} s it declares; send the whole file again"
        )
    if errors:
        logger.warning("%s: %d decoding errors skipped (first: %s)", label, len(errors), errors[0])
    y = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    del blocks
    y = y.astype(np.float32, copy=False)
    if not np.all(np.isfinite(y)):
        y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)
    return DecodedAudio(
        y=np.ascontiguousarray(y),
        sr=int(sr),
        source_sr=int(source_sr),
        channels=int(channels),
        container=fmt_name,
        codec=codec_name,
        has_video=has_video,
    )


def _decode_blocks(
    av: Any,
    container: Any,
    stream: Any,
    *,
    label: str,
    sr: int,
    max_seconds: float,
    kind: str,
) -> tuple[list[np.ndarray], int, list[str], int, int]:
    """Decode, downmix and resample block by block, stopping past ``max_seconds``.

    Returns (blocks of mono float32 at ``sr``, samples decoded at the source rate,
    errors skipped, source sample rate, channel count). Only the output blocks are
    kept, so memory is bounded by ``max_seconds * sr`` whatever the source rate.
    """
    import soxr

    source_sr = stream.codec_context.sample_rate or 0
    channels = stream.codec_context.channels or 0
    downmix: Any = None
    out = _BlockSink(label=label, sr=sr, max_seconds=max_seconds, kind=kind)
    errors: list[str] = []
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                errors.append(str(exc))
                if len(errors) > 20:
                    break
                continue
            for frame in frames:
                _check_format(label, frame.sample_rate, len(frame.layout.channels))
                if downmix is None:
                    source_sr = frame.sample_rate
                    channels = len(frame.layout.channels)
                    downmix = av.AudioResampler(format="flt", layout="mono", rate=source_sr)
                    if source_sr != sr:
                        out.rate = soxr.ResampleStream(
                            source_sr, sr, 1, dtype="float32", quality="HQ"
                        )
                try:
                    converted = downmix.resample(frame)
                except (ValueError, av.FFmpegError) as exc:
                    errors.append(f"frame format changed mid-stream: {exc}")
                    continue
                out.take(converted)
        if downmix is not None:
            out.take(downmix.resample(None), last=True)
    except av.FFmpegError as exc:  # demuxing failed: the container is damaged
        errors.append(str(exc))
    return out.blocks, out.n_in, errors, source_sr, channels


class _BlockSink:
    """Mono float32 blocks at ``sr`` from decoded frames; too long past ``max_seconds``."""

    def __init__(self, *, label: str, sr: int, max_seconds: float, kind: str) -> None:
        self.label, self.sr, self.max_seconds, self.kind = label, sr, max_seconds, kind
        self.rate: Any = None  # soxr.ResampleStream, or None when the source is already at sr
        self.blocks: list[np.ndarray] = []
        self.n_in = 0  # samples at the source rate
        self.n_out = 0  # samples at sr
        self.max_out = int(max_seconds * sr) + sr // 2

    def _keep(self, block: np.ndarray) -> None:
        if block.shape[0]:
            self.blocks.append(block)
            self.n_out += block.shape[0]

    def take(self, frames: list[Any], *, last: bool = False) -> None:
        """Add mono frames (resampled to ``sr``); ``last`` flushes the resampler."""
        for frame in frames:
            block = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            self.n_in += block.shape[0]
            if self.rate is not None:
                block = self.rate.resample_chunk(block)
            self._keep(block)
        if last and self.rate is not None:
            self._keep(self.rate.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        if self.n_out > self.max_out:
            raise _too_long(self.label, self.n_out / self.sr, self.max_seconds, self.kind)


def load_audio(
    source: str | Path | bytes,
    *,
    sr: int = SAMPLE_RATE,
    max_seconds: float = MAX_SECONDS,
    max_bytes: int = MAX_BYTES,
    kind: str = "voice",
) -> np.ndarray:
    """Load any audio or video file as mono float32 audio at ``sr``.

    Parameters
    ----------
    source : str, Path or bytes
        A file path, or the file's bytes.
    sr : int
        Output sample rate in Hz (16 kHz by default, what Whisper expects).
    max_seconds : float
        Longest audio accepted, in seconds (``config.limits().voice_seconds`` by default).
    max_bytes : int
        Largest file accepted, in bytes (``config.limits().file_bytes`` by default).
    kind : {"voice", "music", "media"}
        What the caller expects, for the wording of error messages only.

    Returns
    -------
    numpy.ndarray
        Shape (n,), float32, finite, at ``sr``.

    Examples
    --------
    >>> from moodtune.audio.encode import encode_audio
    >>> import numpy as np
    >>> tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    >>> y = load_audio(encode_audio(tone, sr=8000, fmt="flac"))
    >>> y.shape, y.dtype
    ((16000,), dtype('float32'))
    """
    return decode(source, sr=sr, max_seconds=max_seconds, max_bytes=max_bytes, kind=kind).y
