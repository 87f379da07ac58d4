"""Speech emotion backends; each module's name is its registry key.

A backend module exposes ``load(**options)`` returning an object with ``name`` and
``predict(y, *, states=None, speaker_stats=None) -> EmotionEstimate`` (source
``"voice"``), where ``y`` is 16 kHz mono audio and ``states`` the Whisper encoder states
of the same message when the caller already has them. ``whisper_head`` (offline, the
default) reuses those states; ``$MOODTUNE_SPEECH_BACKEND`` picks another backend.
"""

from __future__ import annotations

from typing import Any

from moodtune.registry import BackendRegistry

DEFAULT_BACKEND = "whisper_head"

_REGISTRY = BackendRegistry(
    "moodtune.speech.backends",
    default=DEFAULT_BACKEND,
    env="MOODTUNE_SPEECH_BACKEND",
    kind="speech emotion backend",
)


def available_backends() -> list[str]:
    """Names of the registered speech emotion backends."""
    return _REGISTRY.names()


def get_backend(name: str | None = None, **options: Any) -> Any:
    """Return the speech emotion backend ``name`` (default ``whisper_head``), loaded once."""
    return _REGISTRY.get(name, **options)
