"""Grid-search the fusion parameters on held-out voice/text pairs (training code).

:mod:`moodtune.train.fusion` builds the pairs and calls :func:`tune_fusion`; the runtime
rule it tunes lives in :mod:`moodtune.fusion`, which never imports training code.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from moodtune.fusion import FusionParams, fuse_arrays
from moodtune.train.reports import classification_metrics
from moodtune.types import normalized_entropy_confidence


def tune_fusion(
    p_voice: np.ndarray,
    p_text: np.ndarray,
    y: np.ndarray,
    *,
    ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0),
    gammas: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0),
    text_clears: tuple[float, ...] = (1.01,),
    voice_unsure: float = 0.0,
) -> tuple[FusionParams, dict[str, Any]]:
    """Grid-search ``text_weight / voice_weight``, ``gamma`` and ``text_clear`` for macro-F1.

    Parameters
    ----------
    p_voice, p_text : np.ndarray
        Shape (n, 7) calibrated probabilities of the two heads for the same n messages.
    y : np.ndarray
        Shape (n,) true label indices.
    ratios, gammas, text_clears : tuple of float
        The grid.
    voice_unsure : float
        Fixed voice-unsure threshold (see :func:`voice_unsure_threshold`).

    Returns
    -------
    params, report
        The best parameters and a report with every grid point's macro-F1 and the
        voice-only / text-only baselines.
    """
    cv = np.array([normalized_entropy_confidence(p) for p in p_voice])
    ct = np.array([normalized_entropy_confidence(p) for p in p_text])
    grid: dict[str, float] = {}
    best: tuple[float, FusionParams] = (-1.0, FusionParams())
    for clear in text_clears:
        for ratio in ratios:
            for gamma in gammas:
                prm = FusionParams(
                    voice_weight=1.0,
                    text_weight=ratio,
                    gamma=gamma,
                    voice_unsure=voice_unsure,
                    text_clear=clear,
                )
                pred = fuse_arrays(p_voice, p_text, cv, ct, prm).argmax(axis=1)
                f1 = classification_metrics(y, pred)["macro_f1"]
                grid[f"text/voice={ratio:g},gamma={gamma:g},text_clear={clear:g}"] = round(f1, 4)
                if f1 > best[0] + 1e-9:
                    best = (f1, prm)
    report = {
        "best_macro_f1": round(best[0], 4),
        "params": asdict(best[1]),
        "voice_only": classification_metrics(y, p_voice.argmax(axis=1)),
        "text_only": classification_metrics(y, p_text.argmax(axis=1)),
        "fused": classification_metrics(
            y, fuse_arrays(p_voice, p_text, cv, ct, best[1]).argmax(axis=1)
        ),
        "voice_unsure_share": float(np.mean(cv < voice_unsure)),
        "grid": grid,
    }
    return best[1], report
