"""Short reasons in words for each recommended track."""

from __future__ import annotations

import math

from moodtune.types import CIRCUMPLEX

#: How a listener's mood is named in a reason, per label.
MOOD_WORDS: dict[str, str] = {
    "anger": "angry",
    "disgust": "irritated",
    "fear": "anxious",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "excited",
    "neutral": "neutral",
}

#: Below this distance from the origin a mood is called neutral.
NEUTRAL_RADIUS = 0.15


def mood_label(valence: float, arousal: float) -> str:
    """Return the label whose circumplex angle is nearest to the point (or ``"neutral"``)."""
    if math.hypot(valence, arousal) < NEUTRAL_RADIUS:
        return "neutral"
    angle = math.atan2(arousal, valence)
    best, best_gap = "neutral", math.inf
    for label, (v, a) in CIRCUMPLEX.items():
        if label == "neutral":
            continue
        gap = abs(math.remainder(angle - math.atan2(a, v), math.tau))
        if gap < best_gap:
            best, best_gap = label, gap
    return best


def mood_word(valence: float, arousal: float) -> str:
    """Return an adjective for the listener's mood at a circumplex point, e.g. ``"sad"``."""
    return MOOD_WORDS[mood_label(valence, arousal)]


def _valence_word(valence: float) -> str:
    for limit, word in ((0.2, "sombre"), (0.4, "wistful"), (0.6, "balanced"), (0.8, "bright")):
        if valence < limit:
            return word
    return "joyful"


def _energy_word(energy: float) -> str:
    for limit, word in ((0.25, "very calm"), (0.45, "calm"), (0.65, "steady"), (0.85, "lively")):
        if energy < limit:
            return word
    return "intense"


def describe_track(*, valence: float, energy: float, mode: int, tempo: float) -> str:
    """Describe a track's sound, e.g. ``"bright and calm, major key, 92 BPM"``.

    Parameters
    ----------
    valence, energy : float
        Spotify valence and energy in [0, 1] (NaN leaves the word out).
    mode : int
        1 major, 0 minor, anything else unknown.
    tempo : float
        Beats per minute (0 or NaN leaves it out).
    """
    words = []
    if math.isfinite(valence):
        words.append(_valence_word(valence))
    if math.isfinite(energy):
        words.append(_energy_word(energy))
    parts = [" and ".join(words)] if words else []
    if mode in (0, 1):
        parts.append("major key" if mode == 1 else "minor key")
    if math.isfinite(tempo) and tempo > 0:
        parts.append(f"{tempo:.0f} BPM")
    return ", ".join(parts) if parts else "a track"


def strategy_phrase(
    *, strategy: str, mood: str, step: float, first: bool, last: bool, moving: bool = True
) -> str:
    """Say what a track does for the listener at its place in the playlist.

    Parameters
    ----------
    strategy : str
        ``match``, ``uplift``, ``calm`` or ``energize``.
    mood : str
        Adjective for the listener's mood (:func:`mood_word`).
    step : float
        How far along the strategy's path this position is, in [0, 1].
    first, last : bool
        Whether this is the first or last track.
    moving : bool
        Whether the path goes anywhere (``False`` when the listener already is where the
        strategy leads, e.g. ``uplift`` for a happy listener).
    """
    if strategy == "match":
        return f"mirrors your {mood} mood"
    if strategy == "uplift":
        return _uplift_phrase(mood, first=first, last=last, moving=moving)
    if strategy == "calm":
        if step < 1.0 and moving:
            return f"a step down towards calm from your {mood} mood"
        return "calm to help you settle"
    if step < 1.0 and moving:
        return f"a step up in energy from your {mood} mood"
    return "full of energy to lift you up"


def _uplift_phrase(mood: str, *, first: bool, last: bool, moving: bool) -> str:
    """:func:`strategy_phrase` for ``uplift``: where the track is on the way up."""
    if not moving:
        return f"keeps your {mood} mood going"
    if first:
        return f"meets your {mood} mood where it is"
    if last:
        return f"arrives somewhere brighter than your {mood} mood"
    return f"a gentle step up from your {mood} mood"
