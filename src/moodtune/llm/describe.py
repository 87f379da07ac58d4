"""A track description written by an LLM, with the deterministic template as the safety net.

The LLM gets a compact summary (features, genre, duration, the curve's peak and low, and the
curve downsampled to at most :data:`CURVE_POINTS` points with m:ss times) and must answer
``{"description": "..."}``: two or three sentences, checked for length. Anything else gives
:func:`moodtune.music.describe.describe_arc`'s text with ``source="template"``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from moodtune.errors import MissingDependencyError, ParameterError
from moodtune.llm.client import LLMClient, LLMError
from moodtune.music.describe import clean_curve, describe_arc, format_time

log = logging.getLogger(__name__)

#: Most curve points sent to the LLM.
CURVE_POINTS = 16
#: Accepted description length, characters.
MIN_CHARS, MAX_CHARS = 20, 600
#: Accepted number of sentences.
MIN_SENTENCES, MAX_SENTENCES = 1, 4

DESCRIPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"description": {"type": "string", "minLength": 1}},
    "required": ["description"],
}

_FEATURES_SENT = (
    "tempo",
    "mode",
    "loudness",
    "energy",
    "valence",
    "danceability",
    "acousticness",
    "instrumentalness",
)
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)(?:\s|$)")


@dataclass(frozen=True)
class TrackDescription:
    """A description and where it came from; unpacks as ``text, source``.

    Attributes
    ----------
    text : str
    source : str
        ``"llm"`` or ``"template"``.
    model : str or None
        The LLM's model name when it wrote the text.
    note : str or None
        Why the template was used.
    elapsed_s : float
    """

    text: str
    source: str
    model: str | None = None
    note: str | None = None
    elapsed_s: float = 0.0

    def __iter__(self) -> Iterator[str]:
        """``text, source = describe_with_llm(...)``."""
        return iter((self.text, self.source))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "text": self.text,
            "source": self.source,
            "model": self.model,
            "note": self.note,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def curve_summary(
    features: Mapping[str, Any],
    arousal: np.ndarray,
    valence: np.ndarray,
    hop_s: float = 1.0,
    *,
    genre: str | None = None,
    points: int = CURVE_POINTS,
) -> dict[str, Any]:
    """The compact facts the LLM gets: features, genre, duration, peak, low and the curve.

    The curve is averaged into at most ``points`` equal spans, each given with its start
    time (m:ss) and mean arousal and valence rounded to 2 decimals.
    """
    a, v = clean_curve(arousal, "arousal"), clean_curve(valence, "valence")
    n = min(a.size, v.size)
    a, v = a[:n], v[:n]
    out: dict[str, Any] = {}
    feats: dict[str, Any] = {}
    for name in _FEATURES_SENT:
        value = features.get(name)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        ):
            feats[name] = round(float(value), 1 if name in ("tempo", "loudness") else 2)
    if feats.get("mode") in (0, 1):
        feats["mode"] = "major" if feats["mode"] == 1 else "minor"
    out["features"] = feats
    if genre:
        out["genre"] = " ".join(str(genre).split())[:40]
    duration = features.get("duration_s")
    total = float(duration) if isinstance(duration, int | float) and duration else n * hop_s
    out["duration"] = format_time(total)
    if n:
        out["peak_arousal_at"] = format_time(int(np.argmax(a)) * hop_s)
        out["lowest_arousal_at"] = format_time(int(np.argmin(a)) * hop_s)
        spans = np.array_split(np.arange(n), min(points, n))
        out["curve"] = [
            {
                "t": format_time(int(s[0]) * hop_s),
                "arousal": round(float(a[s].mean()), 2),
                "valence": round(float(v[s].mean()), 2),
            }
            for s in spans
        ]
    return out


def check_description(text: str) -> str:
    """Whitespace-collapsed description, or :class:`LLMError` if its length is off."""
    flat = " ".join(str(text).split())
    if not MIN_CHARS <= len(flat) <= MAX_CHARS:
        raise LLMError(f"description has {len(flat)} characters ({MIN_CHARS}-{MAX_CHARS} wanted)")
    n = len(_SENTENCE_END.findall(flat + " "))
    if not MIN_SENTENCES <= n <= MAX_SENTENCES:
        raise LLMError(f"description has {n} sentences ({MIN_SENTENCES}-{MAX_SENTENCES} accepted)")
    return flat


def build_messages(
    summary: Mapping[str, Any], *, language: str | None = None
) -> list[dict[str, str]]:
    """The chat sent by :func:`describe_with_llm`."""
    lang = f" Write in {language}." if language else ""
    return [
        {
            "role": "system",
            "content": (
                "You describe music for listeners in plain words. Reply with one JSON object "
                'only: {"description": "..."}.'
            ),
        },
        {
            "role": "user",
            "content": (
                "Describe this track in two or three short sentences: how its mood and energy "
                "develop over time (name m:ss times of the main moments) and what kind of "
                "track it is. Arousal and valence are on [-1, 1] (calm → energetic, "
                "negative → positive); the features are on Spotify scales (tempo BPM, "
                f"loudness dB, the rest 0-1). Do not invent instruments or lyrics.{lang}\n"
                + json.dumps(summary, ensure_ascii=False, separators=(",", ":"))
            ),
        },
    ]


def describe_with_llm(
    features: Mapping[str, Any],
    arousal: np.ndarray,
    valence: np.ndarray,
    hop_s: float = 1.0,
    *,
    genre: str | None = None,
    client: LLMClient | None = None,
    language: str | None = None,
) -> TrackDescription:
    """Describe a track with the LLM; fall back to the deterministic template.

    Parameters
    ----------
    features, arousal, valence, hop_s, genre
        As for :func:`moodtune.music.describe.describe_arc`.
    client : LLMClient, optional
        Default: :meth:`LLMClient.from_env`; none configured means the template.
    language : str, optional
        Ask the LLM to write in this language (the template is English).

    Returns
    -------
    TrackDescription
        Unpacks as ``text, source`` with source ``"llm"`` or ``"template"``; ``note``
        says why the template was used.

    Raises
    ------
    ParameterError
        Bad curves or ``hop_s`` (from the template, which is always computed first).
    """
    started = time.monotonic()
    template = describe_arc(features, arousal, valence, hop_s, genre=genre)

    def fallback(note: str) -> TrackDescription:
        log.info("track description: %s", note)
        return TrackDescription(
            template, "template", note=note, elapsed_s=time.monotonic() - started
        )

    if client is None:
        try:
            client = LLMClient.from_env()
        except (ParameterError, MissingDependencyError) as exc:
            return fallback(f"LLM settings: {exc}; template used")
        if client is None:
            return fallback("no LLM configured; template used")
    summary = curve_summary(features, arousal, valence, hop_s, genre=genre)
    try:
        answer = client.chat_json(
            build_messages(summary, language=language), DESCRIPTION_SCHEMA, temperature=0.4
        )
        text = check_description(answer["description"])
    except LLMError as exc:
        return fallback(f"LLM {exc.reason}; template used")
    except MissingDependencyError as exc:
        return fallback(f"{exc}; template used")
    return TrackDescription(text, "llm", model=client.model, elapsed_s=time.monotonic() - started)
