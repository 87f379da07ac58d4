"""The facade's mix part: music under a voice, the track chosen for its mood."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodtune.audio.memory import returns_memory
from moodtune.errors import ParameterError
from moodtune.facade.base import FacadeBase
from moodtune.recommend.requests import check_playlist_request

if TYPE_CHECKING:
    from moodtune.mix.envelope import DuckingParams
    from moodtune.mix.pipeline import MixResult


class MixFacade(FacadeBase):
    """Background music through the facade (:class:`moodtune.service.Moodtune`)."""

    # -- background music ----------------------------------------------------
    def mix(
        self,
        input_path: str | Path,
        *,
        track: str | None = None,
        strategy: str = "match",
        output: str | Path | None = None,
        loudness: float = -16.0,
        ducking: DuckingParams | None = None,
        user: str | None = None,
    ) -> MixResult:
        """Lay music under a voice recording or a video (ducked, loudness-matched); write it.

        ``track`` is a catalog id or a music file; without it, a track with a local file
        that fits the voice's mood and ``strategy`` is chosen
        (:mod:`moodtune.recommend.background`). ``output``: ``.mp3``, ``.m4a``, ``.wav``,
        or a video extension for a video input (default ``NAME.mix.m4a``/``.EXT`` beside
        the input). ``loudness``: target LUFS. ``user``: whose voice it is.

        Raises
        ------
        ParameterError, NoSpeechError, CatalogError
            A bad request or input; no speech; no track with a local file to choose.
        """
        from moodtune.mix.pipeline import MIX_SR, check_request, read_voice, render_file
        from moodtune.mix.render import load_music_stereo
        from moodtune.recommend.background import choose_track, given_track

        check_playlist_request(strategy=strategy)
        src = Path(input_path).expanduser()
        out, video_out = check_request(
            src, None if output is None else Path(output), loudness=loudness
        )
        voice = read_voice(src, video_out=out.suffix if video_out else None)
        emotion = None
        loop = True  # a track the caller named loops under a longer voice
        if track is not None:
            info = given_track(self.catalog(), track)
        else:
            table, rec = self._pool.local_files()
            emotion = self.emotion_of(audio=self._voice_16k(voice.y, MIX_SR), user=user)
            info, loop = choose_track(
                self.catalog(), rec, table, emotion.emotion, strategy=strategy,
                voice_s=voice.duration_s,
            )  # fmt: skip
        return render_file(
            voice,
            load_music_stereo(info["local_path"], sr=MIX_SR),
            out,
            video_out=video_out,
            loudness=loudness,
            ducking=ducking,
            loop=loop,
            track=info,
            strategy=strategy if track is None else None,
            emotion=emotion,
        )

    def _voice_16k(self, y: Any, sr: int) -> Any:
        """A decoded voice as the voice path hears it: 16 kHz, at most its length limit."""
        import soxr

        return soxr.resample(y[: int(self.max_voice_seconds * sr)], sr, 16000)

    @returns_memory
    def mix_upload(
        self,
        data: bytes,
        *,
        filename: str = "voice.ogg",
        output_ext: str | None = None,
        track: str | None = None,
        strategy: str = "match",
        loudness: float = -16.0,
        user: str | None = None,
    ) -> tuple[bytes, MixResult]:
        """:meth:`mix` an uploaded voice track or video; return (the mix's bytes, result).

        ``track`` must be a catalog id (uploads never name server files); ``filename``
        gives the extension only; ``output_ext`` as :meth:`mix`'s output (default ``.m4a``
        for audio, the input's for video).
        """
        from moodtune.audio.upload import upload_as_file

        if track is not None and self.catalog().get_track(track) is None:
            raise ParameterError(f"track {track!r} is not in the catalog; give a catalog id")
        what = "a voice recording or a video"
        with upload_as_file(data, filename=filename, stem="input", what=what) as src:
            out = None
            if output_ext is not None:
                ext = output_ext if output_ext.startswith(".") else f".{output_ext}"
                out = src.with_name(f"mix{ext.lower()}")
            result = self.mix(
                src, track=track, strategy=strategy, output=out, loudness=loudness, user=user
            )
            return result.output.read_bytes(), result
