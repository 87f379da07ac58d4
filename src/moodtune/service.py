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

from moodtune.audio.decode import MAX_SECONDS as MAX_VOICE_SECONDS
from moodtune.audio.memory import returns_memory
from moodtune.config import DEFAULT_TRACKS, MAX_TRACKS, MIN_TRACKS
from moodtune.errors import MoodtuneError, ParameterError
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
    from moodtune.music.features import TrackAnalysis
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


@dataclass
class TrackReport:
    """What moodtune finds in one music file: sound, genre, lyrics and a description.

    Attributes
    ----------
    analysis : TrackAnalysis
        Spotify-style features and the per-second arousal/valence curve.
    genre : dict
        ``label`` (the file's own genre tag, else the classifier's genre or ``"other"`` when
        it abstains; None for silence), ``source`` (``"tag"`` or ``"classifier"``), ``guess``
        (the classifier's genre or ``"other"``), ``abstained`` (why, or None),
        ``probabilities`` ({genre: p}, kept when it abstains) and ``model``.
    lyrics : dict or None
        The lyrics emotion (:meth:`moodtune.music.lyrics.LyricsEmotion.to_dict`), or None
        for a track without words.
    emotion_point : dict or None
        The track's point on the circumplex from its sound and its lyrics
        (:func:`moodtune.music.lyrics.track_emotion_point`); None for a silent track.
    description : dict
        ``text``, ``source`` (``"llm"`` or ``"template"``), ``model`` and ``note``.
    """

    analysis: TrackAnalysis
    genre: dict[str, Any]
    lyrics: dict[str, Any] | None
    emotion_point: dict[str, Any] | None
    description: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``moodtune analyze --json`` and ``POST /v1/tracks/analyze``."""
        return self.analysis.to_dict() | {
            "genre": self.genre,
            "lyrics": self.lyrics,
            "emotion_point": self.emotion_point,
            "description": self.description,
        }


#: Below this probability the classifier's genre is left out of a track's description.
SURE_GENRE: float = 0.5


def _sure_genre(genre: Mapping[str, Any]) -> str | None:
    """The genre to name in a description: a catalog or tag genre, or a confident guess.

    The classifier's abstention (``"other"``) and any guess under :data:`SURE_GENRE` are
    never named.
    """
    if genre.get("source") in ("catalog", "tag") and genre.get("label") not in (None, "other"):
        return str(genre["label"])
    label = genre.get("label")
    if label in (None, "other"):
        return None
    p = float(genre.get("probabilities", {}).get(label, 0.0))
    return str(label) if p >= SURE_GENRE else None


def _llm_wanted(llm: bool | None) -> bool:
    """Whether to ask the LLM: as asked, or (None) whenever ``MOODTUNE_LLM_URL`` is set."""
    if llm is None:
        from moodtune.config import settings

        return settings().llm.url is not None
    return bool(llm)


def _round(x: Any, nd: int = 4) -> Any:
    try:
        return round(float(x), nd)
    except (TypeError, ValueError):
        return None


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
        source: str | Path | bytes,
        *,
        language: str | None = None,
        user: str | None = None,
    ) -> EmotionResult:
        """Hear a voice message: how it was said (voice) and what was said (text), fused.

        Parameters
        ----------
        source : str, Path or bytes
            Any container/codec PyAV reads (Ogg/Opus, WebM, MP3, WAV, FLAC, M4A, MP4/MOV).
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
        from moodtune.audio.decode import decode
        from moodtune.fusion import fuse
        from moodtune.speech.asr_backends import get_backend as get_asr_backend
        from moodtune.speech.backends import SpeakerAdaptive
        from moodtune.speech.backends import get_backend as get_speech_backend

        lang = None if language in (None, "auto") else language
        if lang is not None and lang not in LANGUAGES:
            raise ParameterError(f"language {language!r} is not supported; use auto, ru or en")
        audio = decode(source, max_seconds=self.max_voice_seconds)
        analysis = get_asr_backend().transcribe(audio.y, language=lang)
        speech = get_speech_backend(self.speech_backend)
        if isinstance(speech, SpeakerAdaptive):
            stats = self._speaker_stats(user, speech, analysis.states, audio.y)
            voice = speech.predict(audio.y, states=analysis.states, speaker_stats=stats)
        else:
            voice = speech.predict(audio.y, states=analysis.states)
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

    def _classify_missing_genres(self) -> int:
        """Give every catalog track without a genre the classifier's (one transaction)."""
        from moodtune.catalog.importers import classify_missing_genres

        return classify_missing_genres(self.catalog())

    # -- music analysis ------------------------------------------------------
    @returns_memory
    def analyze_track(
        self,
        path: Path,
        *,
        plot: Path | None = None,
        lyrics: bool = True,
        llm: bool | None = None,
    ) -> TrackReport:
        """Analyse a music file: features, curve, genre, lyrics emotion and a description.

        Parameters
        ----------
        path : Path
            The music file.
        plot : Path, optional
            Also draw the curve to this PNG.
        lyrics : bool
            Transcribe sung words with Whisper when the track has vocals (a ``.lrc`` or
            ``.txt`` file next to it is read either way).
        llm : bool, optional
            Describe the track with the configured LLM (None: when ``MOODTUNE_LLM_URL``
            is set); the template otherwise, or when the LLM fails.
        """
        from moodtune.music.features import VIBE_SR, analyze_signal, file_loudness, load_music
        from moodtune.music.lyrics import lyrics_emotion, track_emotion_point

        y = load_music(path)
        analysis = analyze_signal(
            y, sr=VIBE_SR, path=str(path), loudness=file_loudness(path, y16=y)
        )
        if analysis.silent:
            return self._silent_report(analysis, plot=plot, title=Path(path).stem)
        genre = self.genre_of(analysis.catalog_row(track_id="query"), local=True)
        from moodtune.music.scan import read_tags

        tag = read_tags(path).get("genre")
        if tag:  # the file's own genre is its genre; the classifier's guess stays beside it
            genre |= {"label": str(tag), "source": "tag"}
        found = lyrics_emotion(
            path,
            analysis.features,
            y=y,
            text_backend=get_backend(self.text_backend),
            transcribe=lyrics,
        )
        summary = analysis.summary
        point = track_emotion_point(summary["valence_mean"], summary["arousal_mean"], found)
        description = self.describe(
            analysis.features,
            analysis.arousal,
            analysis.valence,
            analysis.hop_s,
            genre=_sure_genre(genre),
            llm=llm,
        )
        if plot is not None:
            from moodtune.music.plot import plot_analysis

            plot_analysis(analysis, Path(plot), title=Path(path).stem, emotion_point=point)
        return TrackReport(
            analysis=analysis,
            genre=genre,
            lyrics=None if found is None else found.to_dict(),
            emotion_point=point,
            description=description,
        )

    @staticmethod
    def _silent_report(analysis: TrackAnalysis, *, plot: Path | None, title: str) -> TrackReport:
        """A silent track: no genre, no words, no emotion point; the description says so."""
        if plot is not None:
            from moodtune.music.plot import plot_analysis

            plot_analysis(analysis, Path(plot), title=title)
        loud = analysis.features.get("loudness")
        text = f"Silence: {float(analysis.features['duration_s'] or 0):.0f} s"
        text += f" at {loud:.0f} LUFS." if isinstance(loud, (int, float)) else "."
        return TrackReport(
            analysis=analysis,
            genre={"label": None, "source": None, "probabilities": {}, "model": None},
            lyrics=None,
            emotion_point=None,
            description={"text": text, "source": "template", "model": None, "note": "silent"},
        )

    def genre_of(self, features: Mapping[str, Any], *, local: bool = False) -> dict[str, Any]:
        """Genre probabilities of one track from its features (catalog column names).

        ``local``: the features are moodtune's estimates for a local file, whose length
        is ignored when it is too short to be a whole song
        (:func:`moodtune.music.genre.local_file_features`).
        """
        from moodtune.music.genre import default_genre_model, local_file_features

        model = default_genre_model()
        label, probs, abstained = model.guess(local_file_features(features) if local else features)
        return {
            "label": label,
            "source": "classifier",
            "guess": label,
            "abstained": abstained,
            "probabilities": {g: round(p, 4) for g, p in probs.items()},
            "model": model.model_id,
        }

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
        """Two or three sentences on a track's emotional arc: the LLM's or the template's.

        ``llm=None`` asks the LLM only when ``MOODTUNE_LLM_URL`` is set; any LLM trouble
        gives the template, and ``note`` says why.
        """
        from moodtune.llm.describe import describe_with_llm
        from moodtune.music.describe import describe_track

        if _llm_wanted(llm):
            out: dict[str, Any] = describe_with_llm(
                features, arousal, valence, hop_s, genre=genre
            ).to_dict()
            return out
        text = describe_track(features, arousal, valence, hop_s, genre=genre)
        return {"text": text, "source": "template", "model": None, "note": None}

    def track_view(self, track_id: str, *, llm: bool | None = None) -> dict[str, Any]:
        """One catalog track with its curve, genre, lyrics, emotion point and description.

        Raises
        ------
        ParameterError
            The id is not in the catalog.
        """
        import numpy as np

        from moodtune.music.scan import load_curve
        from moodtune.types import blend_lyrics_point

        catalog = self.catalog()
        row = catalog.get_track(track_id)
        if row is None:
            raise ParameterError(f"track {track_id!r} is not in the catalog")
        view = dict(row)
        curve = load_curve(catalog, track_id)
        features = dict(row)
        if row.get("duration_ms") is not None:
            features["duration_s"] = float(row["duration_ms"]) / 1000.0
        if curve is None:
            view["curve"] = None
            arousal = valence = np.zeros(0)
            hop_s = 1.0
            # no curve (a catalog track): the sound's point from its valence and energy
            sv = 2.0 * float(row["valence"]) - 1.0 if row.get("valence") is not None else 0.0
            sa = 2.0 * float(row["energy"]) - 1.0 if row.get("energy") is not None else 0.0
        else:
            arousal, valence, hop_s = curve
            view["curve"] = {
                "hop_s": float(hop_s),
                "arousal": [round(float(x), 4) for x in arousal],
                "valence": [round(float(x), 4) for x in valence],
            }
            sv, sa = float(np.mean(valence)), float(np.mean(arousal))
        from moodtune.music.genre import tag_to_genre

        local = row.get("source") == "local"
        stored = catalog.get_genres(track_id)
        if stored is not None:
            probs, model_id = stored["probabilities"], stored["model"]
        else:
            guess = self.genre_of(features, local=local)
            probs, model_id = guess["probabilities"], guess["model"]
        label = row.get("genre") or max(probs, key=lambda g: probs[g])
        if stored is None and row.get("genre"):
            source = "catalog"  # e.g. the playlist genre of an imported Spotify table
        elif local and row.get("subgenre") and tag_to_genre(row["subgenre"]) == label:
            source = "tag"
        else:
            source = "classifier"
        genre = {"label": label, "source": source, "probabilities": probs, "model": model_id}
        view["genre_info"] = genre
        lyrics = catalog.get_lyrics(track_id)
        view["lyrics"] = lyrics
        sv, sa = min(max(sv, -1.0), 1.0), min(max(sa, -1.0), 1.0)
        point: dict[str, Any] = {
            "valence": round(sv, 4),
            "arousal": round(sa, 4),
            "lyrics_share": 0.0,
            "audio": {"valence": round(sv, 4), "arousal": round(sa, 4)},
            "lyrics": None,
        }
        if lyrics is not None:
            bv, ba, share = blend_lyrics_point(
                sv, sa, lyrics["valence"], lyrics["arousal"], lyrics["confidence"]
            )
            point.update(valence=round(bv, 4), arousal=round(ba, 4), lyrics_share=round(share, 4))
            point["lyrics"] = {k: lyrics[k] for k in ("valence", "arousal", "confidence", "source")}
        view["emotion_point"] = point
        view["description"] = self.describe(
            features, arousal, valence, float(hop_s), genre=_sure_genre(genre), llm=llm
        )
        return view

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
    ) -> tuple[bytes, Any]:
        """Lay matching music under an uploaded voice track or video; return (bytes, result).

        ``track`` must be a catalog id here (uploads never name server files); without it
        a scanned local track that fits the voice's mood is chosen.
        """
        from moodtune.mix import mix_bytes

        if track is not None and self.catalog().get_track(track) is None:
            raise ParameterError(f"track {track!r} is not in the catalog; give a catalog id")
        return mix_bytes(
            self,
            data,
            filename=filename,
            output_ext=output_ext,
            track=track,
            strategy=strategy,
            loudness=loudness,
            user=user,
        )

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
        import math

        import numpy as np

        from moodtune.types import CIRCUMPLEX_ARRAY, LABELS

        point = valence is not None or arousal is not None
        if (probabilities is None) == (not point):
            raise ParameterError(
                "give the emotion as probabilities, or as valence and arousal; not both"
            )
        if probabilities is not None:
            unknown = sorted(set(probabilities) - set(LABELS))
            if unknown:
                raise ParameterError(f"unknown emotion labels {unknown}; use {', '.join(LABELS)}")
            probs = [float(probabilities.get(lab, 0.0)) for lab in LABELS]
            if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in probs) or sum(probs) <= 0:
                raise ParameterError(
                    "probabilities must be numbers from 0 to 1, at least one above 0 "
                    f"(got {dict(probabilities)})"
                )
            est = EmotionEstimate.from_probabilities(probs, source="given")
        else:
            if valence is None or arousal is None:
                raise ParameterError("give both valence and arousal")
            v, a = float(valence), float(arousal)
            if not (math.isfinite(v) and math.isfinite(a) and -1 <= v <= 1 and -1 <= a <= 1):
                raise ParameterError(
                    f"valence={valence!r}, arousal={arousal!r} must lie in [-1, 1]"
                )
            d2 = np.sum((CIRCUMPLEX_ARRAY - np.array([v, a])) ** 2, axis=1)
            weights = np.exp(-d2 / 0.1)
            shaped = EmotionEstimate.from_probabilities(weights / weights.sum(), source="given")
            est = EmotionEstimate(
                probabilities=shaped.probabilities,
                valence=v,
                arousal=a,
                confidence=shaped.confidence,
                source="given",
            )
        return EmotionResult(emotion=est, language="unknown", parts={"given": est})

    def emotion_of(
        self,
        *,
        text: str | None = None,
        audio: str | Path | bytes | None = None,
        language: str | None = None,
        user: str | None = None,
    ) -> EmotionResult:
        """Emotion of exactly one of a typed ``text`` or an ``audio`` voice message."""
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
        tracks = _track_dicts(table, picks, set(liked))
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
            tracks=_track_dicts(table, picks, set(liked)),
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

    # --- facade methods used by the interfaces
    def track_row(self, track_id: str) -> dict[str, Any] | None:
        """The catalog row of ``track_id`` (None when the catalog has no such track)."""
        return self.catalog().get_track(track_id)

    def playable_path(self, track_id: str) -> Path | None:
        """The scanned audio file a server may send for ``track_id`` (None without one)."""
        return self.catalog().playable_path(track_id)

    @staticmethod
    def filters(
        *,
        year_min: int | None = None,
        year_max: int | None = None,
        genres: frozenset[str] | None = None,
        explicit: bool = True,
        max_duration_s: float | None = None,
        min_duration_s: float | None = None,
    ) -> Filters:
        """Playlist filters (:class:`moodtune.recommend.Filters`); None keeps a default."""
        from moodtune.recommend import Filters

        extra = {} if min_duration_s is None else {"min_duration_s": min_duration_s}
        return Filters(
            year_min=year_min,
            year_max=year_max,
            genres=genres,
            explicit=explicit,
            max_duration_s=max_duration_s,
            **extra,
        )

    @staticmethod
    def strategies() -> tuple[str, ...]:
        """The playlist strategies (``match``, ``uplift``, ``calm``, ``energize``)."""
        from moodtune.recommend.strategies import STRATEGIES

        return STRATEGIES

    @staticmethod
    def is_unsure(estimate: EmotionEstimate) -> bool:
        """Whether an estimate is shown as "unsure" (:func:`moodtune.fusion.is_unsure`)."""
        from moodtune.fusion import is_unsure

        return is_unsure(estimate)

    @staticmethod
    def quadrant(valence: float, arousal: float) -> str:
        """The name of a point's circumplex quadrant (:func:`moodtune.music.features.quadrant`)."""
        from moodtune.music.features import quadrant

        return quadrant(valence, arousal)

    @staticmethod
    def format_time(seconds: float) -> str:
        """``m:ss`` (:func:`moodtune.music.describe.format_time`)."""
        from moodtune.music.describe import format_time

        return format_time(seconds)


def _track_dicts(table: Any, picks: Any, liked_set: set[str]) -> list[dict[str, Any]]:
    """The JSON-ready tracks of a playlist (the shape ``recommend --json`` prints)."""
    tracks = []
    for p in picks:
        i = p.index
        tracks.append(
            {
                "id": str(table.id[i]),
                "name": str(table.name[i]),
                "artists": [a for a in str(table.artists[i]).split(", ") if a],
                "genre": str(table.genre[i]) or None,
                "valence": _round(table.valence[i]),
                "energy": _round(table.energy[i]),
                "danceability": _round(table.danceability[i]),
                "tempo": _round(table.tempo[i], 1),
                "mode": int(table.mode[i]),
                "acousticness": _round(table.acousticness[i]),
                "url": str(table.url[i]) or None,
                "reason": p.reason,
                "target": {
                    "valence": _round(p.target_valence),
                    "arousal": _round(p.target_arousal),
                },
                "duration_s": _round(float(table.duration_ms[i]) / 1000.0, 1)
                if float(table.duration_ms[i]) > 0
                else None,
                "liked": str(table.id[i]) in liked_set,
            }
        )
    return tracks


#: Mood words a journey end may name, as circumplex points (besides the seven labels).
JOURNEY_WORDS: dict[str, tuple[float, float]] = {
    "calm": (0.5, -0.6),
    "relaxed": (0.5, -0.6),
    "tired": (-0.2, -0.8),
    "tense": (-0.2, 0.8),
    "excited": (0.5, 0.8),
    "energetic": (0.5, 0.8),
}


def journey_end(value: str, *, name: str = "from") -> str | tuple[float, float]:
    """Parse one end of a journey: an emotion word, a ``valence,arousal`` point or a track id.

    Emotion labels and their aliases (:data:`moodtune.types.LABEL_ALIASES`) map to their
    circumplex coordinates, as do :data:`JOURNEY_WORDS`; anything else is a track id
    (checked by the recommender).

    Raises
    ------
    ParameterError
        An empty value, or a point outside [-1, 1]².
    """
    from moodtune.types import CIRCUMPLEX, LABEL_ALIASES

    text = str(value or "").strip()
    if not text:
        raise ParameterError(
            f"--{name} is empty; give an emotion, a valence,arousal point or a track id"
        )
    key = text.casefold()
    if key in JOURNEY_WORDS:
        return JOURNEY_WORDS[key]
    if key in CIRCUMPLEX:
        return CIRCUMPLEX[key]
    if key in LABEL_ALIASES:
        return CIRCUMPLEX[LABEL_ALIASES[key]]
    parts = text.split(",")
    if len(parts) == 2:
        try:
            v, a = float(parts[0]), float(parts[1])
        except ValueError:
            return text
        if not (-1 <= v <= 1 and -1 <= a <= 1):
            raise ParameterError(f"--{name} {text}: valence and arousal must lie in [-1, 1]")
        return (v, a)
    return text


def check_playlist_request(*, strategy: str, n: int) -> None:
    """Validate a playlist request before any model runs.

    Raises
    ------
    ParameterError
        If the strategy is unknown or ``n`` is outside [1, 100].
    """
    from moodtune.recommend import STRATEGIES

    if strategy not in STRATEGIES:
        raise ParameterError(
            f"strategy {strategy!r} is unknown; choose one of {', '.join(STRATEGIES)}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_TRACKS <= n <= MAX_TRACKS:
        raise ParameterError(
            f"n={n!r} is out of range; ask for {MIN_TRACKS} to {MAX_TRACKS} tracks"
        )


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


def get_service() -> Moodtune:
    """Return the process-wide facade (models and catalog load once per process)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = Moodtune()
        return _service
