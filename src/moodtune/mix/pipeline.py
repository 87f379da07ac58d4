"""Music under a voice track or a video: pick a track, render, export atomically.

:func:`mix_for` is what every interface calls (``moodtune mix``, ``POST /v1/mix``, the
bot's ``/mix``); :func:`mix_bytes` wraps it for uploads that arrive as bytes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune import config
from moodtune.errors import CatalogError, MoodtuneError, NoSpeechError, ParameterError
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
    load_music,
    render_mix,
    true_peak_db,
    write_audio,
    write_video,
)

if TYPE_CHECKING:
    from moodtune.service import EmotionResult, Moodtune

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


#: An absolute POSIX path inside a message (quoted or not).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"/]+/)+[^\s'\",;:]+")


@dataclass
class MixResult:
    """What :func:`mix_for` made.

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
        The voice's emotion, when the track was recommended.
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
    emotion: EmotionResult | None = field(default=None, repr=False)

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


def _check_request(
    input_path: Path, output: Path | None, strategy: str, loudness: float
) -> tuple[Path, bool]:
    """Validate everything that needs no decoding; return (output path, video out)."""
    from moodtune.recommend import STRATEGIES

    if strategy not in STRATEGIES:
        raise ParameterError(
            f"strategy {strategy!r} is unknown; choose one of {', '.join(STRATEGIES)}"
        )
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


def _pick_track(
    service: Moodtune,
    *,
    track: str | None,
    input_path: Path,
    strategy: str,
    emotion_fn: Any,
    voice_s: float = 0.0,
) -> tuple[dict[str, Any], EmotionResult | None]:
    """Return (track info with ``local_path``, the voice emotion when recommended).

    A recommended track is a song (60 s or more, not silent: :func:`moodtune.recommend.
    songs.song_mask`) and, among the five best fits, the first at least as long as the
    voice; when no local track qualifies, the info's ``note`` says what was used instead.
    """
    if track is not None:
        p = Path(track).expanduser()
        if p.is_file():
            return {"id": None, "name": p.stem, "local_path": str(p)}, None
        row = service.catalog().get_track(track)
        if row is not None:
            served = service.catalog().playable_path(track)
            if served is None:
                raise ParameterError(
                    f"catalog track {track!r} has no local audio file; scan its folder with "
                    "`moodtune scan` or pass --track FILE"
                )
            return {"id": track, "name": row.get("name"), "local_path": str(served)}, None
        raise ParameterError(
            f"--track {track!r} is neither a catalog id nor an existing music file"
        )
    from moodtune.recommend import Filters, Recommender
    from moodtune.recommend.reasons import MOOD_WORDS

    table = service.catalog().load_table()
    playable = service.catalog().playable_ids()  # scanned files under a library root only
    local = np.array([str(t) in playable for t in table.id.tolist()], dtype=bool)
    if not local.any():
        raise CatalogError(
            f"the catalog has no track with a local audio file ({len(table):,} tracks, none "
            "scanned); run `moodtune scan MUSIC_FOLDER` first, or pass --track FILE"
        )
    emotion = emotion_fn()
    sub = table.take(np.flatnonzero(local))
    rec = Recommender(sub)
    notes: list[str] = []

    def best(filters: Filters) -> list[Any]:
        return list(
            rec.recommend(
                emotion.emotion.valence,
                emotion.emotion.arousal,
                strategy=strategy,
                n=min(5, len(sub)),
                mood=MOOD_WORDS[emotion.emotion.label],
                filters=filters,
                variety=0.0,
            )
        )

    try:
        picks = best(Filters())
    except ParameterError:
        picks = best(Filters(min_duration_s=None))
        notes.append("no local track is a song of 60 s or more; a shorter one is used")
    length = np.asarray(sub.duration_ms, dtype=np.float64) / 1000.0
    pick = next((p for p in picks if length[p.index] >= voice_s), None)
    if pick is None:
        pick = max(picks, key=lambda p: float(np.nan_to_num(length[p.index])))
        notes.append(
            f"no fitting track is as long as the voice ({voice_s:.0f} s); "
            f"the {length[pick.index]:.0f} s track loops under it"
        )
    i = pick.index
    info = {
        "id": str(sub.id[i]),
        "name": str(sub.name[i]),
        "local_path": str(service.catalog().playable_path(str(sub.id[i]))),
        "reason": pick.reason,
    }
    if notes:
        info["note"] = "; ".join(notes)
    return info, emotion


def mix_for(
    service: Moodtune,
    input_path: str | Path,
    *,
    track: str | None = None,
    strategy: str = "match",
    output: str | Path | None = None,
    loudness: float = -16.0,
    ducking: DuckingParams | None = None,
    user: str | None = None,
) -> MixResult:
    """Lay music under a voice recording or a video and write the result.

    Parameters
    ----------
    service : Moodtune
        The facade: its catalog (``--track ID`` or a recommendation) and its emotion
        models (a recommendation). A ``track`` that is a file path uses neither.
    input_path : str or Path
        A voice recording (any format :func:`moodtune.audio.decode.decode` reads) or a
        video (MP4, MOV, WebM, MKV).
    track : str, optional
        A catalog id or a music file; without it a track with a local file is
        recommended for the voice's emotion.
    strategy : str
        Recommendation strategy: ``match``, ``uplift``, ``calm`` or ``energize``.
    output : str or Path, optional
        Output file; ``.mp3``, ``.m4a``, ``.wav`` for audio, or ``.mp4``, ``.mov``,
        ``.mkv``, ``.webm`` for a video input (video stream copied). Default: next to the
        input, ``NAME.mix.m4a`` (audio) or ``NAME.mix.EXT`` (video).
    loudness : float
        Integrated loudness target of the mix, LUFS (-16 default; -14 web, -23 broadcast).
    ducking : DuckingParams, optional
        Ducking depth and timing.
    user : str, optional
        Passed to the emotion model (per-user voice statistics).

    Returns
    -------
    MixResult

    Raises
    ------
    ParameterError
        Bad strategy, loudness, paths, extension, input without audio, unreadable input.
    NoSpeechError
        The input holds no speech.
    CatalogError
        No track in the catalog has a local audio file.
    """
    from moodtune.audio.decode import decode
    from moodtune.audio.vad import speech_segments

    input_path = Path(input_path).expanduser()
    out_path, video_out = _check_request(
        input_path, None if output is None else Path(output), strategy, loudness
    )
    audio = decode(input_path, sr=MIX_SR, max_seconds=MAX_MIX_SECONDS, max_bytes=MAX_MIX_BYTES)
    if video_out and not audio.has_video:
        raise ParameterError(
            f"{input_path} has no video stream, so it cannot become {out_path.suffix}; "
            "use .mp3, .m4a or .wav"
        )
    voice = audio.y
    segments = speech_segments(voice, sr=MIX_SR, min_silence_s=0.25, pad_s=0.05)
    speech_s = sum(e - s for s, e in segments) / MIX_SR
    if speech_s < 0.25:
        raise NoSpeechError(
            f"no speech found in {input_path} ({audio.duration_s:.1f} s of audio); "
            "mixing needs a voice to lay the music under"
        )

    def hear() -> EmotionResult:
        # The voice as decoded (16 kHz FLAC, at most the service's voice limit): a large
        # video or a long recording need not pass the voice path's size limits again.
        import soxr

        from moodtune.audio.encode import encode_audio

        limit = float(getattr(service, "max_voice_seconds", 300.0))
        y16 = soxr.resample(voice[: int(limit * MIX_SR)], MIX_SR, 16000)
        return service.emotion_of(audio=encode_audio(y16, sr=16000, fmt="flac"), user=user)

    info, emotion = _pick_track(
        service,
        track=track,
        input_path=input_path,
        strategy=strategy,
        emotion_fn=hear,
        voice_s=voice.shape[-1] / MIX_SR,
    )
    music = load_music(info["local_path"], sr=MIX_SR)
    n = voice.shape[0]
    beats = beat_times(music, sr=MIX_SR) if music.shape[1] < n + 3 * MIX_SR else None
    fitted = fit_music(music, sr=MIX_SR, n_samples=n, beats_s=beats)
    stems = render_mix(
        voice, fitted, sr=MIX_SR, segments=segments, target_lufs=float(loudness), ducking=ducking
    )
    lossy = out_path.suffix.lower() != ".wav"

    def write(tmp: Path) -> None:
        y = stems.mix
        for _ in range(3):
            if video_out:
                write_video(tmp, input_path, y, sr=MIX_SR)
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

    _write_atomically(out_path, write)
    result = MixResult(
        output=out_path,
        duration_s=n / MIX_SR,
        track=info,
        loudness_lufs=stems.loudness_lufs,
        true_peak_dbtp=stems.true_peak_dbtp,
        duck_depth_db=duck_depth_db(stems.music, sr=MIX_SR, segments=segments),
        speech_s=speech_s,
        video=video_out,
        target_lufs=float(loudness),
        strategy=strategy if track is None else None,
        emotion=emotion,
    )
    log.info("mixed %s -> %s: %s", input_path, out_path, result.to_dict())
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


def mix_bytes(
    service: Moodtune,
    data: bytes,
    *,
    filename: str = "voice.ogg",
    output_ext: str | None = None,
    track: str | None = None,
    strategy: str = "match",
    loudness: float = -16.0,
    user: str | None = None,
) -> tuple[bytes, MixResult]:
    """Mix an uploaded file given as bytes and return the mixed file's bytes.

    The hook for ``POST /v1/mix`` and the bot's ``/mix``: the upload goes to a private
    temporary folder, :func:`mix_for` runs, the result is read back and the folder removed.

    Parameters
    ----------
    data : bytes
        The uploaded voice recording or video.
    filename : str
        The upload's name (only its extension is used: it tells a video from a voice).
    output_ext : str, optional
        ``.mp3``, ``.m4a``, ``.wav``, or a video extension; default ``.m4a`` for audio and
        the input's extension for video.

    Returns
    -------
    (bytes, MixResult)
        The file's bytes and the mix's description (its ``output`` path no longer exists).
    """
    if not data:
        raise ParameterError("the upload is empty (0 bytes); send a voice recording or a video")
    suffix = Path(filename).suffix.lower() or ".bin"
    if not suffix[1:].isalnum() or len(suffix) > 6:
        suffix = ".bin"
    with tempfile.TemporaryDirectory(prefix="moodtune-mix-") as tmpdir:
        src = Path(tmpdir) / f"input{suffix}"
        src.write_bytes(data)
        out = None
        if output_ext is not None:
            ext = output_ext if output_ext.startswith(".") else f".{output_ext}"
            out = Path(tmpdir) / f"mix{ext.lower()}"
        try:
            result = mix_for(
                service,
                src,
                track=track,
                strategy=strategy,
                output=out,
                loudness=loudness,
                user=user,
            )
        except MoodtuneError as exc:  # name the upload, never the server's temporary files
            message = str(exc).replace(str(src), "the uploaded file")
            message = message.replace(tmpdir, "a temporary folder")
            message = _ABSOLUTE_PATH.sub("a file on the server", message)  # e.g. the music
            if message == str(exc):
                raise
            raise type(exc)(message) from None
        return result.output.read_bytes(), result


__all__ = [
    "MAX_MIX_SECONDS",
    "MEDIA_TYPES",
    "MixResult",
    "TRUE_PEAK_CEILING_DB",
    "mix_bytes",
    "mix_for",
]
