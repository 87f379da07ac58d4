"""The facade's playlist part: playlists, journeys, feedback and music targets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from moodtune.config import DEFAULT_TRACKS
from moodtune.errors import ParameterError
from moodtune.facade.base import FacadeBase
from moodtune.recommend.playlists import latest_feedback
from moodtune.recommend.requests import check_playlist_request
from moodtune.recommend.results import EmotionResult, PlaylistResult

if TYPE_CHECKING:
    from moodtune.llm.proposal import TargetProposal
    from moodtune.recommend import Filters


class PlaylistFacade(FacadeBase):
    """Playlists through the facade (:class:`moodtune.service.Moodtune`)."""

    # -- recommendation ------------------------------------------------------
    def recommend_for(  # noqa: PLR0913 (a public request: every option keyword-only)
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
        if not self._llm_wanted(llm):
            return builtin_targets(est.valence, est.arousal, strategy=strategy)
        return propose_targets(
            est.valence,
            est.arousal,
            est.label,
            probabilities=est.probability_dict(),
            transcript=emotion.transcript or emotion.message,
            strategy=strategy,
        )
