"""Speech emotion backends: a registry whose key is the module name.

A backend is a module in this package; its registry key is its module name (``hubert``
for :mod:`moodtune.speech.backends.hubert`). It exposes ``load(**options)`` returning an
object with

- ``name`` : str, the registry key;
- ``predict(y, *, states=None) -> EmotionEstimate`` (source ``"voice"``), where ``y`` is
  mono float audio at 16 kHz, shape (n,), and ``states`` are the Whisper encoder states of
  the same message, shape (T, 512), for backends that reuse them (the default head does;
  others may ignore them).

The offline default reuses Whisper's encoder states; ``hubert`` (extra ``moodtune[hf]``)
runs ``superb/hubert-large-superb-er`` through transformers.
"""

from __future__ import annotations

import pkgutil
from typing import Protocol

import numpy as np

from moodtune.types import EmotionEstimate


class SpeechEmotionBackend(Protocol):
    """What every speech emotion backend provides."""

    name: str

    def predict(self, y: np.ndarray, *, states: np.ndarray | None = None) -> EmotionEstimate:
        """Return the emotion heard in ``y`` (16 kHz mono float), source ``"voice"``."""
        ...


def available_backends() -> list[str]:
    """Names of the registered backends (module names in this package)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.ispkg)
