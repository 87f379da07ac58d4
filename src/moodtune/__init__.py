"""moodtune: hears how a person feels, in voice or text, and answers with music."""

from __future__ import annotations

from moodtune.errors import MoodtuneError
from moodtune.types import LABELS, EmotionEstimate

__version__ = "0.1.0"
__all__ = ["LABELS", "EmotionEstimate", "MoodtuneError", "__version__"]
