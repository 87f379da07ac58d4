"""Music under a voice track or a video: ducking, loudness matching, export.

Pure rendering: :mod:`moodtune.mix.pipeline` (check, decode the voice, render, write),
:mod:`moodtune.mix.render` (fit, levels, limiter, export) and
:mod:`moodtune.mix.envelope` (the ducking gain envelope). Choosing the music and hearing
the voice are the facade's (:meth:`moodtune.service.Moodtune.mix`).
"""

from __future__ import annotations

from moodtune.mix.envelope import DuckingParams
from moodtune.mix.pipeline import MixResult, Voice, check_request, read_voice, render_file

__all__ = ["DuckingParams", "MixResult", "Voice", "check_request", "read_voice", "render_file"]
