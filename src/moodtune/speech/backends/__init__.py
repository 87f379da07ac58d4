"""Speech emotion backends: a registry whose key is the module name.

A backend is a module in this package; its registry key is its module name (``hubert``
for :mod:`moodtune.speech.backends.hubert`). It exposes ``load(**options)`` returning an
object with

- ``name`` : str, the registry key;
- ``predict(y, *, states=None) -> EmotionEstimate`` (source ``"voice"``), where ``y`` is
  mono float audio at 16 kHz, shape (n,), and ``states`` are the Whisper encoder states of
  the same message, shape (T, 512), for backends that reuse them (the default head does;
  others may ignore them).

The offline default, ``whisper_head``, reuses Whisper's encoder states; ``hubert`` (extra
``moodtune[hf]``) runs ``superb/hubert-large-superb-er`` through transformers.
``$MOODTUNE_SPEECH_BACKEND`` (``settings().speech_backend``) picks the backend.

Speaker adaptation
------------------
A backend that normalises by the listener's own voice implements :class:`SpeakerAdaptive`
as well: ``speaker_features`` gives the vector the listener's running statistics
(:class:`~moodtune.speech.emotion.SpeakerStats`) are kept over, and ``predict`` takes
those statistics as ``speaker_stats``. The facade checks ``isinstance(backend,
SpeakerAdaptive)``; other backends are used as they are. ``whisper_head`` is adaptive,
``hubert`` is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from moodtune.config import settings
from moodtune.registry import BackendRegistry
from moodtune.types import EmotionEstimate

if TYPE_CHECKING:
    from moodtune.speech.emotion import SpeakerStats

DEFAULT_BACKEND = "whisper_head"

_REGISTRY = BackendRegistry(
    "moodtune.speech.backends",
    default=DEFAULT_BACKEND,
    env="MOODTUNE_SPEECH_BACKEND",
    kind="speech emotion backend",
    selected=lambda: settings().speech_backend,
)


class SpeechEmotionBackend(Protocol):
    """What every speech emotion backend provides."""

    name: str

    def predict(self, y: np.ndarray, *, states: np.ndarray | None = None) -> EmotionEstimate:
        """Return the emotion heard in ``y`` (16 kHz mono float), source ``"voice"``."""
        ...


@runtime_checkable
class SpeakerAdaptive(Protocol):
    """A speech emotion backend that adapts to the listener's voice.

    ``isinstance(backend, SpeakerAdaptive)`` checks that both methods exist.
    """

    def speaker_features(self, y: np.ndarray, *, states: np.ndarray | None = None) -> np.ndarray:
        """The vector the listener's running statistics are kept over, shape (d,).

        ``y`` is 16 kHz mono float audio; ``states`` as in :meth:`predict`.
        """
        ...

    def predict(
        self,
        y: np.ndarray,
        *,
        states: np.ndarray | None = None,
        speaker_stats: SpeakerStats | None = None,
    ) -> EmotionEstimate:
        """The emotion of ``y``, normalised by ``speaker_stats`` when given."""
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
