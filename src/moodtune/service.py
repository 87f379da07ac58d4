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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.audio.decode import MAX_SECONDS as MAX_VOICE_SECONDS
from moodtune.audio.memory import returns_memory
from moodtune.config import DEFAULT_TRACKS
from moodtune.errors import MoodtuneError, ParameterError
from moodtune.music.report import SURE_GENRE, TrackReport  # noqa: F401  (re-exported)
from moodtune.music.report import sure_genre as _sure_genre  # noqa: F401  (re-exported)
from moodtune.recommend.output import tracks_json
from moodtune.recommend.requests import (  # noqa: F401  (JOURNEY_WORDS re-exported)
    JOURNEY_WORDS,
    check_playlist_request,
    journey_end,
)
from moodtune.text import carry_mixed, clean_text, get_backend
from moodtune.text.lang import LANGUAGES, detect_language
from moodtune.types import EmotionEstimate

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
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
    from moodtune.music.scan import ScanReport
    from moodtune.recommend import Filters, Recommender
    from moodtune.speech.backends import SpeakerAdaptive
    from moodtune.speech.emotion import SpeakerStats

log = logging.getLogger(__name__)

#: Playlists a listener's memory spans: their tracks are not played again (catalog permitting).
LISTENER_MEMORY = 5


#: Listeners whose voice statistics stay in memory (least recently heard dropped first).
VOICE_STATS_IN_MEMORY = 256
#: Listeners whose voice statistics the catalog database keeps (most recent first).
VOICE_STATS_STORED = 10_000


@dataclass
class EmotionResult:
    """The emotion heard in one message, with the parts it came from.

    Attributes
    ----------
    emotion : EmotionEstimate
        The final (fused, when there are several sources) estimate.
    language : str
        ``"ru"``, ``"en"`` or ``"unknown"``.
    transcript : str or None
        What was said, for voice messages; ``None`` for typed text.
    parts : dict
        The estimate of each source (``"voice"``, ``"text"``).
    message : str or None
        The typed text (cleaned), for typed messages; not part of :meth:`to_dict`.
    """

    emotion: EmotionEstimate
    language: str
    transcript: str | None = None
    parts: dict[str, EmotionEstimate] = field(default_factory=dict)
    message: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``emotion``, ``parts``, ``language`` (and ``transcript``).

        Voice messages also get ``unsure``: which of ``"voice"`` and ``"fused"`` are
        unsure (:func:`moodtune.fusion.is_unsure`), to show as such rather than as bars.
        """
        out: dict[str, Any] = {
            "emotion": self.emotion.to_dict(),
            "parts": {k: v.to_dict() for k, v in self.parts.items()},
            "language": self.language,
        }
        if self.transcript is not None:
            out["transcript"] = self.transcript
        if "voice" in self.parts:
            # which of the voice and the fused estimate to show as "unsure", not as a bar
            from moodtune.fusion import is_unsure

            shown = {"voice": self.parts["voice"], "fused": self.emotion}
            out["unsure"] = [k for k, est in shown.items() if is_unsure(est)]
        return out


@dataclass
class PlaylistResult:
    """A playlist for an emotion, with a reason and a target point per track."""

    emotion: EmotionResult
    strategy: str
    tracks: list[dict[str, Any]]
    targets: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the emotion fields plus ``strategy``, ``targets`` and ``tracks``.

        ``targets`` says which music feature targets the playlist aimed at and where they
        came from: ``source`` is ``"llm"`` or ``"builtin"``, with a ``note`` on why.
        ``notes`` holds one line per filter that could not be applied as asked or
        fallback taken (empty when none).
        """
        out = self.emotion.to_dict() | {"strategy": self.strategy}
        if self.targets is not None:
            out["targets"] = self.targets
        return out | {"tracks": self.tracks, "notes": self.notes}


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
        self._table: TrackTable | None = None
        self._recommender: Recommender | None = None
        self._sub_recommenders: (
            tuple[TrackTable, dict[tuple[str, ...], tuple[TrackTable, Recommender]]] | None
        ) = None

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
        with self._lock:
            self._table = None
            self._recommender = None
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
        return analyze_track(path, text_backend=backend, lyrics=lyrics, llm=_llm_wanted(llm))

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

    def genre_of(self, features: Mapping[str, Any], *, local: bool = False) -> dict[str, Any]:
        """Genre probabilities of a track's features (:func:`moodtune.music.report.genre_guess`)."""
        from moodtune.music.report import genre_guess

        return genre_guess(features, local=local)

    def describe(
        self,
        features: Mapping[str, Any],
        arousal: Any,
        valence: Any,
        hop_s: float = 1.0,
        *,
        genre: str | None = None,
        llm: bool | None = None,
    ) -> dict[str, Any]:
        """Two or three sentences on a track's arc (:func:`moodtune.music.report.describe`)."""
        from moodtune.music.report import describe

        return describe(features, arousal, valence, hop_s, genre=genre, llm=_llm_wanted(llm))

    def track_view(self, track_id: str, *, llm: bool | None = None) -> dict[str, Any]:
        """One catalog track with curve, genre, lyrics, emotion point and description.

        See :func:`moodtune.music.report.track_view`.

        Raises
        ------
        ParameterError
            The id is not in the catalog.
        """
        from moodtune.music.report import track_view

        return track_view(self.catalog(), track_id, llm=_llm_wanted(llm))

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
        from moodtune.music.scan import scan_library

        report = scan_library(
            self.catalog(),
            directory,
            engine=engine,
            workers=workers,
            ray_address=ray_address,
            progress=progress,
            lyrics=lyrics,
        )
        with self._lock:
            self._table = None
            self._recommender = None
        return report

    def similar(
        self, query: str | Path, *, n: int = 10, genres: list[str] | None = None
    ) -> tuple[dict[str, Any], list[Any]]:
        """Tracks like a catalog track (by id) or a music file (analysed on the fly).

        ``genres`` keeps only tracks of those genres (scanned local tracks carry the
        classifier's genre, or their tag's when it names one of the six).
        """
        from moodtune.music.similar import ANN_MIN_TRACKS, SimilarIndex, similar_tracks

        table, _ = self._get_recommender()
        index = None
        if len(table) >= ANN_MIN_TRACKS and not genres:
            try:
                with self._lock:
                    index = getattr(self, "_similar_index", None)
                    if index is None:
                        index = SimilarIndex.build(table)
                        self._similar_index = index
                    elif getattr(self, "_similar_synced", None) is not table:
                        index.sync(table)  # only tracks added since: incremental
                    self._similar_synced = table
            except ParameterError as exc:  # usearch not installed: scan every track
                log.info("similar: %s; scanning the catalog instead", exc)
                index = None
        return similar_tracks(self.catalog(), query, n=n, genres=genres, table=table, index=index)

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
        """Lay music under a voice recording or a video and write the result.

        Parameters
        ----------
        input_path : str or Path
            A voice recording (any format :func:`moodtune.audio.decode.decode` reads) or a
            video (MP4, MOV, WebM, MKV).
        track : str, optional
            A catalog id or a music file; without it a track with a local file that fits
            the voice's mood is chosen (:mod:`moodtune.recommend.background`).
        strategy : str
            ``match``, ``uplift``, ``calm`` or ``energize`` (for a chosen track).
        output : str or Path, optional
            ``.mp3``, ``.m4a``, ``.wav``, or a video extension for a video input (picture
            copied). Default: next to the input, ``NAME.mix.m4a`` or ``NAME.mix.EXT``.
        loudness : float
            Integrated loudness target, LUFS (-16 default; -14 web, -23 broadcast).
        ducking : DuckingParams, optional
            Ducking depth and timing.
        user : str, optional
            Whose voice it is (per-user voice statistics).

        Raises
        ------
        ParameterError
            Bad strategy, loudness, paths, extension, track; unreadable input.
        NoSpeechError
            The input holds no speech.
        CatalogError
            No track to choose has a local audio file.
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
            table, rec = self._local_recommender()
            emotion = self.emotion_of(audio=self._voice_16k(voice.y, MIX_SR), user=user)
            i, reason, notes = choose_track(
                rec, table, emotion.emotion, strategy=strategy, voice_s=voice.duration_s
            )
            tid = str(table.id[i])
            info = {
                "id": tid,
                "name": str(table.name[i]),
                "local_path": str(self.catalog().playable_path(tid)),
                "reason": reason,
            }
            if notes:
                info["note"] = "; ".join(notes)
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

        ``track`` must be a catalog id here (uploads never name server files). Only the
        extension of ``filename`` is used (it tells a video from a voice); ``output_ext``
        is ``.mp3``, ``.m4a``, ``.wav`` or a video extension (default ``.m4a`` for audio,
        the input's for video). The result's ``output`` path no longer exists.
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
        import numpy as np

        from moodtune.recommend import Recommender

        catalog = self.catalog()
        with self._lock:
            if self._recommender is None or self._table is None:
                table = catalog.load_table()
                playable = table.playable()
                if not playable.all():  # local tracks whose files are gone
                    table = table.take(np.flatnonzero(playable))
                self._table = table
                self._recommender = Recommender(self._table)
            return self._table, self._recommender

    def _sub_recommender(self, prefixes: tuple[str, ...]) -> tuple[TrackTable, Recommender]:
        """A recommender over the playable tracks whose ids start with one of ``prefixes``."""
        import numpy as np

        from moodtune.recommend import Recommender

        table, _ = self._get_recommender()
        with self._lock:
            cache = self._sub_recommenders
            if cache is None or cache[0] is not table:
                cache = (table, {})
                self._sub_recommenders = cache
            if prefixes not in cache[1]:
                ids = np.asarray(table.id).astype(str)
                mask = np.zeros(len(ids), dtype=bool)
                for prefix in prefixes:
                    mask |= np.char.startswith(ids, prefix)
                if not mask.any():
                    raise ParameterError(
                        f"the catalog has no tracks that player can play (ids {', '.join(prefixes)}"
                        "…); scan your music first: moodtune scan DIR, or moodtune subsonic scan"
                    )
                sub = table.take(np.flatnonzero(mask))
                cache[1][prefixes] = (sub, Recommender(sub))
            return cache[1][prefixes]

    def _local_recommender(self) -> tuple[TrackTable, Recommender]:
        """A recommender over the tracks with a served local file (cached while they stay).

        Raises
        ------
        CatalogError
            No track has one.
        """
        import numpy as np

        from moodtune.recommend import Recommender
        from moodtune.recommend.background import local_mask

        table, _ = self._get_recommender()
        mask = local_mask(table, self.catalog().playable_ids())
        key = ("local files", *np.asarray(table.id)[mask].astype(str).tolist())
        with self._lock:
            cache = self._sub_recommenders
            if cache is None or cache[0] is not table:
                cache = (table, {})
                self._sub_recommenders = cache
            if key not in cache[1]:
                if len(cache[1]) > 64:  # a library that keeps changing: start afresh
                    cache[1].clear()
                sub = table.take(np.flatnonzero(mask))
                cache[1][key] = (sub, Recommender(sub))
            return cache[1][key]

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
        """Hear a typed message or a voice message and return a playlist for its mood.

        ``llm``: ask the configured LLM for the music targets (None: when
        ``MOODTUNE_LLM_URL`` is set); see :meth:`recommend`.

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
        latest: dict[str, str] = {}
        for row in self.catalog().feedback_for(user):
            latest[row["track_id"]] = row["kind"]
        liked = [t for t, k in latest.items() if k == "like"]
        skipped = [t for t, k in latest.items() if k == "skip"]
        return liked, skipped

    def emotion_given(
        self,
        *,
        probabilities: Mapping[str, float] | None = None,
        valence: float | None = None,
        arousal: float | None = None,
    ) -> EmotionResult:
        """An emotion the caller already has, ready for :meth:`recommend`.

        Give ``probabilities`` (``{label: p}``, e.g. an earlier result's, so a playlist
        can be refreshed without hearing the message again; missing labels count as 0),
        or a circumplex point ``valence`` and ``arousal`` (from your own model). A point's
        label probabilities fall off with the distance to each label's coordinates.

        Raises
        ------
        ParameterError
            Neither or both given, unknown labels, or values out of range.
        """
        from moodtune.types import estimate_from_label_probabilities, estimate_from_point

        point = valence is not None or arousal is not None
        if (probabilities is None) == (not point):
            raise ParameterError(
                "give the emotion as probabilities, or as valence and arousal; not both"
            )
        if probabilities is not None:
            est = estimate_from_label_probabilities(probabilities)
        else:
            if valence is None or arousal is None:
                raise ParameterError("give both valence and arousal")
            est = estimate_from_point(valence, arousal)
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

        ``only_prefixes`` keeps only tracks whose catalog id starts with one of them (e.g.
        ``("local:",)`` for a player of local files such as MPD).

        With a ``user``, their stored feedback steers it: liked tracks pull the targets
        towards them (and are marked ``liked``), skipped tracks push away and are left
        out (the latest word on a track counts).

        Listener memory: the ``listener`` (default: ``user``; the CLI passes
        ``cli:<profile>``) is not given tracks of their last :data:`LISTENER_MEMORY`
        playlists again unless too few other tracks pass the filters (a note says so),
        and each playlist is remembered. Without a ``seed`` every request draws afresh;
        a ``seed`` makes the request reproducible, so memory is neither read nor written.

        ``current`` revises a playlist after feedback instead of making a new one: its
        tracks stay in place except those the user skipped, each replaced by a new track
        pushed away from the skipped one's neighbourhood (likes keep their track and pull
        the replacements and the next playlists towards it).

        With ``llm`` (None: whenever ``MOODTUNE_LLM_URL`` is set), the configured
        OpenAI-compatible LLM proposes the music feature targets from the emotion, the
        strategy and the transcript (:func:`moodtune.llm.propose_targets`); anything
        invalid, slow or unreachable falls back to the built-in mapping. The result's
        ``targets`` says which was used and why.

        Raises
        ------
        ParameterError
            If ``n`` is outside [1, 100] or the strategy is unknown.
        """
        import secrets

        from moodtune.recommend.reasons import MOOD_WORDS

        check_playlist_request(strategy=strategy, n=n)
        if only_prefixes:
            table, rec = self._sub_recommender(tuple(only_prefixes))
        else:
            table, rec = self._get_recommender()
        liked, skipped = self.feedback_ids(user) if user else ([], [])
        proposal = self.music_targets(emotion, strategy=strategy, llm=llm)
        listener = listener or user
        remember = bool(listener) and seed is None
        avoid: list[str] = []
        if remember and listener:
            recent = self.catalog().recent_tracks(listener, playlists=LISTENER_MEMORY)
            kept_liked = set(liked)  # a like keeps its track: it may come again
            avoid = [t for t in recent if t not in kept_liked]
        keep: dict[int, str] | None = None
        if current is not None:
            if isinstance(current, str) or not all(isinstance(t, str) for t in current):
                raise ParameterError("current must be a list of track ids")
            n = len(current)
            check_playlist_request(strategy=strategy, n=n)
            gone = set(skipped)
            keep = {i: t for i, t in enumerate(current) if t not in gone}
            avoid = list(dict.fromkeys([*current, *avoid]))
        picks = rec.recommend(
            emotion.emotion.valence,
            emotion.emotion.arousal,
            strategy=strategy,
            n=n,
            filters=filters,
            seed=seed if seed is not None else secrets.randbits(31),
            mood=MOOD_WORDS[emotion.emotion.label],
            liked_ids=liked,
            skipped_ids=skipped,
            feature_targets=proposal.targets if proposal.source == "llm" else None,
            avoid_ids=avoid,
            keep=keep,
        )
        if remember and listener:
            new_ids = [p.track_id for p in picks]
            if keep is not None:
                kept = set(keep.values())
                new_ids = [t for t in new_ids if t not in kept]
            if new_ids or keep is None:
                self.catalog().record_playlist(listener, new_ids, extend_last=keep is not None)
        tracks = tracks_json(table, picks, liked=liked)
        return PlaylistResult(
            emotion=emotion,
            strategy=strategy,
            tracks=tracks,
            targets=proposal.to_dict(),
            notes=list(picks.notes),
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
        """A smooth path of real tracks between two moods or two tracks.

        ``start`` and ``end`` are each an emotion (``sadness``, ``sad``, ``calm``, ...),
        a ``valence,arousal`` point such as ``-0.6,-0.4``, or a catalog track id
        (:func:`journey_end`). The result has the shape of :meth:`recommend`'s with
        ``strategy`` ``"journey"`` and the start as its emotion; listener memory and
        liked marks work as there.
        """
        import secrets

        from moodtune.recommend.reasons import MOOD_WORDS

        table, rec = self._get_recommender()
        a, b = journey_end(start, name="from"), journey_end(end, name="to")
        liked, _ = self.feedback_ids(user) if user else ([], [])
        listener = listener or user
        remember = bool(listener) and seed is None
        avoid: list[str] = []
        if remember and listener:
            avoid = self.catalog().recent_tracks(listener, playlists=LISTENER_MEMORY)
        picks = rec.journey(
            a,
            b,
            n=n,
            filters=filters,
            seed=seed if seed is not None else secrets.randbits(31),
            avoid_ids=[t for t in avoid if t not in set(liked)],
        )
        if remember and listener:
            self.catalog().record_playlist(listener, [p.track_id for p in picks])
        first = picks[0] if picks else None
        v0, a0 = (first.target_valence, first.target_arousal) if first else (0.0, 0.0)
        emotion = self.emotion_given(valence=v0, arousal=a0)
        label = emotion.emotion.label
        return PlaylistResult(
            emotion=emotion,
            strategy="journey",
            tracks=tracks_json(table, picks, liked=liked),
            targets={
                "source": "builtin",
                "note": f"journey from {start} to {end} ({MOOD_WORDS[label]} at the start)",
                "from": start,
                "to": end,
            },
            notes=list(picks.notes),
        )

    def music_targets(
        self, emotion: EmotionResult, *, strategy: str = "match", llm: bool | None = None
    ) -> TargetProposal:
        """Music feature targets for ``emotion`` and ``strategy``: the LLM's or built-in.

        ``llm=None`` asks the LLM only when ``MOODTUNE_LLM_URL`` is set; ``False`` never
        does (the transcript then never leaves the machine); ``True`` tries and reports
        why it fell back when no LLM is configured.
        """
        from moodtune.llm.proposal import TargetProposal, propose_targets
        from moodtune.recommend.strategies import end_point
        from moodtune.recommend.targets import va_to_feature_targets

        est = emotion.emotion
        if _llm_wanted(llm):
            return propose_targets(
                est.valence,
                est.arousal,
                est.label,
                probabilities=est.probability_dict(),
                transcript=emotion.transcript or emotion.message,
                strategy=strategy,
            )
        goal = end_point(est.valence, est.arousal, strategy=strategy)
        return TargetProposal(
            targets=va_to_feature_targets(*goal),
            source="builtin",
            note="LLM not requested; built-in mapping used",
            strategy=strategy,
            point=goal,
        )

    # -- where people listen: playlist files, MPD, Subsonic, tags --------------
    def playlist_entries(self, track_ids: list[str]) -> list[PlaylistEntry]:
        """Catalog tracks as playlist entries (title, artists, duration, file or link).

        Unknown ids are left out. A local file that is gone counts as no file.
        """
        from moodtune.catalog.table import spotify_track_url
        from moodtune.integrations.playlists import PlaylistEntry

        catalog = self.catalog()
        out = []
        for tid in track_ids:
            row = catalog.get_track(tid)
            if row is None:
                continue
            path = row.get("local_path") or None
            if path is not None and not Path(path).is_file():
                path = None
            dur = row.get("duration_ms")
            out.append(
                PlaylistEntry(
                    track_id=tid,
                    title=str(row.get("name") or tid),
                    artists=tuple(row.get("artists") or ()),
                    album=row.get("album") or None,
                    duration_s=None if dur is None else float(dur) / 1000.0,
                    local_path=path,
                    url=row.get("url") or spotify_track_url(tid) or None,
                )
            )
        return out

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
        with self._lock:
            self._table = None
            self._recommender = None
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
