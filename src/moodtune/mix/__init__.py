"""Music under a voice track or a video: ducking, loudness matching, export.

See :func:`moodtune.mix.pipeline.mix_for` (what the CLI, the API and the bot call),
:mod:`moodtune.mix.render` (fit, levels, limiter, export) and
:mod:`moodtune.mix.envelope` (the ducking gain envelope).
"""

from __future__ import annotations

from moodtune.mix.envelope import DuckingParams
from moodtune.mix.pipeline import MixResult, mix_bytes, mix_for

__all__ = ["DuckingParams", "MixResult", "mix_bytes", "mix_for"]
