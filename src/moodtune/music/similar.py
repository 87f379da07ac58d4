"""Moved to :mod:`moodtune.recommend.similar` (similar tracks is a catalog search).

A re-export for the imports in ``service.py`` and ``cli.py`` until they name the new
module; it points up a layer (music -> recommend), so remove it then.
"""

from __future__ import annotations

from moodtune.recommend.similar import (  # noqa: F401
    ANN_MIN_TRACKS,
    CURVE_POINTS,
    CURVE_SHARE,
    SHORTLIST,
    SIMILARITY_FEATURES,
    SIMILARITY_WEIGHTS,
    SimilarIndex,
    SimilarTrack,
    dtw_distance,
    resample_curve,
    similar_tracks,
    similarity_raw,
    similarity_space,
)
