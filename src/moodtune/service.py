"""The one facade every interface (CLI, HTTP API, web page, bot) calls.

Interfaces never touch models or SQL themselves: they build a :class:`Moodtune` (or
use :func:`get_service`) and call its methods, which validate input at the edge and
raise only :class:`moodtune.errors.MoodtuneError` subclasses.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.audio.decode import MAX_SECONDS as MAX_VOICE_SECONDS
from moodtune.audio.memory import returns_memory
from moodtune.config import DEFAULT_TRACKS
from moodtune.errors import MoodtuneError, ParameterError
from moodtune.music.report import (  # noqa: F401  (SURE_GENRE re-exported)
    SURE_GENRE,
    Describer,
    TrackReport,
    template_description,
)
from moodtune.music.report import sure_genre as _sure_genre  # noqa: F401  (re-exported)
from moodtune.recommend.playlists import LISTENER_MEMORY, latest_feedback  # noqa: F401
from moodtune.recommend.pool import RecommenderPool
from moodtune.recommend.requests import (  # noqa: F401  (JOURNEY_WORDS, journey_end re-exported)
    JOURNEY_WORDS,
    check_playlist_request,
    journey_end,
)
from moodtune.recommend.results import EmotionResult, PlaylistResult
from moodtune.text import carry_mixed, clean_text, get_backend
from moodtune.text.lang import LANGUAGES, detect_language
from moodtune.types import EmotionEstimate

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.scan import ScanReport
    from moodtune.catalog.table import TrackTable
    from moodtune.integrations.mpd import MpdReport
    from moodtune.integrations.playlists import PlaylistEntry, PlaylistFileReport
    from moodtune.integrations.subsonic import (
        SubsonicClient,
        SubsonicPushReport,
        SubsonicScanReport,
    )
    from moodtune.integrations.tags import TagReport
    from moodtune.llm.proposal import TargetProposal
    from moodtune.mix.envelope import DuckingParams
    from moodtune.mix.pipeline import MixResult
    from moodtune.recommend import Filters, Recommender
    from moodtune.speech.backends import SpeakerAdaptive
    from moodtune.speech.emotion import SpeakerStats

log = logging.getLogger(__name__)

#: Listeners whose voice statistics stay in memory (least recently heard dropped first).
VOICE_STATS_IN_MEMORY = 256
#: Listeners whose voice statistics the catalog database keeps (most recent first).
VOICE_STATS_STORED = 10_000


def _llm_wanted(llm: bool | None) -> bool:
    """Whether to ask the LLM: as asked, or (None) whenever ``MOODTUNE_LLM_URL`` is set."""
    if llm is None:
        from moodtune.config import settings

        return settings().llm.url is not None
    return bool(llm)


class Moodtune:
    """Facade over models, catalog and recommender.

    Parameters
    ----------
    catalog_path : Path, optional
        Catalog database; default: the embedded default catalog in ``$MOODTUNE_HOME``.
    text_backend : str, optional
        Text emotion backend name (default ``use_ngram``).
    speech_backend : str, optional
        Speech emotion backend name (default ``whisper_head``).
    max_voice_seconds : float
        Longest voice message accepted (default 300 s).
    """

    def __init__(
        self,
        *,
        catalog_path: Path | None = None,
        text_backend: str | None = None,
        speech_backend: str | None = None,
        max_voice_seconds: float = MAX_VOICE_SECONDS,
    ) -> None:
        self.catalog_path = catalog_path
        self.text_backend = text_backend
        self.speech_backend = speech_backend
        self.max_voice_seconds = max_voice_seconds
        self._speakers: OrderedDict[str, SpeakerStats] = OrderedDict()  # LRU, bounded
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._pool = RecommenderPool(self.catalog)

    def warm_up(self, *, voice: bool = True) -> None:
        """Load the models and the catalog once, so the first request is not slow.

        Servers call it at start-up (in a background thread): the text backend, the
        recommender over the catalog and, with ``voice``, the ASR backend
        (``$MOODTUNE_ASR_BACKEND``, Whisper by default) and the speech emotion backend.
        """
        get_backend(self.text_backend).predict("warm up")
        self._get_recommender()
        if voice:
            from moodtune.speech.asr_backends import get_backend as get_asr_backend
            from moodtune.speech.backends import get_backend as get_speech_backend

            get_asr_backend()
            get_speech_backend(self.speech_backend)

    # -- emotion -------------------------------------------------------------
    def emotion_from_text(self, text: str) -> EmotionResult:
        """Return the emotion of a typed message (Russian or English)."""
        _check_unicode(text)
        cleaned = clean_text(text)
        estimate = get_backend(self.text_backend).predict(cleaned)
        return EmotionResult(
            emotion=estimate,
            language=detect_language(cleaned),
            parts={"text": estimate},
            message=cleaned,
        )

    @returns_memory
    def emotion_from_audio(
        self,
        source: str | Path | bytes | np.ndarray,
        *,
        language: str | None = None,
        user: str | None = None,
    ) -> EmotionResult:
        """Hear a voice message: how it was said (voice) and what was said (text), fused.

        Parameters
        ----------
        source : str, Path, bytes or np.ndarray
            Any container/codec PyAV reads (Ogg/Opus, WebM, MP3, WAV, FLAC, M4A, MP4/MOV),
            or a voice already decoded: shape (n,), 16 kHz mono float audio.
        language : str, optional
            ``"ru"`` or ``"en"`` to force the transcript's language; detected when None
            or ``"auto"``.
        user : str, optional
            Who sent it: the voice head then normalises by this user's running feature
            statistics (kept in memory for the life of the process).

        Raises
        ------
        ParameterError
            Bad language; unreadable, corrupt, empty, over-long or silent audio.
        """
        from moodtune.fusion import fuse
        from moodtune.speech.asr_backends import get_backend as get_asr_backend
        from moodtune.speech.backends import SpeakerAdaptive
        from moodtune.speech.backends import get_backend as get_speech_backend

        lang = None if language in (None, "auto") else language
        if lang is not None and lang not in LANGUAGES:
            raise ParameterError(f"language {language!r} is not supported; use auto, ru or en")
        y = _decoded_voice(source, max_seconds=self.max_voice_seconds)
        analysis = get_asr_backend().transcribe(y, language=lang)
        speech = get_speech_backend(self.speech_backend)
        if isinstance(speech, SpeakerAdaptive):
            stats = self._speaker_stats(user, speech, analysis.states, y)
            voice = speech.predict(y, states=analysis.states, speaker_stats=stats)
        else:
            voice = speech.predict(y, states=analysis.states)
        parts: dict[str, EmotionEstimate] = {"voice": voice}
        transcript = " ".join(analysis.text.split())
        if transcript:
            parts["text"] = get_backend(self.text_backend).predict(clean_text(transcript))
        fused = carry_mixed(fuse(voice, parts.get("text")), parts.get("text"))
        return EmotionResult(
            emotion=fused,
            language=analysis.language or "unknown",
            transcript=transcript,
            parts=parts,
        )

    def _speaker_stats(
        self, user: str | None, speech: SpeakerAdaptive, states: Any, y: Any
    ) -> SpeakerStats | None:
        """Update and return the user's running voice statistics (None without a user).

        At most :data:`VOICE_STATS_IN_MEMORY` listeners are held in memory (least
        recently heard dropped first); every update is stored with the listener in the
        catalog database, which keeps the :data:`VOICE_STATS_STORED` most recent, so a
        restart or an eviction loses nothing that matters.
        """
        if user is None:
            return None
        from moodtune.speech.emotion import SpeakerStats

        features = speech.speaker_features(y, states=states)
        catalog = self.catalog()
        with self._lock:
            stats = self._speakers.pop(user, None)
            if stats is None:
                stored = catalog.get_voice_stats(user)
                try:
                    stats = SpeakerStats.from_dict(stored) if stored else SpeakerStats()
                except (ValueError, TypeError, MoodtuneError):
                    log.warning("stored voice statistics of a listener are unusable; reset")
                    stats = SpeakerStats()
            try:
                stats.update(features)
            except ParameterError:  # e.g. a new head with another feature width
                stats = SpeakerStats()
                stats.update(features)
            self._speakers[user] = stats
            while len(self._speakers) > VOICE_STATS_IN_MEMORY:
                self._speakers.popitem(last=False)
        catalog.put_voice_stats(user, stats.to_dict(), keep=VOICE_STATS_STORED)
        return stats

    # -- catalog -------------------------------------------------------------
    def catalog(self) -> Catalog:
        """Open the catalog once (the embedded default unless a path was given)."""
        with self._lock:
            if self._catalog is None:
                if self.catalog_path is None:
                    from moodtune.catalog.default import open_default_catalog

                    self._catalog = open_default_catalog()
                else:
                    from moodtune.catalog.repository import Catalog

                    self._catalog = Catalog.open(self.catalog_path)
            return self._catalog

    def catalog_stats(self) -> dict[str, Any]:
        """Counts and ranges of the catalog."""
        return self.catalog().stats()

    def catalog_import(self, path: Path, *, fmt: str = "auto") -> Any:
        """Import a CSV file into the catalog (one transaction; bad rows reported and skipped).

        Tracks without a genre get the classifier's in the same transaction.
        """
        from moodtune.catalog.importers import import_file

        report = import_file(self.catalog(), Path(path), fmt=fmt, genres=True)
        self._pool.reset()
        return report

    # -- music analysis ------------------------------------------------------
    @returns_memory
    def analyze_track(
        self, path: Path, *, lyrics: bool = True, llm: bool | None = None
    ) -> TrackReport:
        """Analyse a music file: features, curve, genre, lyrics emotion and a description.

        ``lyrics``: transcribe sung words when the track has vocals (a ``.lrc``/``.txt``
        file next to it is read either way); ``llm``: describe it with the configured LLM
        (None: when ``MOODTUNE_LLM_URL`` is set). See :func:`moodtune.music.report.analyze_track`;
        draw it with :meth:`TrackReport.plot`.
        """
        from moodtune.music.report import analyze_track

        backend = get_backend(self.text_backend)
        return analyze_track(
            path, text_backend=backend, lyrics=lyrics, describe=self._describer(llm)
        )

    @returns_memory
    def analyze_upload(
        self,
        data: bytes,
        *,
        filename: str = "upload.bin",
        lyrics: bool = True,
        llm: bool | None = None,
    ) -> TrackReport:
        """:meth:`analyze_track` on uploaded bytes (a private temporary file, removed after)."""
        from moodtune.audio.upload import upload_as_file

        with upload_as_file(data, filename=filename) as path:
            return self.analyze_track(path, lyrics=lyrics, llm=llm)

    def track_view(self, track_id: str, *, llm: bool | None = None) -> dict[str, Any]:
        """One catalog track with curve, genre, lyrics, emotion point and description.

        See :func:`moodtune.music.report.track_view`.

        Raises
        ------
        ParameterError
            The id is not in the catalog.
        """
        from moodtune.music.report import track_view

        catalog = self.catalog()
        row = catalog.get_track(track_id)
        if row is None:
            raise ParameterError(f"track {track_id!r} is not in the catalog")
        return track_view(
            row,
            curve=catalog.get_curves([track_id]).get(track_id),
            stored_genres=catalog.get_genres(track_id),
            lyrics=catalog.get_lyrics(track_id),
            describe=self._describer(llm),
        )

    @staticmethod
    def _describer(llm: bool | None) -> Describer:
        """The template, or (:func:`_llm_wanted`) the LLM with the template as fallback."""
        if not _llm_wanted(llm):
            return template_description
        from moodtune.llm.describe import describe_with_llm

        return lambda *args, **kw: describe_with_llm(*args, **kw).to_dict()

    def scan(
        self,
        directory: Path,
        *,
        engine: str = "local",
        workers: int | None = None,
        ray_address: str | None = None,
        progress: Any = None,
        lyrics: bool = True,
    ) -> ScanReport:
        """Analyse a local music folder into the catalog (incremental, resumable)."""
        from moodtune.catalog.scan import scan_library

        report = scan_library(
            self.catalog(),
            directory,
            engine=engine,
            workers=workers,
            ray_address=ray_address,
            progress=progress,
            lyrics=lyrics,
        )
        self._pool.reset()
        return report

    def similar(
        self, query: str | Path, *, n: int = 10, genres: list[str] | None = None
    ) -> tuple[dict[str, Any], list[Any]]:
        """Tracks like a catalog track (by id) or a music file (analysed on the fly).

        ``genres`` keeps only tracks of those genres (scanned local tracks carry the
        classifier's genre, or their tag's when it names one of the six).
        """
        return self._pool.similar(query, n=n, genres=genres)

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
        if track is not None:
            info = given_track(self.catalog(), track)
        else:
            table, rec = self._pool.local_files()
            emotion = self.emotion_of(audio=self._voice_16k(voice.y, MIX_SR), user=user)
            info = choose_track(
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

    def _get_recommender(self) -> tuple[TrackTable, Recommender]:
        return self._pool.main()

    # -- recommendation ------------------------------------------------------
    def recommend_for(
        self,
        *,
        text: str | None = None,
        audio: str | Path | bytes | None = None,
        language: str | None = None,
        user: str | None = None,
        strategy: str = "match",
        n: int = DEFAULT_TRACKS,
        filters: Filters | None = None,
        seed: int | None = None,
        llm: bool | None = None,
        listener: str | None = None,
        only_prefixes: tuple[str, ...] | None = None,
    ) -> PlaylistResult:
        """Hear a typed or a voice message; return a playlist for its mood (:meth:`recommend`).

        Raises
        ------
        ParameterError
            If neither or both of ``text`` and ``audio`` are given, or the request is bad.
        """
        check_playlist_request(strategy=strategy, n=n)
        emotion = self.emotion_of(text=text, audio=audio, language=language, user=user)
        return self.recommend(
            emotion,
            strategy=strategy,
            n=n,
            filters=filters,
            seed=seed,
            user=user,
            llm=llm,
            listener=listener,
            only_prefixes=only_prefixes,
        )

    # -- feedback ------------------------------------------------------------
    def add_feedback(self, user: str, track_id: str, kind: str) -> None:
        """Store a like or a skip of ``track_id`` by ``user`` (in the catalog database)."""
        if not user or not isinstance(user, str):
            raise ParameterError("feedback needs a user or session id")
        if kind not in ("like", "skip"):
            raise ParameterError(f"feedback kind {kind!r} is unknown; use like or skip")
        catalog = self.catalog()
        if catalog.get_track(track_id) is None:
            raise ParameterError(f"track {track_id!r} is not in the catalog")
        catalog.add_feedback(user, track_id, kind)

    def feedback_ids(self, user: str) -> tuple[list[str], list[str]]:
        """Return (liked, skipped) track ids of ``user``; the latest word on a track counts."""
        return latest_feedback(self.catalog(), user)

    def emotion_given(
        self,
        *,
        probabilities: Mapping[str, float] | None = None,
        valence: float | None = None,
        arousal: float | None = None,
    ) -> EmotionResult:
        """An emotion the caller already has (:func:`moodtune.types.estimate_given`).

        ``probabilities`` (``{label: p}``, e.g. an earlier result's) or a circumplex point.

        Raises
        ------
        ParameterError
            Neither or both given, unknown labels, or values out of range.
        """
        from moodtune.types import estimate_given

        est = estimate_given(probabilities=probabilities, valence=valence, arousal=arousal)
        return EmotionResult(emotion=est, language="unknown", parts={"given": est})

    def emotion_of(
        self,
        *,
        text: str | None = None,
        audio: str | Path | bytes | np.ndarray | None = None,
        language: str | None = None,
        user: str | None = None,
    ) -> EmotionResult:
        """Emotion of exactly one of a typed ``text`` or an ``audio`` voice message.

        ``audio`` is a file, its bytes, or a voice already decoded (16 kHz mono array).
        """
        if (text is None) == (audio is None):
            raise ParameterError("give either a voice message (FILE) or a text (--text), not both")
        if text is not None:
            return self.emotion_from_text(text)
        assert audio is not None
        return self.emotion_from_audio(audio, language=language, user=user)

    def recommend(
        self,
        emotion: EmotionResult,
        *,
        strategy: str = "match",
        n: int = DEFAULT_TRACKS,
        filters: Filters | None = None,
        seed: int | None = None,
        user: str | None = None,
        llm: bool | None = None,
        listener: str | None = None,
        current: list[str] | None = None,
        only_prefixes: tuple[str, ...] | None = None,
    ) -> PlaylistResult:
        """Return a playlist for ``emotion`` following ``strategy``.

        Feedback of ``user``, the memory of ``listener`` (default ``user``) and revisions
        of a ``current`` playlist follow :mod:`moodtune.recommend.playlists`; a ``seed``
        makes it reproducible. ``only_prefixes`` keeps tracks whose id starts with one of
        them (a player's, e.g. ``("local:",)``). ``llm``: :meth:`music_targets`.

        Raises
        ------
        ParameterError
            If ``n`` is outside [1, 100] or the strategy is unknown.
        """
        from moodtune.recommend.playlists import playlist

        check_playlist_request(strategy=strategy, n=n)
        table, rec = self._pool.by_prefixes(only_prefixes) if only_prefixes else self._pool.main()
        proposal = self.music_targets(emotion, strategy=strategy, llm=llm)
        return playlist(
            self.catalog(),
            table,
            rec,
            emotion,
            strategy=strategy,
            n=n,
            targets=proposal.to_dict(),
            feature_targets=proposal.targets if proposal.source == "llm" else None,
            filters=filters,
            seed=seed,
            user=user,
            listener=listener,
            current=current,
        )

    def journey(
        self,
        start: str,
        end: str,
        *,
        n: int = 12,
        filters: Filters | None = None,
        seed: int | None = None,
        user: str | None = None,
        listener: str | None = None,
    ) -> PlaylistResult:
        """A smooth path of real tracks between two moods, points or tracks.

        ``start`` and ``end``: an emotion word, a ``valence,arousal`` point or a track id
        (:func:`moodtune.recommend.requests.journey_end`); see
        :func:`moodtune.recommend.playlists.journey`.
        """
        from moodtune.recommend.playlists import journey

        table, rec = self._pool.main()
        return journey(
            self.catalog(),
            table,
            rec,
            start,
            end,
            n=n,
            filters=filters,
            seed=seed,
            user=user,
            listener=listener,
        )

    def music_targets(
        self, emotion: EmotionResult, *, strategy: str = "match", llm: bool | None = None
    ) -> TargetProposal:
        """Music feature targets for ``emotion`` and ``strategy``: the LLM's or built-in.

        ``llm=None`` asks the LLM only when ``MOODTUNE_LLM_URL`` is set; ``False`` never
        does (the transcript then never leaves the machine); ``True`` tries and reports
        why it fell back when no LLM is configured.
        """
        from moodtune.llm.proposal import builtin_targets, propose_targets

        est = emotion.emotion
        if not _llm_wanted(llm):
            return builtin_targets(est.valence, est.arousal, strategy=strategy)
        return propose_targets(
            est.valence,
            est.arousal,
            est.label,
            probabilities=est.probability_dict(),
            transcript=emotion.transcript or emotion.message,
            strategy=strategy,
        )

    # -- where people listen: playlist files, MPD, Subsonic, tags --------------
    def playlist_entries(self, track_ids: list[str]) -> list[PlaylistEntry]:
        """Catalog tracks as playlist entries (title, artists, duration, file or link).

        Unknown ids are left out. A local file that is gone counts as no file.
        """
        from moodtune.integrations.playlists import catalog_entries

        return catalog_entries(self.catalog(), track_ids)

    def export_playlist(
        self, track_ids: list[str], path: Path, *, local_only: bool = False, title: str = "moodtune"
    ) -> PlaylistFileReport:
        """Write catalog tracks to an ``.m3u8``, ``.xspf`` or ``.json`` playlist file."""
        from moodtune.integrations.playlists import write_playlist

        return write_playlist(
            self.playlist_entries(track_ids), path, local_only=local_only, title=title
        )

    def queue_on_mpd(
        self,
        track_ids: list[str],
        target: str = "mpd",
        *,
        replace: bool = False,
        music_dir: Path | None = None,
    ) -> MpdReport:
        """Queue the tracks' local files on MPD (``mpd`` or ``mpd://host:port``)."""
        from moodtune.integrations.mpd import parse_target, queue_playlist

        host, port = parse_target(target)
        return queue_playlist(
            self.playlist_entries(track_ids),
            host=host,
            port=port,
            replace=replace,
            music_dir=music_dir,
        )

    def subsonic_client(self) -> SubsonicClient:
        """A client for the Subsonic server configured in ``MOODTUNE_SUBSONIC_*``."""
        from moodtune.integrations.subsonic import SubsonicClient, SubsonicConfig

        return SubsonicClient(SubsonicConfig.from_env())

    def subsonic_scan(
        self, *, lyrics: bool = False, workers: int | None = None, progress: Any = None
    ) -> SubsonicScanReport:
        """Analyse the configured Subsonic server's songs into the catalog (incremental).

        ``workers``: parallel analyses (default: the number of CPU cores).
        """
        import os

        from moodtune.integrations.subsonic import scan_subsonic

        report = scan_subsonic(
            self.catalog(),
            self.subsonic_client(),
            lyrics=lyrics,
            workers=workers or os.cpu_count() or 1,
            progress=progress,
        )
        self._pool.reset()
        return report

    def subsonic_push(self, track_ids: list[str], *, name: str) -> SubsonicPushReport:
        """Create a playlist ``name`` on the configured Subsonic server from these tracks."""
        from moodtune.integrations.subsonic import push_playlist

        return push_playlist(self.subsonic_client(), self.playlist_entries(track_ids), name=name)

    def write_tags(self, directory: Path, *, dry_run: bool = False) -> TagReport:
        """Write the scanned files' BPM, key, mood, arousal/valence... into their tags."""
        from moodtune.integrations.tags import tag_library

        return tag_library(self.catalog(), directory, dry_run=dry_run)


_service: Moodtune | None = None
_service_lock = threading.Lock()


def _check_unicode(text: str) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate such as U+D800)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParameterError(
            f"the text holds an invalid character at position {exc.start} (an unpaired "
            "surrogate); send valid Unicode text"
        ) from None


def _decoded_voice(source: str | Path | bytes | np.ndarray, *, max_seconds: float) -> np.ndarray:
    """A voice message as 16 kHz mono audio: decoded, or checked when it already is."""
    if isinstance(source, np.ndarray):
        from moodtune.audio.checks import valid_mono

        return valid_mono(source)[: int(max_seconds * 16000)]
    from moodtune.audio.decode import decode

    return decode(source, max_seconds=max_seconds).y


def get_service() -> Moodtune:
    """Return the process-wide facade (models and catalog load once per process)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = Moodtune()
        return _service
