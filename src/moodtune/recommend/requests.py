"""Playlist and journey requests, checked and parsed before any model runs.

The one place the strategy and the playlist length of a request are checked (the
facade, the mix and every interface call :func:`check_playlist_request`), and where a
journey's ends are read (:func:`journey_end`).
"""

from __future__ import annotations

from moodtune.errors import ParameterError
from moodtune.recommend.strategies import check_n, check_strategy
from moodtune.types import CIRCUMPLEX, LABEL_ALIASES


def check_playlist_request(*, strategy: str, n: int | None = None) -> None:
    """Validate a playlist request's strategy (and length ``n``, when given).

    Raises
    ------
    ParameterError
        If the strategy is unknown or ``n`` is not an integer in [1, 100].
    """
    check_strategy(strategy)
    if n is not None:
        check_n(n)


#: Mood words a journey end may name, as circumplex points (besides the seven labels).
JOURNEY_WORDS: dict[str, tuple[float, float]] = {
    "calm": (0.5, -0.6),
    "relaxed": (0.5, -0.6),
    "tired": (-0.2, -0.8),
    "tense": (-0.2, 0.8),
    "excited": (0.5, 0.8),
    "energetic": (0.5, 0.8),
}


def journey_end(value: str, *, name: str = "from") -> str | tuple[float, float]:
    """Parse one end of a journey: an emotion word, a ``valence,arousal`` point or a track id.

    Emotion labels and their aliases (:data:`moodtune.types.LABEL_ALIASES`) map to their
    circumplex coordinates, as do :data:`JOURNEY_WORDS`; anything else is a track id
    (checked by the recommender).

    Raises
    ------
    ParameterError
        An empty value, or a point outside [-1, 1]².
    """
    text = str(value or "").strip()
    if not text:
        raise ParameterError(
            f"--{name} is empty; give an emotion, a valence,arousal point or a track id"
        )
    key = text.casefold()
    if key in JOURNEY_WORDS:
        return JOURNEY_WORDS[key]
    if key in CIRCUMPLEX:
        return CIRCUMPLEX[key]
    if key in LABEL_ALIASES:
        return CIRCUMPLEX[LABEL_ALIASES[key]]
    parts = text.split(",")
    if len(parts) == 2:
        try:
            v, a = float(parts[0]), float(parts[1])
        except ValueError:
            return text
        if not (-1 <= v <= 1 and -1 <= a <= 1):
            raise ParameterError(f"--{name} {text}: valence and arousal must lie in [-1, 1]")
        return (v, a)
    return text
