"""The one facade every interface (CLI, HTTP API, web page, bot) calls.

Interfaces never touch models or SQL themselves: they build a :class:`Moodtune` (or
use :func:`get_service`) and call its methods, which validate input at the edge and
raise only :class:`moodtune.errors.MoodtuneError` subclasses. This module is wiring:
the emotion of a message lives here, and the parts in :mod:`moodtune.facade` (music,
mixing, playlists, players) compose the domain modules.
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
from moodtune.errors import MoodtuneError, ParameterError
from moodtune.facade.listening import ListeningFacade
from moodtune.facade.mixing import MixFacade
from moodtune.facade.music import MusicFacade
from moodtune.facade.playlists import PlaylistFacade

# The facade's public types and request check, importable from here by the interfaces
# (re-exported: "noqa: F401").
from moodtune.music.report import TrackReport  # noqa: F401
from moodtune.recommend.pool import RecommenderPool
from moodtune.recommend.requests import check_playlist_request  # noqa: F401
from moodtune.recommend.results import EmotionResult, PlaylistResult  # noqa: F401
from moodtune.text import carry_mixed, clean_text, get_backend
from moodtune.text.lang import LANGUAGES, detect_language
from moodtune.types import EmotionEstimate

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.table import TrackTable
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


class Moodtune(MusicFacade, MixFacade, PlaylistFacade, ListeningFacade):
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

    def _get_recommender(self) -> tuple[TrackTable, Recommender]:
        return self._pool.main()

    def _llm_wanted(self, llm: bool | None) -> bool:
        return _llm_wanted(llm)

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
        """The name of a point's circumplex quadrant (:func:`moodtune.types.quadrant`)."""
        from moodtune.types import quadrant

        return quadrant(valence, arousal)

    @staticmethod
    def format_time(seconds: float) -> str:
        """``m:ss`` (:func:`moodtune.music.describe.format_time`)."""
        from moodtune.music.describe import format_time

        return format_time(seconds)


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
