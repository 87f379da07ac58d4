"""Speech recognition backends: a registry whose key is the module name.

A backend is a module in this package; its registry key is its module name
(``transformers_whisper`` for :mod:`moodtune.speech.asr_backends.transformers_whisper`).
It exposes ``load(**options)`` returning an object with

- ``name`` : str, the registry key;
- ``transcribe(y, *, language=None) -> Transcript``, where ``y`` is mono float audio at
  16 kHz, shape (n,), and ``language`` forces an ISO 639-1 code (else it is detected).

The offline default, ``faster_whisper``, is Whisper base int8 on CTranslate2
(:mod:`moodtune.speech.whisper`); its transcript carries the encoder states it was
decoded from, which the default speech emotion head reuses. ``transformers_whisper``
(extra ``moodtune[hf]``) runs Whisper through transformers and gives the transcript only
(``states`` is None; the speech head then encodes the voice itself).
``$MOODTUNE_ASR_BACKEND`` (``settings().asr_backend``) picks another backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from moodtune.config import settings
from moodtune.registry import BackendRegistry

#: Environment variable that names an ASR backend of this package.
ENV = "MOODTUNE_ASR_BACKEND"
#: The offline default.
DEFAULT_BACKEND = "faster_whisper"

_REGISTRY = BackendRegistry(
    "moodtune.speech.asr_backends",
    default=DEFAULT_BACKEND,
    env=ENV,
    kind="ASR backend",
    selected=lambda: settings().asr_backend,
)


@dataclass(frozen=True)
class Transcript:
    """What an ASR backend heard.

    Attributes
    ----------
    text : str
        The transcript, whitespace-normalised by the backend (may be empty).
    language : str
        ISO 639-1 code of the language decoded; ``""`` when no words were heard and the
        language was not forced.
    language_probability : float
        Probability of ``language`` among the allowed languages, in [0, 1]; 1.0 when
        forced, 0.0 when no words were heard.
    states : numpy.ndarray or None
        The Whisper-base encoder states the transcript was decoded from, shape (T, 512),
        float32, for backends that share them with the speech emotion head; None otherwise.
    """

    text: str
    language: str
    language_probability: float
    states: np.ndarray | None = field(default=None, repr=False, compare=False)


class ASRBackend(Protocol):
    """What every speech recognition backend provides."""

    name: str

    def transcribe(self, y: np.ndarray, *, language: str | None = None) -> Transcript:
        """Return the transcript and language of ``y`` (16 kHz mono float)."""
        ...


def available_backends() -> list[str]:
    """Names of the registered backends (module names in this package)."""
    return _REGISTRY.names()


def selected_backend() -> str:
    """The backend :func:`get_backend` loads without a name.

    ``$MOODTUNE_ASR_BACKEND``, else ``faster_whisper``.

    Raises
    ------
    ParameterError
        If the configured name is not a registered backend.
    """
    return _REGISTRY.resolve()


def get_backend(name: str | None = None, **options: Any) -> ASRBackend:
    """Return the backend ``name`` (else ``$MOODTUNE_ASR_BACKEND``, else ``faster_whisper``).

    Loaded once per process and options.

    Raises
    ------
    ParameterError
        If no backend has that name.
    """
    backend: ASRBackend = _REGISTRY.get(name, **options)
    return backend
