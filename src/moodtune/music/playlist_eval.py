"""Moved to :mod:`moodtune.recommend.evaluation` (it evaluates the recommender).

A re-export for the imports in ``cli.py`` until it names the new module; it points up a
layer (music -> recommend), so remove it then.
"""

from __future__ import annotations

from moodtune.recommend.evaluation import (  # noqa: F401
    METHODS,
    METHODS_VARIETY,
    evaluate_recommender,
    evaluate_variety,
    read_playlists,
)
