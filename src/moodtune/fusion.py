"""Fuse the voice and text emotion estimates of one message into one.

Rule: clear words decide, otherwise confidence-weighted log-linear pooling
---------------------------------------------------------------------------
For sources s in {voice, text} with calibrated probabilities ``p_s`` and confidence
``c_s`` (one minus normalised entropy, see :mod:`moodtune.types`):

1. *Clear words, unsure voice.* When the voice is unsure (``c_voice < voice_unsure``)
   and the words clearly name an emotion (the text head's top label is not neutral and
   its probability is ``>= text_clear``), the words decide: the fused distribution is
   the text's. A confident, unambiguous transcript is never overturned by a
   low-confidence voice. A confidently *neutral* transcript names no emotion, so the
   tone still counts then (acted corpora say neutral sentences in every emotion).
2. Otherwise::

       w_s = a_s * (c_s + eps) ** gamma
       log p ∝ (w_voice * log p_voice + w_text * log p_text) / (w_voice + w_text)

   so a source counts more the more sure it is, and the prior weights ``a_s`` say how
   much each source deserves in general.
3. *Both unsure* (voice unsure and words not clear): the fused result is still given,
   and :func:`is_unsure` says so; the bot, the CLI and the web page print "unsure"
   instead of a confident-looking bar.

A message with no words (humming, laughter) has only the voice; a typed text only the
text; a single source passes through unchanged.

How the parameters were chosen
------------------------------
There is no corpus of voice messages labelled for both tone and words, so
:mod:`moodtune.train.fusion` builds held-out pairs whose voice side comes from the
leave-one-corpus-out predictions of the speech head (a head that never heard that
corpus, calibrated without it): as unreliable as it will be for a new user's voice. The
text side is the shipped text head on a validation text of the clip's label (words and
tone agree) or on the clip's own acted, emotionally neutral sentence (the tone
decides). ``voice_unsure`` is the voice confidence below which the held-out voice is
right less than half the time; ``a_text / a_voice``, ``gamma`` and ``text_clear`` (the
rule of step 1 is always on: ``text_clear <= 0.9``) are grid-searched for macro-F1 on
the pairs. ``models/fusion.json`` keeps the whole grid.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from moodtune.errors import ModelError, ParameterError
from moodtune.types import LABELS, EmotionEstimate

FUSION_FILE = "fusion.json"
_EPS = 0.05


@dataclass(frozen=True)
class FusionParams:
    """Parameters of :func:`fuse` (see the module docstring).

    Attributes
    ----------
    voice_weight, text_weight, gamma : float
        Prior weights of the sources and the exponent of their confidences.
    voice_unsure : float
        Voice confidence below which the voice is unsure (0: never).
    text_clear : float
        Text top probability at or above which the words are clear (above 1: never).
    """

    voice_weight: float = 1.0
    text_weight: float = 1.0
    gamma: float = 1.0
    voice_unsure: float = 0.0
    text_clear: float = 1.01

    def __post_init__(self) -> None:
        for name in ("voice_weight", "text_weight", "gamma", "voice_unsure", "text_clear"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ParameterError(f"fusion {name}={value!r} must be a finite number >= 0")


def fuse_arrays(
    p_voice: np.ndarray,
    p_text: np.ndarray,
    conf_voice: np.ndarray,
    conf_text: np.ndarray,
    params: FusionParams,
) -> np.ndarray:
    """Vectorised fusion of shape (n, 7) probabilities with shape (n,) confidences."""
    p_voice, p_text = np.atleast_2d(p_voice), np.atleast_2d(p_text)
    wv = params.voice_weight * (np.asarray(conf_voice) + _EPS) ** params.gamma
    wt = params.text_weight * (np.asarray(conf_text) + _EPS) ** params.gamma
    total = wv + wt
    logp = (
        wv[:, None] * np.log(np.clip(p_voice, 1e-9, 1.0))
        + wt[:, None] * np.log(np.clip(p_text, 1e-9, 1.0))
    ) / np.where(total > 0, total, 1.0)[:, None]
    logp = logp - logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    p = p / p.sum(axis=1, keepdims=True)
    # clear words that name an emotion (a confidently neutral transcript names none:
    # then the tone of voice is all there is to go on)
    emotional = p_text.argmax(axis=1) != LABELS.index("neutral")
    words_decide = (
        (np.asarray(conf_voice) < params.voice_unsure)
        & (p_text.max(axis=1) >= params.text_clear)
        & emotional
    )
    text = p_text / p_text.sum(axis=1, keepdims=True)
    return np.asarray(np.where(words_decide[:, None], text, p))


def fuse(
    voice: EmotionEstimate | None,
    text: EmotionEstimate | None,
    *,
    params: FusionParams | None = None,
) -> EmotionEstimate:
    """Return the fused estimate (``source="fused"``) keeping each part in ``parts``.

    Raises
    ------
    ParameterError
        If both sources are missing.
    """
    parts = {k: v for k, v in (("voice", voice), ("text", text)) if v is not None}
    if not parts:
        raise ParameterError("nothing to fuse: give a voice or a text estimate")
    if voice is None or text is None:
        only = next(iter(parts.values()))
        return EmotionEstimate.from_probabilities(
            only.probabilities, source="fused", confidence=only.confidence, parts=parts
        )
    prm = params or load_fusion_params()
    p = fuse_arrays(
        voice.probabilities[None, :],
        text.probabilities[None, :],
        np.array([voice.confidence]),
        np.array([text.confidence]),
        prm,
    )[0]
    return EmotionEstimate.from_probabilities(p, source="fused", parts=parts)


def is_unsure(estimate: EmotionEstimate, *, params: FusionParams | None = None) -> bool:
    """Whether an estimate should be shown as "unsure" rather than as a confident bar.

    A voice estimate is unsure below ``voice_unsure``; a text estimate when its words
    are not clear; a fused one when none of its parts is sure (the voice unsure and the
    words not clear).
    """
    prm = params or load_fusion_params()
    if estimate.source == "voice":
        return estimate.confidence < prm.voice_unsure
    if estimate.source == "text":
        return float(np.max(estimate.probabilities)) < prm.text_clear
    if "voice" in estimate.parts:
        return all(is_unsure(part, params=prm) for part in estimate.parts.values())
    return False


_PARAMS: FusionParams | None = None


def load_fusion_params(path: Path | None = None) -> FusionParams:
    """Read the shipped (or given) ``fusion.json``; cached for the shipped one."""
    global _PARAMS
    if path is None and _PARAMS is not None:
        return _PARAMS
    target = path or Path(str(resources.files("moodtune.models").joinpath(FUSION_FILE)))
    try:
        data = json.loads(Path(target).read_text())
        params = FusionParams(**data["params"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read fusion parameters {target}: {exc}") from exc
    if path is None:
        _PARAMS = params
    return params


def voice_unsure_threshold(p_voice: np.ndarray, y: np.ndarray, *, accuracy: float = 0.5) -> float:
    """Lowest voice confidence above which held-out voice predictions are right often enough.

    Sorts the predictions by confidence and returns the smallest threshold ``t`` such
    that the predictions with confidence ``>= t`` are right at least ``accuracy`` of the
    time (with at least 20 of them); 1.0 if no such threshold exists (the voice is always
    unsure).
    """
    from moodtune.types import normalized_entropy_confidence

    conf = np.array([normalized_entropy_confidence(p) for p in p_voice])
    right = np.asarray(p_voice).argmax(axis=1) == np.asarray(y)
    order = np.argsort(-conf)
    conf, right = conf[order], right[order]
    count = np.arange(1, len(conf) + 1)
    hits = np.cumsum(right) / count
    # a threshold takes every prediction at least as confident: only the last of tied
    # confidences is a place to cut
    last = np.append(conf[1:] < conf[:-1], True)
    ok = np.flatnonzero((hits >= accuracy) & (count >= 20) & last)
    if not ok.size:
        return 1.0
    return float(conf[ok.max()])
