"""What every part of the facade shares: the catalog, the recommenders, the models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from moodtune.catalog.repository import Catalog
    from moodtune.recommend.pool import RecommenderPool
    from moodtune.recommend.results import EmotionResult


class FacadeBase:
    """The members :class:`moodtune.service.Moodtune` gives every part of the facade."""

    text_backend: str | None
    max_voice_seconds: float
    _pool: RecommenderPool

    def catalog(self) -> Catalog:
        """The open catalog."""
        raise NotImplementedError

    def emotion_of(
        self,
        *,
        text: str | None = None,
        audio: str | Path | bytes | np.ndarray | None = None,
        language: str | None = None,
        user: str | None = None,
    ) -> EmotionResult:
        """The emotion of a typed ``text`` or an ``audio`` voice message."""
        raise NotImplementedError

    def _llm_wanted(self, llm: bool | None) -> bool:
        """Whether to ask the LLM."""
        raise NotImplementedError
