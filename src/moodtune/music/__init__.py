"""Music analysis: Spotify-style features, per-second arousal/valence, library scans."""

from moodtune.music.features import (
    FEATURE_NAMES,
    TrackAnalysis,
    analyze_file,
    analyze_signal,
    quadrant,
)

__all__ = ["FEATURE_NAMES", "TrackAnalysis", "analyze_file", "analyze_signal", "quadrant"]
