"""Speech recognition backends: a registry whose key is the module name.

A backend is a module in this package; its registry key is its module name
(``transformers_whisper`` for :mod:`moodtune.speech.asr_backends.transformers_whisper`).
It exposes ``load(**options)`` returning an object with

- ``name`` : str, the registry key;
- ``transcribe(y, *, language=None) -> Transcript``, where ``y`` is mono float audio at
  16 kHz, shape (n,), and ``language`` forces an ISO 639-1 code (else it is detected).

The offline default is faster-whisper (:mod:`moodtune.speech.whisper`), which also hands
its encoder states to the speech emotion head; ``transformers_whisper`` (extra
``moodtune[hf]``) runs Whisper through transformers and gives the transcript only.
``$MOODTUNE_ASR_BACKEND`` names a backend of this package to use instead of the default
(see :func:`selected_backend`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from moodtune.errors import ParameterError
from moodtune.registry import BackendRegistry

#: Environment variable that names an ASR backend of this package.
ENV = "MOODTUNE_ASR_BACKEND"

_REGISTRY = BackendRegistry("moodtune.speech.asr_backends", default="", env=ENV, kind="ASR backend")


@dataclass(frozen=True)
class Transcript:
    """What an ASR backend heard.

    Attributes
    ----------
    text : str
        The transcript, stripped (may be empty).
    language : str
        ISO 639-1 code of the language decoded.
    language_probability : float
        Probability of ``language`` among the allowed languages, in [0, 1]; 1.0 when forced.
    """

    text: str
    language: str
    language_probability: float


class ASRBackend(Protocol):
    """What every speech recognition backend provides."""

    name: str

    def transcribe(self, y: np.ndarray, *, language: str | None = None) -> Transcript:
        """Return the transcript and language of ``y`` (16 kHz mono float)."""
        ...


def available_backends() -> list[str]:
    """Names of the registered backends (module names in this package)."""
    return _REGISTRY.names()


def selected_backend() -> str | None:
    """The backend ``$MOODTUNE_ASR_BACKEND`` names, or None for the faster-whisper default."""
    return os.environ.get(ENV) or None


def get_backend(name: str | None = None, **options: Any) -> ASRBackend:
    """Return the backend ``name`` (else ``$MOODTUNE_ASR_BACKEND``), loaded once per options.

    Raises
    ------
    ParameterError
        If neither names a backend, or no backend has that name.
    """
    if not (name or selected_backend()):
        raise ParameterError(
            f"no ASR backend named; pass one or set ${ENV} to one of "
            f"{', '.join(available_backends())} (the default ASR is moodtune.speech.whisper)"
        )
    backend: ASRBackend = _REGISTRY.get(name, **options)
    return backend
