"""Tune the voice/text fusion on held-out pairs (see :mod:`moodtune.fusion`).

``moodtune train fusion --speech-data DIR --text-data DIR --out DIR`` runs
:func:`train_fusion`.

The voice side must be as reliable in tuning as it will be for a real user, whom the
speech head never heard. In-corpus clips flatter it: acted corpora share their speakers'
studio, sentences and style. So every clip's voice probabilities come from the
leave-one-corpus-out predictions of the speech head (a head fitted without that corpus,
calibrated without it, first-message mode): the file
``speech_emotion_loco_predictions.npz`` that ``moodtune train speech-emotion`` writes,
or computed here from the feature cache. Evaluation-only corpora (no licence) are left
out of the tuning.

The text side is the shipped text head on:
* *congruent* pairs: a validation text of the clip's label (words and tone agree);
* *acted* pairs: the clip's own sentence (acted corpora say neutral sentences such as
  "Kids are talking by the door" in every emotion), where the truth is the tone.
Both kinds are equally many.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.fusion import FUSION_FILE, voice_unsure_threshold
from moodtune.train.fusion_tune import tune_fusion

Progress = Callable[[str, int, int], None]


def _transcripts(data_dir: Path) -> dict[str, str]:
    """Map absolute clip path -> its spoken sentence, where the metadata gives one."""
    out: dict[str, str] = {}
    for meta in Path(data_dir).glob("*/metadata.csv"):
        with meta.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                text = (rec.get("transcript") or "").strip()
                if text:
                    out[str((meta.parent / rec["path"]).resolve())] = text
    return out


def loco_voice_probabilities(
    speech_data: Path,
    *,
    cache_dir: Path,
    predictions: Path | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Voice probabilities of the training corpora's clips from heads that never heard them.

    Parameters
    ----------
    speech_data : Path
        The speech_emotion folder.
    cache_dir : Path
        Feature cache (used when ``predictions`` is not given).
    predictions : Path, optional
        ``speech_emotion_loco_predictions.npz`` from ``moodtune train speech-emotion``.

    Returns
    -------
    proba, labels, paths
        Shape (n, 7) calibrated probabilities, shape (n,) labels, and the clip paths.
    """
    from moodtune.train.speech_data import SPEECH_SETS

    if predictions is None:
        import tempfile

        from moodtune.train.speech_emotion import leave_one_corpus_out

        with tempfile.TemporaryDirectory() as tmp:
            report = leave_one_corpus_out(
                speech_data, Path(tmp), cache_dir=cache_dir, progress=progress, in_corpus=False
            )
        folds = [f for f in report["_folds"] if f["dataset"] in SPEECH_SETS]
        proba = np.concatenate([report["_probas"][f["dataset"]] for f in folds])
        labels = np.concatenate([f["labels"] for f in folds])
        paths = [str(Path(p).resolve()) for f in folds for p in f["paths"]]
        return proba, labels, paths
    with np.load(predictions, allow_pickle=False) as npz:
        keep = np.isin(npz["datasets"], list(SPEECH_SETS))
        return (
            npz["probabilities"][keep],
            npz["labels"][keep],
            [str(Path(str(p)).resolve()) for p in npz["paths"][keep]],
        )


def train_fusion(
    speech_data: Path,
    text_data: Path,
    out_dir: Path,
    *,
    text_head: Path | None = None,
    cache_dir: Path | None = None,
    voice_predictions: Path | None = None,
    max_pairs: int = 1200,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build held-out voice/text pairs, tune the fusion, write ``out_dir/fusion.json``.

    Returns
    -------
    dict
        The tuning report (pair counts, baselines, grid, chosen parameters).
    """
    from moodtune.config import cache_dir as default_cache
    from moodtune.text.backends.use_ngram import StackedTextEmotion, default_head_path
    from moodtune.train.text_data import load_training_sets

    cache = Path(cache_dir) if cache_dir else default_cache()
    rng = np.random.default_rng(seed)
    p_voice, labels, paths = loco_voice_probabilities(
        Path(speech_data),
        cache_dir=cache / "speech_features",
        predictions=voice_predictions,
        progress=progress,
    )

    text_model = StackedTextEmotion.load(text_head or default_head_path())
    _, val, _ = load_training_sets(Path(text_data))
    by_label: dict[int, list[str]] = defaultdict(list)
    for rows in val:
        for text, lab in zip(rows.texts, rows.labels, strict=True):
            by_label[lab].append(text)

    cong_idx, cong_texts = [], []
    for i, lab in enumerate(labels):
        pool = by_label.get(int(lab))
        if pool:
            cong_idx.append(i)
            cong_texts.append(pool[rng.integers(len(pool))])
    sentences = _transcripts(Path(speech_data))
    act_idx, act_texts = [], []
    for i, path in enumerate(paths):
        if path in sentences:
            act_idx.append(i)
            act_texts.append(sentences[path])
    n = min(len(cong_idx), len(act_idx)) if act_idx else len(cong_idx)
    n = min(n, max_pairs)
    pick_c = rng.permutation(len(cong_idx))[:n]
    pick_a = rng.permutation(len(act_idx))[:n]
    texts = [cong_texts[j] for j in pick_c] + [act_texts[j] for j in pick_a]
    rows_v = [cong_idx[j] for j in pick_c] + [act_idx[j] for j in pick_a]
    p_text = text_model.predict_proba(texts)
    # the voice-unsure threshold comes from every held-out voice prediction
    unsure = voice_unsure_threshold(p_voice, labels)
    params, report = tune_fusion(
        p_voice[rows_v],
        p_text,
        labels[rows_v],
        voice_unsure=unsure,
        text_clears=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    )
    report["pairs"] = {"congruent": int(len(pick_c)), "acted": int(len(pick_a))}
    report["voice_clips"] = int(len(labels))
    report["voice_scored_by"] = (
        "leave-one-corpus-out heads (shipped recipe), calibrated without the held-out corpus"
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / FUSION_FILE).write_text(
        json.dumps({"params": report["params"], "report": report}, indent=2)
    )
    return report
