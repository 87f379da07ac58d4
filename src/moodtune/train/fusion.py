"""Tune the voice/text fusion on held-out pairs (see :mod:`moodtune.fusion`).

``moodtune train fusion --speech-data DIR --text-data DIR --out DIR`` runs
:func:`train_fusion`.

The voice side must be as reliable in tuning as it will be for a real user, whom the
speech head never heard. In-corpus validation clips flatter it: acted corpora share
their speakers' studio, sentences and style. So each speech corpus is scored by a head
fitted *without that corpus* (leave one corpus out, the same recipe as the shipped head,
clean clips only). The clips scored are ones no shipped number is reported on: the
validation speakers of RAVDESS and EmoDB and TESS's training speaker.

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

from moodtune.fusion import FUSION_FILE, tune_fusion

Progress = Callable[[str, int, int], None]

#: Per corpus, the splits whose clips become tuning pairs.
TUNING_SPLITS: dict[str, tuple[str, ...]] = {
    "ravdess": ("validation",),
    "emodb": ("validation",),
    "tess": ("train",),
}


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
    speech_data: Path, *, cache_dir: Path, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Voice probabilities of the tuning clips, each from a head that never saw its corpus.

    Returns
    -------
    proba, labels, paths
        Shape (n, 7) calibrated probabilities, shape (n,) labels, and the clip paths.
    """
    from moodtune.speech.emotion import SpeechEmotionHead
    from moodtune.train.speech_data import load_clips
    from moodtune.train.speech_emotion import (
        SpeechHeadConfig,
        extract_features,
        fit_head,
        whisper_encoder,
    )

    encoder, encoder_id = whisper_encoder()
    clips = load_clips(Path(speech_data))
    corpora = sorted({c.dataset for c in clips})

    def features(sub: list[Any], name: str) -> Any:
        return extract_features(
            sub,
            cache_dir=cache_dir,
            encoder=encoder,
            encoder_id=encoder_id,
            progress=progress,
            name=name,
        )

    probas, labels, paths = [], [], []
    for held in corpora:
        others = [c for c in clips if c.dataset != held]
        train = features([c for c in others if c.split == "train"], f"train without {held}")
        val = features([c for c in others if c.split == "validation"], f"val without {held}")
        arrays, _ = fit_head(train, val, SpeechHeadConfig(n_aug=0))
        head = SpeechEmotionHead(arrays)
        splits = TUNING_SPLITS.get(held, ("validation",))
        for clip in [c for c in clips if c.dataset == held and c.split in splits]:
            one = extract_features(
                [clip], cache_dir=cache_dir, encoder=encoder, encoder_id=encoder_id
            )
            if len(one):  # clips where the VAD found no speech are skipped
                probas.append(head.predict_features(one.matrix(use_prosody=head.use_prosody))[0])
                labels.append(int(one.labels[0]))
                paths.append(str(clip.path.resolve()))
    return np.asarray(probas), np.asarray(labels), paths


def train_fusion(
    speech_data: Path,
    text_data: Path,
    out_dir: Path,
    *,
    text_head: Path | None = None,
    cache_dir: Path | None = None,
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
    from moodtune.text.backends.e5 import E5TextEmotion, default_head_path
    from moodtune.text.embed import embed_cached
    from moodtune.train.text_data import load_training_sets

    cache = Path(cache_dir) if cache_dir else default_cache()
    rng = np.random.default_rng(seed)
    p_voice, labels, paths = loco_voice_probabilities(
        Path(speech_data), cache_dir=cache / "speech_features", progress=progress
    )

    text_model = E5TextEmotion.load(text_head or default_head_path())
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
    pick_c = rng.permutation(len(cong_idx))[:n]
    pick_a = rng.permutation(len(act_idx))[:n]
    texts = [cong_texts[j] for j in pick_c] + [act_texts[j] for j in pick_a]
    rows_v = [cong_idx[j] for j in pick_c] + [act_idx[j] for j in pick_a]
    vectors = embed_cached(texts, cache / "embeddings")
    p_text = text_model.predict_proba(texts, vectors)
    params, report = tune_fusion(p_voice[rows_v], p_text, labels[rows_v])
    report["pairs"] = {"congruent": int(len(pick_c)), "acted": int(len(pick_a))}
    report["voice_clips"] = int(len(labels))
    report["voice_scored_by"] = "leave-one-corpus-out heads (clean clips, shipped recipe)"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / FUSION_FILE).write_text(
        json.dumps({"params": report["params"], "report": report}, indent=2)
    )
    return report
