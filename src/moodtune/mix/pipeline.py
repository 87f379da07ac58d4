"""Music under a voice track or a video: check, decode the voice, render, export atomically.

Pure rendering: this module never chooses the music nor hears the voice. The facade
(:meth:`moodtune.service.Moodtune.mix`, what ``moodtune mix``, ``POST /v1/mix`` and the
bot's ``/mix`` call) checks the request (:func:`check_request`), decodes the voice
(:func:`read_voice`), chooses the track (:mod:`moodtune.recommend.background`) and hands
the decoded voice and music to :func:`render_file`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune import config
from moodtune.errors import NoSpeechError, ParameterError
from moodtune.mix.envelope import DuckingParams
from moodtune.mix.render import (
    AUDIO_FORMATS,
    MIX_SR,
    TRUE_PEAK_CEILING_DB,
    VIDEO_FORMATS,
    beat_times,
    decode_stereo,
    duck_depth_db,
    fit_music,
    render_mix,
    true_peak_db,
    write_audio,
    write_video,
)

if TYPE_CHECKING:
    from moodtune.audio.decode import DecodedAudio

log = logging.getLogger(__name__)

#: Longest voice track or video accepted for mixing, in seconds (``config.limits()``).
MAX_MIX_SECONDS = config.limits().mix_seconds
#: Largest input file accepted for mixing, in bytes (``config.limits().file_bytes``).
MAX_MIX_BYTES = config.limits().file_bytes
#: Loudness targets accepted, in LUFS.
LOUDNESS_RANGE = (-36.0, -6.0)
#: MIME type of each output extension (for an HTTP response or a bot upload).
MEDIA_TYPES: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}
#: Extensions taken as video input.
VIDEO_INPUTS = frozenset({".mp4", ".mov", ".webm", ".mkv", ".m4v"})


@dataclass
class MixResult:
    """What a mix made (:func:`render_file`).

    Attributes
    ----------
    output : Path
        The written file.
    duration_s : float
        Duration of the mix (equal to the input's audio), in seconds.
    track : dict
        ``id`` (None for a file), ``name``, ``local_path`` of the music used.
    loudness_lufs, true_peak_dbtp : float
        Integrated loudness of the rendered mix and its 4x-oversampled true peak (for
        lossy outputs, measured on the encoded file as decoded).
    duck_depth_db : float
        Music level in the pauses minus during speech (NaN if the voice never pauses).
    speech_s : float
        Seconds of detected speech.
    video : bool
        Whether the output is a video (stream-copied picture + new soundtrack).
    emotion : EmotionResult, optional
        The voice's emotion (:class:`moodtune.service.EmotionResult`, anything with a
        ``to_dict()``), when the track was recommended.
    """

    output: Path
    duration_s: float
    track: dict[str, Any]
    loudness_lufs: float
    true_peak_dbtp: float
    duck_depth_db: float
    speech_s: float
    video: bool
    target_lufs: float
    strategy: str | None = None
    emotion: Any = field(default=None, repr=False)

    @property
    def media_type(self) -> str:
        """MIME type of the output file (``audio/mp4``, ``video/mp4``, ...)."""
        return MEDIA_TYPES.get(self.output.suffix.lower(), "application/octet-stream")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""

        def num(x: float, nd: int = 2) -> float | None:
            return round(float(x), nd) if np.isfinite(x) else None

        out: dict[str, Any] = {
            "output": str(self.output),
            "duration_s": num(self.duration_s, 3),
            "video": self.video,
            "media_type": self.media_type,
            "track": self.track,
            "target_lufs": self.target_lufs,
            "loudness_lufs": num(self.loudness_lufs),
            "true_peak_dbtp": num(self.true_peak_dbtp),
            "duck_depth_db": num(self.duck_depth_db, 1),
            "speech_s": num(self.speech_s),
        }
        if self.strategy is not None:
            out["strategy"] = self.strategy
        if self.emotion is not None:
            out["emotion"] = self.emotion.to_dict()
        return out

    def public_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without anything private to the server or the speaker.

        For a response header or a chat: no output path, no music file path and no
        transcript (only the emotion's label, probabilities and point).
        """
        out = self.to_dict()
        out.pop("output", None)
        out["track"] = {k: v for k, v in self.track.items() if k != "local_path"}
        emotion = out.get("emotion")
        if isinstance(emotion, dict):
            emotion.pop("transcript", None)
            emotion.pop("message", None)
            emotion.pop("parts", None)
        return out


def check_request(input_path: Path, output: Path | None, *, loudness: float) -> tuple[Path, bool]:
    """Validate everything that needs no decoding; return (output path, video out).

    Raises
    ------
    ParameterError
        Bad loudness, a missing input, an unknown or unwritable output, or the input as
        the output.
    """
    if (
        isinstance(loudness, bool)
        or not isinstance(loudness, int | float)
        or not np.isfinite(loudness)
        or not LOUDNESS_RANGE[0] <= loudness <= LOUDNESS_RANGE[1]
    ):
        raise ParameterError(
            f"loudness={loudness!r} must be a target in LUFS from {LOUDNESS_RANGE[0]:g} to "
            f"{LOUDNESS_RANGE[1]:g} (-16 podcasts, -14 web video, -23 broadcast)"
        )
    if not input_path.is_file():
        raise ParameterError(f"{input_path}: no such file; give a voice recording or a video")
    in_ext = input_path.suffix.lower()
    if output is None:
        ext = in_ext if in_ext in VIDEO_FORMATS else ".m4a"
        output = input_path.with_name(f"{input_path.stem}.mix{ext}")
    output = Path(output).expanduser()
    ext = output.suffix.lower()
    known = sorted(set(AUDIO_FORMATS) | set(VIDEO_FORMATS))
    if ext not in known:
        raise ParameterError(
            f"output {output.name!r} has an unknown extension {ext or '(none)'!r}; "
            f"use one of {', '.join(known)}"
        )
    video_out = ext in VIDEO_FORMATS
    if output.exists() and output.is_dir():
        raise ParameterError(f"output {output} is a folder; give a file name")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(f"cannot write {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"cannot write {output}: folder {parent} is not writable")
    if output.resolve() == input_path.resolve():
        raise ParameterError(f"output {output} is the input; choose another file name")
    return output, video_out


@dataclass
class Voice:
    """A decoded voice track and where it speaks.

    Attributes
    ----------
    path : Path
        The input file (a video's picture is copied from it).
    y : np.ndarray
        Shape (n,), mono float audio at :data:`MIX_SR`.
    segments : list of (int, int)
        Speech spans, in samples.
    speech_s : float
        Seconds of speech.
    """

    path: Path
    y: np.ndarray
    segments: list[tuple[int, int]]
    speech_s: float

    @property
    def duration_s(self) -> float:
        """Length of the voice track, in seconds."""
        return float(self.y.shape[-1]) / MIX_SR


def read_voice(input_path: Path, *, video_out: str | None = None) -> Voice:
    """Decode a voice recording or a video's sound at :data:`MIX_SR` and find its speech.

    ``video_out``: the extension of a video output (the input must then hold a picture).

    Raises
    ------
    ParameterError
        A video output asked of an input without a picture; unreadable input.
    NoSpeechError
        The input holds no speech.
    """
    from moodtune.audio.decode import decode
    from moodtune.audio.vad import speech_segments

    audio: DecodedAudio = decode(
        input_path, sr=MIX_SR, max_seconds=MAX_MIX_SECONDS, max_bytes=MAX_MIX_BYTES
    )
    if video_out and not audio.has_video:
        raise ParameterError(
            f"{input_path} has no video stream, so it cannot become {video_out}; "
            "use .mp3, .m4a or .wav"
        )
    segments = speech_segments(audio.y, sr=MIX_SR, min_silence_s=0.25, pad_s=0.05)
    speech_s = sum(e - s for s, e in segments) / MIX_SR
    if speech_s < 0.25:
        raise NoSpeechError(
            f"no speech found in {input_path} ({audio.duration_s:.1f} s of audio); "
            "mixing needs a voice to lay the music under"
        )
    return Voice(path=input_path, y=audio.y, segments=segments, speech_s=speech_s)


def render_file(
    voice: Voice,
    music: np.ndarray,
    output: Path,
    *,
    video_out: bool = False,
    loudness: float = -16.0,
    ducking: DuckingParams | None = None,
    loop: bool = True,
    track: dict[str, Any] | None = None,
    strategy: str | None = None,
    emotion: Any = None,
) -> MixResult:
    """Lay ``music`` under ``voice`` (ducked, loudness-matched) and write ``output`` atomically.

    Parameters
    ----------
    voice : Voice
        The decoded voice (:func:`read_voice`).
    music : np.ndarray
        Shape (2, m), stereo float audio at :data:`MIX_SR` (looped or trimmed to fit).
    output : Path
        Checked output file (:func:`check_request`); a video output copies the input's
        picture.
    loudness : float
        Integrated loudness target of the mix, LUFS.
    ducking : DuckingParams, optional
        Ducking depth and timing.
    loop : bool
        Repeat music shorter than the voice; ``False`` plays it once and fades it out.
    track, strategy, emotion
        What the music is and why, reported in the :class:`MixResult`.

    Raises
    ------
    ParameterError, UnsupportedMediaError
        The output cannot be written.
    """
    n = voice.y.shape[0]
    beats = beat_times(music, sr=MIX_SR) if music.shape[1] < n + 3 * MIX_SR else None
    fitted = fit_music(music, sr=MIX_SR, n_samples=n, beats_s=beats, loop=loop)
    stems = render_mix(
        voice.y,
        fitted,
        sr=MIX_SR,
        segments=voice.segments,
        target_lufs=float(loudness),
        ducking=ducking,
    )
    lossy = output.suffix.lower() != ".wav"

    def write(tmp: Path) -> None:
        y = stems.mix
        for _ in range(3):
            if video_out:
                write_video(tmp, voice.path, y, sr=MIX_SR)
            else:
                write_audio(tmp, y, sr=MIX_SR)
            if not lossy:
                return
            # A lossy codec can push peaks up: measure what a player will decode.
            encoded_tp = true_peak_db(decode_stereo(tmp, sr=MIX_SR))
            stems.true_peak_dbtp = encoded_tp  # report what a player will decode
            over = encoded_tp - (TRUE_PEAK_CEILING_DB - 0.05)
            if over <= 0:
                return
            log.info("%s: encoded true peak %.2f dB over the ceiling; re-encoding", tmp, over)
            y = y * np.float32(10.0 ** (-(over + 0.1) / 20.0))
            stems.loudness_lufs -= over + 0.1

    _write_atomically(output, write)
    result = MixResult(
        output=output,
        duration_s=n / MIX_SR,
        track=dict(track or {}),
        loudness_lufs=stems.loudness_lufs,
        true_peak_dbtp=stems.true_peak_dbtp,
        duck_depth_db=duck_depth_db(stems.music, sr=MIX_SR, segments=voice.segments),
        speech_s=voice.speech_s,
        video=video_out,
        target_lufs=float(loudness),
        strategy=strategy,
        emotion=emotion,
    )
    log.info("mixed %s -> %s: %s", voice.path, output, result.to_dict())
    return result


def _write_atomically(path: Path, write: Any) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    Nothing is left behind on failure.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise ParameterError(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise ParameterError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


__all__ = [
    "MAX_MIX_SECONDS",
    "MEDIA_TYPES",
    "MixResult",
    "TRUE_PEAK_CEILING_DB",
    "Voice",
    "check_request",
    "read_voice",
    "render_file",
]
