"""From an emotion to a playlist: strategies, feature targets, ranking.

>>> from moodtune.recommend import Recommender, trajectory, va_to_feature_targets
"""

from __future__ import annotations

from moodtune.recommend.output import track_json, tracks_json
from moodtune.recommend.ranking import (
    FEATURE_WEIGHTS,
    Filters,
    Playlist,
    Recommendation,
    Recommender,
)
from moodtune.recommend.strategies import STRATEGIES, end_point, trajectory
from moodtune.recommend.targets import (
    TARGET_FEATURES,
    va_to_feature_matrix,
    va_to_feature_targets,
)

__all__ = [
    "FEATURE_WEIGHTS",
    "STRATEGIES",
    "TARGET_FEATURES",
    "Filters",
    "Playlist",
    "Recommendation",
    "Recommender",
    "end_point",
    "track_json",
    "tracks_json",
    "trajectory",
    "va_to_feature_matrix",
    "va_to_feature_targets",
]
