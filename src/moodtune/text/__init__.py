"""Text emotion: a registry of backends with an offline default.

A backend is a module in :mod:`moodtune.text.backends`; its registry key is its
module name and it exposes ``load(**options) -> TextEmotionBackend``. The default,
``e5``, runs offline (packaged multilingual-e5-small + a head trained by moodtune).
``$MOODTUNE_TEXT_BACKEND`` picks another one.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading
from typing import Any, Protocol

from moodtune.config import MAX_TEXT_CHARS
from moodtune.errors import InputTooLargeError, ParameterError
from moodtune.types import EmotionEstimate

DEFAULT_BACKEND = "e5"


class TextEmotionBackend(Protocol):
    """What every text emotion backend provides."""

    name: str

    def predict(self, text: str) -> EmotionEstimate:
        """Return the emotion of one text (source ``"text"``)."""
        ...

    def predict_batch(self, texts: list[str]) -> list[EmotionEstimate]:
        """Return the emotion of each text."""
        ...


def available_backends() -> list[str]:
    """Names of the registered backends (module names in ``moodtune.text.backends``)."""
    from moodtune.text import backends

    return sorted(m.name for m in pkgutil.iter_modules(backends.__path__) if not m.ispkg)


_cache: dict[str, TextEmotionBackend] = {}
_lock = threading.Lock()


def get_backend(name: str | None = None, **options: Any) -> TextEmotionBackend:
    """Return the backend ``name`` (default ``$MOODTUNE_TEXT_BACKEND`` or ``"e5"``), loaded once.

    Raises
    ------
    ParameterError
        If no backend has that name.
    """
    key = name or os.environ.get("MOODTUNE_TEXT_BACKEND") or DEFAULT_BACKEND
    names = available_backends()
    if key not in names:
        raise ParameterError(f"text backend {key!r} is unknown; available: {', '.join(names)}")
    cache_key = key + repr(sorted(options.items()))
    with _lock:
        if cache_key not in _cache:
            module = importlib.import_module(f"moodtune.text.backends.{key}")
            _cache[cache_key] = module.load(**options)
        return _cache[cache_key]


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
