"""A track in words: a deterministic reading of its arousal/valence curve.

:func:`describe_arc` turns what :func:`moodtune.music.features.analyze_file` measured (the
features and the per-second curves) into two or three sentences such as *"Starts calm and
dark, builds to an energetic, bright peak at 1:40, and ends quietly. A 128 BPM rock track in a
minor key, tense overall."* The same input always gives the same text; no model is involved
(an optional LLM rewrite lives in :mod:`moodtune.llm`).

How the curve is read
---------------------
1. NaNs are filled by linear interpolation, values clipped to [-1, 1], and both curves are
   smoothed with a centred moving average of about :data:`SMOOTH_S` seconds (at most a
   fifth of the track), so a single loud bar is not a "peak".
2. The opening and the ending are the mean of the first and last :data:`EDGE_SHARE` of the
   track (at least one point); the peak and the low point are the extremes of the smoothed
   arousal.
3. The shape comes from arousal: *flat* when its smoothed range is under :data:`FLAT_RANGE`;
   otherwise *arch* (an inner peak above both ends), *rising*, *falling* or *dip* (an
   inner low below both ends) by differences of at least :data:`MOVE`; anything else
   "moves between" its low and its peak.
   Turning points are alternating extremes of the smoothed arousal at least
   :data:`TURN_MOVE` apart; :data:`WAVES` or more make the shape *waves* (it "swells and
   drops N times").
4. Each moment is named by its point on the circumplex: an energy word from arousal
   (very calm … intense) and a colour word from valence (dark … bright), or one word for
   a strong quadrant (tense, sad, peaceful, euphoric).
5. A last sentence gives the kind of track: tempo, mode, genre and the overall mood.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from moodtune.errors import ParameterError

#: Smoothing window, s.
SMOOTH_S = 9.0
#: Share of the track that counts as its opening and its ending.
EDGE_SHARE = 0.15
#: Smoothed arousal range below which the track is "flat".
FLAT_RANGE = 0.15
#: Smallest arousal difference that counts as a move (rise, fall, turning point).
MOVE = 0.15
#: Smallest smoothed arousal swing between two turning points.
TURN_MOVE = 0.25
#: Turning points from which a track "swells and drops" rather than having one shape.
WAVES = 3
#: Valence change between opening and ending that is worth a clause.
VALENCE_SHIFT = 0.3


def format_time(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour), rounded down to whole seconds.

    >>> format_time(100.7), format_time(5), format_time(3725)
    ('1:40', '0:05', '1:02:05')
    """
    s = max(0, int(math.floor(seconds)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def energy_word(arousal: float) -> str:
    """Word for an arousal level on [-1, 1], e.g. ``"calm"`` or ``"energetic"``."""
    for limit, word in ((-0.55, "very calm"), (-0.2, "calm"), (0.2, "steady"), (0.55, "lively")):
        if arousal < limit:
            return word
    return "energetic"


def colour_word(valence: float) -> str:
    """Word for a valence level on [-1, 1], e.g. ``"dark"`` or ``"bright"``."""
    for limit, word in ((-0.5, "dark"), (-0.2, "sombre"), (0.2, "neutral"), (0.5, "warm")):
        if valence < limit:
            return word
    return "bright"


def mood_phrase(valence: float, arousal: float) -> str:
    """A phrase for one point of the circumplex, e.g. ``"calm and dark"`` or ``"tense"``.

    Strong points (both coordinates at least 0.35 from zero) get one quadrant word:
    euphoric, tense, sad or peaceful.
    """
    if abs(valence) >= 0.35 and abs(arousal) >= 0.35:
        return {
            (True, True): "euphoric",
            (False, True): "tense",
            (False, False): "sad",
            (True, False): "peaceful",
        }[(valence >= 0.0, arousal >= 0.0)]
    energy, colour = energy_word(arousal), colour_word(valence)
    if colour == "neutral":
        return energy
    return f"{energy} and {colour}"


def clean_curve(x: np.ndarray | Any, name: str = "curve") -> np.ndarray:
    """1-D float curve with NaNs interpolated, clipped to [-1, 1]; empty if nothing is finite.

    Raises
    ------
    ParameterError
        ``x`` is not numeric.
    """
    try:
        y = np.asarray(x, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a 1-D array of numbers in [-1, 1]") from None
    ok = np.isfinite(y)
    if not ok.any():
        return np.zeros(0)
    if not ok.all():
        idx = np.arange(y.size)
        y = np.interp(idx, idx[ok], y[ok])
    return np.clip(y, -1.0, 1.0)


def _smooth(y: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average with edge padding, same length."""
    if width <= 1 or y.size < 3:
        return y.copy()
    width = min(width, y.size)
    left = width // 2
    padded = np.pad(y, (left, width - 1 - left), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _turning_points(y: np.ndarray, move: float) -> int:
    """Count alternating extremes that differ from the previous one by at least ``move``."""
    if y.size < 3:
        return 0
    count, direction = 0, 0
    anchor = float(y[0])
    for value in y[1:]:
        v = float(value)
        if direction >= 0 and v <= anchor - move:
            count += direction > 0
            direction, anchor = -1, v
        elif direction <= 0 and v >= anchor + move:
            count += direction < 0
            direction, anchor = 1, v
        elif (direction > 0 and v > anchor) or (direction < 0 and v < anchor):
            anchor = v
    return int(count)


def _number(features: Mapping[str, Any], name: str) -> float | None:
    value = features.get(name)
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _kind_sentence(
    features: Mapping[str, Any], genre: str | None, overall: str | None, duration_s: float | None
) -> str:
    tempo = _number(features, "tempo")
    mode = _number(features, "mode")
    head = []
    if tempo is not None and tempo > 0:
        head.append(f"{tempo:.0f} BPM")
    if genre and genre.strip():
        head.append(" ".join(genre.split())[:40])
    text = " ".join(head + ["track"])
    if mode in (0.0, 1.0):
        text += " in a major key" if mode == 1.0 else " in a minor key"
    first = text.split()[0]
    vowel = first[0] in "aeiouAEIOU" or first[0] == "8" or first in ("11", "18")
    article = "An" if vowel else "A"
    parts = [f"{article} {text}"]
    if duration_s:
        parts.append(f"{format_time(duration_s)} long")
    if overall:
        parts.append(f"{overall} overall")
    return ", ".join(parts) + "."


def describe_arc(
    features: Mapping[str, Any],
    arousal: np.ndarray,
    valence: np.ndarray,
    hop_s: float = 1.0,
    *,
    genre: str | None = None,
) -> str:
    """Describe a track in two or three sentences from its features and emotion curve.

    Parameters
    ----------
    features : mapping
        Track features as in :attr:`moodtune.music.features.TrackAnalysis.features`; this
        reads ``tempo`` (BPM), ``mode`` (1 major, 0 minor) and, when the curves are
        empty, ``energy`` and ``valence`` on [0, 1]. Missing or ``None`` values are left
        out of the text.
    arousal, valence : np.ndarray, shape (n,)
        Per-point curves on [-1, 1] (values outside are clipped, NaNs interpolated);
        point ``k`` describes ``[k * hop_s, (k + 1) * hop_s)``. Both the same length.
    hop_s : float
        Seconds per curve point (1.0 for :class:`TrackAnalysis`).
    genre : str, optional
        Named in the last sentence.

    Returns
    -------
    str
        Deterministic text: the same input gives the same words.

    Raises
    ------
    ParameterError
        ``hop_s`` is not a positive number, or the curves differ in length.

    Examples
    --------
    >>> a = np.concatenate([np.linspace(-0.7, 0.8, 100), np.linspace(0.8, -0.6, 60)])
    >>> v = np.concatenate([np.linspace(-0.6, 0.6, 100), np.full(60, 0.6)])
    >>> print(describe_arc({"tempo": 128, "mode": 1}, a, v))  # doctest: +NORMALIZE_WHITESPACE
    Starts sad, builds to a euphoric peak at 1:39, then winds down and ends quietly on a calm
    and bright note. The mood brightens as it goes. A 128 BPM track in a major key, 2:40
    long, steady and warm overall.
    """
    try:
        hop = float(hop_s)
    except (TypeError, ValueError):
        hop = math.nan
    if not math.isfinite(hop) or hop <= 0:
        raise ParameterError(f"hop_s={hop_s!r} must be a positive number of seconds")
    a_raw = np.asarray(arousal, dtype=np.float64).reshape(-1)
    v_raw = np.asarray(valence, dtype=np.float64).reshape(-1)
    if a_raw.shape != v_raw.shape:
        raise ParameterError(
            f"arousal ({a_raw.size} points) and valence ({v_raw.size} points) must be the "
            "same length"
        )
    a, v = clean_curve(a_raw, "arousal"), clean_curve(v_raw, "valence")
    duration = _number(features, "duration_s")
    if a.size == 0 or v.size == 0:  # no usable curve: describe the track-level features
        e, val = _number(features, "energy"), _number(features, "valence")
        if e is None and val is None:
            return _kind_sentence(features, genre, None, duration)[:-1] + (
                "; its mood could not be read."
            )
        phrase = mood_phrase(
            2.0 * val - 1.0 if val is not None else 0.0, 2.0 * e - 1.0 if e is not None else 0.0
        )
        return _kind_sentence(features, genre, phrase, duration)

    n = a.size
    total_s = n * hop
    width = int(round(SMOOTH_S / hop))
    width = max(1, min(width, n // 5 if n >= 10 else 1))
    sa, sv = _smooth(a, width), _smooth(v, width)
    edge = max(1, int(round(EDGE_SHARE * n)))
    start_a, start_v = float(sa[:edge].mean()), float(sv[:edge].mean())
    end_a, end_v = float(sa[-edge:].mean()), float(sv[-edge:].mean())
    peak = int(np.argmax(sa))
    low = int(np.argmin(sa))
    peak_a, peak_v = float(sa[peak]), float(sv[peak])
    low_a, low_v = float(sa[low]), float(sv[low])
    inner = edge <= peak < n - edge
    inner_low = edge <= low < n - edge
    span = float(sa.max() - sa.min())
    start, end = mood_phrase(start_v, start_a), mood_phrase(end_v, end_a)
    overall = mood_phrase(float(v.mean()), float(a.mean()))
    at_peak = format_time(peak * hop)
    at_low = format_time(low * hop)

    turns = _turning_points(sa, TURN_MOVE)
    flat = n == 1 or span < FLAT_RANGE
    if flat:
        length = f"its {format_time(total_s)}" if total_s >= 1 else "its length"
        first = f"Stays {overall} throughout {length}, with hardly any change in energy."
        if total_s < 15 and n > 1:
            first = f"A short {format_time(total_s)} excerpt that stays {overall} throughout."
    elif turns >= WAVES:
        ext = _extremes(at_peak, peak_v, peak_a, at_low, low_v, low_a)
        first = f"Swells and drops {turns} times ({ext}) and {_ending(end, end_a)}."
    elif inner and peak_a - start_a >= MOVE and peak_a - end_a >= MOVE:
        first = (
            f"Starts {start}, builds to {_article(mood_phrase(peak_v, peak_a))} peak at "
            f"{at_peak}, then winds down and {_ending(end, end_a)}."
        )
    elif end_a - start_a >= MOVE and peak >= n - edge - 1:
        first = (
            f"Starts {start} and builds up steadily to {_article(mood_phrase(end_v, end_a))} "
            f"finish, at its most intense around {at_peak}."
        )
    elif start_a - end_a >= MOVE and peak < edge + 1:
        when = "right at the start" if peak * hop < 5 else f"around {at_peak}"
        first = (
            f"Opens {mood_phrase(peak_v, peak_a)}, at its most intense {when}, then "
            f"gradually calms down and {_ending(end, end_a)}."
        )
    elif inner_low and start_a - low_a >= MOVE and end_a - low_a >= MOVE:
        first = (
            f"Starts {start}, drops to {_article(mood_phrase(low_v, low_a))} passage around "
            f"{at_low}, then comes back {end}."
        )
    else:
        first = (
            f"Starts {start} and moves back and forth "
            f"({_extremes(at_peak, peak_v, peak_a, at_low, low_v, low_a)}), "
            f"then {_ending(end, end_a)}."
        )
    sentences = [first]
    shift = end_v - start_v
    if not flat and shift >= VALENCE_SHIFT:
        sentences.append("The mood brightens as it goes.")
    elif not flat and shift <= -VALENCE_SHIFT:
        sentences.append("The mood darkens as it goes.")
    sentences.append(
        # a flat curve's first sentence already gave the length
        _kind_sentence(
            features, genre, None if flat else overall, None if flat else duration or total_s
        )
    )
    return " ".join(sentences[:3])


def _extremes(
    at_peak: str, peak_v: float, peak_a: float, at_low: str, low_v: float, low_a: float
) -> str:
    """``most intense around 1:40, lively; quietest around 3:10, sad`` (a phrase said once)."""
    peak, low = mood_phrase(peak_v, peak_a), mood_phrase(low_v, low_a)
    if peak == low:
        return f"most intense around {at_peak} and quietest around {at_low}, both {peak}"
    return f"most intense around {at_peak}, {peak}; quietest around {at_low}, {low}"


def _article(phrase: str) -> str:
    vowel = phrase[0] in "aeiou" and not phrase.startswith("eu")
    return f"{'an' if vowel else 'a'} {phrase}"


def _ending(phrase: str, arousal: float) -> str:
    """``"ends quietly"``, ``"ends quietly on a sad note"`` or ``"ends on a warm note"``."""
    if arousal < -0.2:
        if phrase in ("calm", "very calm"):
            return "ends quietly"
        return f"ends quietly on {_article(phrase)} note"
    return f"ends on {_article(phrase)} note"
