"""Text emotion: a registry of backends with an offline default.

A backend is a module in :mod:`moodtune.text.backends`; its registry key is its
module name and it exposes ``load(**options) -> TextEmotionBackend``. The default,
``use_ngram``, runs offline (packaged USE multilingual + character/word n-grams + cue
words, stacked by a head trained by moodtune). ``$MOODTUNE_TEXT_BACKEND`` picks another
one; the former name ``e5`` is an alias of ``use_ngram``.
"""

from __future__ import annotations

from typing import Any, Protocol

from moodtune.config import MAX_TEXT_CHARS, settings
from moodtune.errors import InputTooLargeError, ParameterError
from moodtune.registry import BackendRegistry
from moodtune.types import EmotionEstimate

DEFAULT_BACKEND = "use_ngram"
#: Former backend names that still work (``MOODTUNE_TEXT_BACKEND=e5`` in older configs).
BACKEND_ALIASES: dict[str, str] = {"e5": "use_ngram"}


class TextEmotionBackend(Protocol):
    """What every text emotion backend provides."""

    name: str

    def predict(self, text: str) -> EmotionEstimate:
        """Return the emotion of one text (source ``"text"``)."""
        ...

    def predict_batch(self, texts: list[str]) -> list[EmotionEstimate]:
        """Return the emotion of each text."""
        ...


_REGISTRY = BackendRegistry(
    "moodtune.text.backends",
    default=DEFAULT_BACKEND,
    env="MOODTUNE_TEXT_BACKEND",
    kind="text backend",
    selected=lambda: settings().text_backend,
    aliases=BACKEND_ALIASES,
)


def available_backends() -> list[str]:
    """Names of the registered backends (module names in ``moodtune.text.backends``)."""
    return _REGISTRY.names()


def get_backend(name: str | None = None, **options: Any) -> TextEmotionBackend:
    """Return the backend ``name``, loaded once.

    The default is ``$MOODTUNE_TEXT_BACKEND``, else ``"use_ngram"``. A former name in
    :data:`BACKEND_ALIASES` (``"e5"``) gives the backend it now names.

    Raises
    ------
    ParameterError
        If no backend has that name.
    """
    backend: TextEmotionBackend = _REGISTRY.get(name, **options)
    return backend


def clean_text(text: str, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Validate a user text: strip it, refuse empty or over-long input.

    Raises
    ------
    ParameterError
        If the text is empty or only whitespace.
    InputTooLargeError
        If it is longer than ``max_chars`` characters.
    """
    if not isinstance(text, str):
        raise ParameterError(f"text must be a string, got {type(text).__name__}")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ParameterError("the text is empty; write a few words about how you feel")
    if len(cleaned) > max_chars:
        raise InputTooLargeError(
            f"the text has {len(cleaned)} characters, over the limit of {max_chars}; shorten it"
        )
    return cleaned


def carry_mixed(fused: EmotionEstimate, text: EmotionEstimate | None) -> EmotionEstimate:
    """Keep the words' two feelings in a fused estimate when they are also its two likeliest.

    The fused estimate then reports ``mixed`` too, and its valence/arousal point lies between
    those two labels; otherwise ``fused`` is returned unchanged.
    """
    import numpy as np

    from moodtune.types import LABELS

    if text is None or not text.mixed:
        return fused
    order = [LABELS[int(i)] for i in np.argsort(-fused.probabilities)[:2]]
    if set(order) != set(text.mixed):
        return fused
    return EmotionEstimate.from_probabilities(
        fused.probabilities,
        source=fused.source,
        confidence=fused.confidence,
        parts=fused.parts,
        mixed=tuple(order),
    )
