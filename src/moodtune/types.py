"""The emotion vocabulary, its circumplex coordinates, and the one result type.

Seven labels: anger, disgust, fear, happiness, sadness, surprise, neutral.

Circumplex coordinates
----------------------
Valence (displeasure -1 … pleasure +1) and arousal (sleepy -1 … aroused +1) come from
the angles of the emotion words in Russell (1980), "A circumplex model of affect",
J. Personality and Social Psychology 39(6):1161-1178, Table 3 (direct circular
scaling; 0° = pleasure, 90° = arousal):

=========  ==========================  =======
label      Russell (1980) word         angle
=========  ==========================  =======
happiness  happy                         7.8°
surprise   astonished                   69.8°
anger      angry                        99.1°
fear       afraid                      116.6°
sadness    sad                         207.5°
=========  ==========================  =======

*disgust* is not among Russell's 28 words; we place it at 130°, between his "annoyed"
(122.8°) and "distressed" (137.6°) — a moodtune choice, not a measured value.
*neutral* is the origin. Every point sits at radius 0.8 so blends stay inside [-1, 1]
with room left for intensity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from moodtune.errors import ParameterError

#: The seven labels, in the order every probability vector uses.
LABELS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
    "neutral",
)

#: Russell (1980) angles in degrees (see the module docstring); ``None`` is the origin.
RUSSELL_ANGLES_DEG: dict[str, float | None] = {
    "anger": 99.1,
    "disgust": 130.0,
    "fear": 116.6,
    "happiness": 7.8,
    "sadness": 207.5,
    "surprise": 69.8,
    "neutral": None,
}

#: Radius of every non-neutral label on the circumplex.
RADIUS = 0.8


def angle_to_valence_arousal(angle_deg: float, *, radius: float = RADIUS) -> tuple[float, float]:
    """Convert a circumplex angle (degrees, 0 = pleasure, 90 = arousal) to (valence, arousal)."""
    rad = math.radians(angle_deg)
    return radius * math.cos(rad), radius * math.sin(rad)


def _coords() -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for label, angle in RUSSELL_ANGLES_DEG.items():
        out[label] = (0.0, 0.0) if angle is None else angle_to_valence_arousal(angle)
    return out


#: (valence, arousal) per label, both in [-1, 1].
CIRCUMPLEX: dict[str, tuple[float, float]] = _coords()

#: Same coordinates as an array of shape (7, 2) in :data:`LABELS` order.
CIRCUMPLEX_ARRAY = np.array([CIRCUMPLEX[lab] for lab in LABELS], dtype=np.float64)

#: Circumplex quadrant names by (valence >= 0, arousal >= 0).
QUADRANTS: dict[tuple[bool, bool], str] = {
    (True, True): "happy / excited",
    (False, True): "tense / angry",
    (False, False): "sad / depressed",
    (True, False): "calm / relaxed",
}


def quadrant(valence: float, arousal: float) -> str:
    """Name of the circumplex quadrant of a (valence, arousal) point on [-1, 1]²."""
    return QUADRANTS[(valence >= 0.0, arousal >= 0.0)]


#: Aliases from other corpora's label names onto the seven labels.
LABEL_ALIASES: dict[str, str] = {
    "angry": "anger",
    "anger": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "happy": "happiness",
    "happiness": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "sadness": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
    "no_emotion": "neutral",
}


def canonical_label(name: str) -> str:
    """Map a corpus label name onto one of the seven labels.

    Raises
    ------
    ParameterError
        If ``name`` has no mapping.
    """
    key = name.strip().lower()
    if key not in LABEL_ALIASES:
        raise ParameterError(f"emotion label {name!r} is unknown; use one of {', '.join(LABELS)}")
    return LABEL_ALIASES[key]


def probabilities_to_valence_arousal(probs: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Return the probability-weighted circumplex point of a 7-label distribution."""
    p = np.asarray(probs, dtype=np.float64)
    va = p @ CIRCUMPLEX_ARRAY
    return float(np.clip(va[0], -1, 1)), float(np.clip(va[1], -1, 1))


def normalized_entropy_confidence(probs: Sequence[float] | np.ndarray) -> float:
    """Confidence in [0, 1]: one minus the entropy of ``probs`` divided by log(7)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    p = p / p.sum()
    h = float(-(p * np.log(p)).sum())
    return float(np.clip(1.0 - h / math.log(len(p)), 0.0, 1.0))


@dataclass(frozen=True)
class EmotionEstimate:
    """What one emotion source (text, voice, or their fusion) concluded.

    Attributes
    ----------
    probabilities : np.ndarray
        Shape (7,), in :data:`LABELS` order, sums to 1.
    valence, arousal : float
        Circumplex point in [-1, 1].
    confidence : float
        In [0, 1]; 0 means "no idea", 1 means certain.
    source : str
        ``"text"``, ``"voice"`` or ``"fused"``.
    parts : dict
        For fused results, the estimates they came from, by source name.
    mixed : tuple of str
        Two labels when the source heard two close feelings (most likely first), else ``()``.
    """

    probabilities: np.ndarray
    valence: float
    arousal: float
    confidence: float
    source: str = "text"
    parts: Mapping[str, EmotionEstimate] = field(default_factory=dict)
    mixed: tuple[str, ...] = ()

    @classmethod
    def from_probabilities(
        cls,
        probs: Sequence[float] | np.ndarray,
        *,
        source: str = "text",
        confidence: float | None = None,
        parts: Mapping[str, EmotionEstimate] | None = None,
        mixed: Sequence[str] = (),
    ) -> EmotionEstimate:
        """Build an estimate from a 7-label distribution (valence/arousal from the circumplex).

        With ``mixed`` (two labels), the valence/arousal point is the mean of those two
        labels' circumplex points weighted by their probabilities, so it lies between them.
        """
        p = np.asarray(probs, dtype=np.float64).reshape(-1)
        if p.shape != (len(LABELS),) or not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ParameterError(f"probabilities must be 7 finite non-negative numbers, got {p!r}")
        total = p.sum()
        if total <= 0:
            raise ParameterError("probabilities sum to zero")
        p = p / total
        mixed = tuple(canonical_label(m) for m in mixed)
        if mixed:
            if len(mixed) != 2 or mixed[0] == mixed[1]:
                raise ParameterError(f"mixed must name two different labels, got {mixed}")
            idx = [LABELS.index(m) for m in mixed]
            pair = np.zeros_like(p)
            pair[idx] = p[idx] + 1e-9
            valence, arousal = probabilities_to_valence_arousal(pair / pair.sum())
        else:
            valence, arousal = probabilities_to_valence_arousal(p)
        conf = normalized_entropy_confidence(p) if confidence is None else float(confidence)
        return cls(
            probabilities=p,
            valence=valence,
            arousal=arousal,
            confidence=float(np.clip(conf, 0.0, 1.0)),
            source=source,
            parts=dict(parts or {}),
            mixed=mixed,
        )

    @property
    def label(self) -> str:
        """The most probable of the seven labels."""
        return LABELS[int(np.argmax(self.probabilities))]

    def probability_dict(self) -> dict[str, float]:
        """Return the probabilities as ``{label: p}`` in :data:`LABELS` order."""
        return {lab: float(p) for lab, p in zip(LABELS, self.probabilities, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: label, probabilities, valence, arousal, confidence (+ ``mixed``).

        ``mixed`` (two labels) is present only when the source heard two close feelings.
        """
        out: dict[str, Any] = {
            "label": self.label,
            "probabilities": {k: round(v, 4) for k, v in self.probability_dict().items()},
            "valence": round(self.valence, 4),
            "arousal": round(self.arousal, 4),
            "confidence": round(self.confidence, 4),
        }
        if self.mixed:
            out["mixed"] = list(self.mixed)
        return out


#: Width of the label bumps :func:`estimate_from_point` puts on the circumplex (squared distance).
POINT_SPREAD: float = 0.1


def estimate_from_point(
    valence: float, arousal: float, *, source: str = "given"
) -> EmotionEstimate:
    """An estimate at a circumplex point: label probabilities fall off with the distance.

    Each label's weight is ``exp(-d² / POINT_SPREAD)`` for its distance ``d`` to the point;
    the estimate keeps the point itself as its valence and arousal.

    Raises
    ------
    ParameterError
        A value that is not a number in [-1, 1].
    """
    try:
        v, a = float(valence), float(arousal)
    except (TypeError, ValueError):
        v = a = float("nan")
    if not (math.isfinite(v) and math.isfinite(a) and -1 <= v <= 1 and -1 <= a <= 1):
        raise ParameterError(f"valence={valence!r}, arousal={arousal!r} must lie in [-1, 1]")
    d2 = np.sum((CIRCUMPLEX_ARRAY - np.array([v, a])) ** 2, axis=1)
    weights = np.exp(-d2 / POINT_SPREAD)
    shaped = EmotionEstimate.from_probabilities(weights / weights.sum(), source=source)
    return EmotionEstimate(
        probabilities=shaped.probabilities,
        valence=v,
        arousal=a,
        confidence=shaped.confidence,
        source=source,
    )


def estimate_from_label_probabilities(
    probabilities: Mapping[str, float], *, source: str = "given"
) -> EmotionEstimate:
    """An estimate from ``{label: p}`` (missing labels count as 0; normalised).

    Raises
    ------
    ParameterError
        Unknown labels, values outside [0, 1], or all zero.
    """
    unknown = sorted(set(probabilities) - set(LABELS))
    if unknown:
        raise ParameterError(f"unknown emotion labels {unknown}; use {', '.join(LABELS)}")
    try:
        probs = [float(probabilities.get(lab, 0.0)) for lab in LABELS]
    except (TypeError, ValueError):
        probs = [float("nan")]
    if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in probs) or sum(probs) <= 0:
        raise ParameterError(
            "probabilities must be numbers from 0 to 1, at least one above 0 "
            f"(got {dict(probabilities)})"
        )
    return EmotionEstimate.from_probabilities(probs, source=source)


def estimate_given(
    *,
    probabilities: Mapping[str, float] | None = None,
    valence: float | None = None,
    arousal: float | None = None,
    source: str = "given",
) -> EmotionEstimate:
    """An emotion a caller already has: ``{label: p}`` or a circumplex point, not both.

    See :func:`estimate_from_label_probabilities` and :func:`estimate_from_point`.

    Raises
    ------
    ParameterError
        Neither or both given, only one of valence and arousal, or bad values.
    """
    point = valence is not None or arousal is not None
    if (probabilities is None) == (not point):
        raise ParameterError(
            "give the emotion as probabilities, or as valence and arousal; not both"
        )
    if probabilities is not None:
        return estimate_from_label_probabilities(probabilities, source=source)
    if valence is None or arousal is None:
        raise ParameterError("give both valence and arousal")
    return estimate_from_point(valence, arousal, source=source)


#: Largest share of a track's emotion point that its lyrics may take. The lyrics' share is
#: ``LYRICS_WEIGHT * confidence`` (the text model's 1 - normalised entropy, usually 0.2-0.6),
#: so confident, clear lyrics move the point by up to 40 % and vague ones barely at all. The
#: seed project found sound and lyrics together beat either alone; the sound keeps the larger
#: share because the text model reads sung lines less reliably than messages. Our choice.
LYRICS_WEIGHT: float = 0.4


def lyrics_share(confidence: float) -> float:
    """Share in [0, LYRICS_WEIGHT] of the lyrics in a track's emotion point."""
    c = float(confidence)
    if not math.isfinite(c):
        return 0.0
    return LYRICS_WEIGHT * min(max(c, 0.0), 1.0)


def blend_lyrics_point(
    valence: float, arousal: float, lyrics_valence: float, lyrics_arousal: float, confidence: float
) -> tuple[float, float, float]:
    """A track's emotion point from its sound and its lyrics, all on [-1, 1].

    Returns
    -------
    (valence, arousal, share)
        The blended point and the lyrics' share in it (:func:`lyrics_share`).
    """
    w = lyrics_share(confidence)
    return (
        (1.0 - w) * float(valence) + w * float(lyrics_valence),
        (1.0 - w) * float(arousal) + w * float(lyrics_arousal),
        w,
    )
