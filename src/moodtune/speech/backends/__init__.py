"""Speech emotion backends: a registry whose key is the module name.

A backend is a module in this package; its registry key is its module name (``hubert``
for :mod:`moodtune.speech.backends.hubert`). It exposes ``load(**options)`` returning an
object with

- ``name`` : str, the registry key;
- ``predict(y, *, states=None) -> EmotionEstimate`` (source ``"voice"``), where ``y`` is
  mono float audio at 16 kHz, shape (n,), and ``states`` are the Whisper encoder states of
  the same message, shape (T, 512), for backends that reuse them (the default head does;
  others may ignore them).

The offline default, ``whisper_head``, reuses Whisper's encoder states (and accepts a
``speaker_stats`` keyword: the user's running voice statistics); ``hubert`` (extra
``moodtune[hf]``) runs ``superb/hubert-large-superb-er`` through transformers.
``$MOODTUNE_SPEECH_BACKEND`` picks the backend.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from moodtune.registry import BackendRegistry
from moodtune.types import EmotionEstimate

DEFAULT_BACKEND = "whisper_head"

_REGISTRY = BackendRegistry(
    "moodtune.speech.backends",
    default=DEFAULT_BACKEND,
    env="MOODTUNE_SPEECH_BACKEND",
    kind="speech emotion backend",
)


class SpeechEmotionBackend(Protocol):
    """What every speech emotion backend provides."""

    name: str

    def predict(self, y: np.ndarray, *, states: np.ndarray | None = None) -> EmotionEstimate:
        """Return the emotion heard in ``y`` (16 kHz mono float), source ``"voice"``."""
        ...


def available_backends() -> list[str]:
    """Names of the registered backends (module names in this package)."""
    return _REGISTRY.names()


def get_backend(name: str | None = None, **options: Any) -> SpeechEmotionBackend:
    """Return the backend ``name`` (default ``$MOODTUNE_SPEECH_BACKEND`` or ``whisper_head``).

    Loaded once per process and options.
    """
    backend: SpeechEmotionBackend = _REGISTRY.get(name, **options)
    return backend
