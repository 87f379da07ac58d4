"""Tune the voice/text fusion on held-out pairs (see :mod:`moodtune.fusion`).

``moodtune train fusion --speech-data DIR --text-data DIR --out DIR`` runs
:func:`train_fusion`: the shipped speech head scores the *validation* clips of the speech
corpora, the shipped text head scores the *validation* texts and the clips' own
sentences, and :func:`moodtune.fusion.tune_fusion` picks the parameters.
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


def train_fusion(
    speech_data: Path,
    text_data: Path,
    out_dir: Path,
    *,
    speech_head: Path | None = None,
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
    from moodtune.speech.emotion import SpeechEmotionHead
    from moodtune.text.backends.e5 import E5TextEmotion, default_head_path
    from moodtune.text.embed import embed_cached
    from moodtune.train.speech_data import load_clips
    from moodtune.train.speech_emotion import extract_features, whisper_encoder
    from moodtune.train.text_data import load_training_sets

    cache = Path(cache_dir) if cache_dir else default_cache()
    rng = np.random.default_rng(seed)
    clips = [c for c in load_clips(Path(speech_data)) if c.split == "validation"]
    encoder, encoder_id = whisper_encoder()
    head = SpeechEmotionHead.load(speech_head)
    kept, rows_x, label_list = [], [], []
    for i, clip in enumerate(clips):
        one = extract_features(
            [clip], cache_dir=cache / "speech_features", encoder=encoder, encoder_id=encoder_id
        )
        if len(one):  # clips where the VAD found no speech are skipped
            kept.append(clip)
            rows_x.append(one.matrix(use_prosody=head.use_prosody)[0])
            label_list.append(int(one.labels[0]))
        if progress:
            progress("validation clips", i + 1, len(clips))
    p_voice = head.predict_features(np.asarray(rows_x))
    labels = np.asarray(label_list)

    text_model = E5TextEmotion.load(text_head or default_head_path())
    _, val, _ = load_training_sets(Path(text_data))
    by_label: dict[int, list[str]] = defaultdict(list)
    for rows in val:
        for text, lab in zip(rows.texts, rows.labels, strict=True):
            by_label[lab].append(text)

    # congruent pairs: a validation text of the clip's label
    cong_idx, cong_texts = [], []
    for i, lab in enumerate(labels):
        if by_label.get(int(lab)):
            cong_idx.append(i)
            cong_texts.append(by_label[int(lab)][rng.integers(len(by_label[int(lab)]))])
    # acted pairs: the clip's own (emotionally neutral) sentence
    sentences = _transcripts(Path(speech_data))
    act_idx, act_texts = [], []
    for i, clip in enumerate(kept):
        sentence = sentences.get(str(clip.path.resolve()))
        if sentence:
            act_idx.append(i)
            act_texts.append(sentence)
    n = min(len(cong_idx), len(act_idx)) if act_idx else len(cong_idx)
    pick_c = rng.permutation(len(cong_idx))[:n]
    pick_a = rng.permutation(len(act_idx))[:n]
    texts = [cong_texts[j] for j in pick_c] + [act_texts[j] for j in pick_a]
    voice_rows = [cong_idx[j] for j in pick_c] + [act_idx[j] for j in pick_a]
    vectors = embed_cached(texts, cache / "embeddings")
    p_text = text_model.predict_proba(texts, vectors)
    y = labels[voice_rows]
    params, report = tune_fusion(p_voice[voice_rows], p_text, y)
    report["pairs"] = {"congruent": int(len(pick_c)), "acted": int(len(pick_a))}
    report["speech_clips"] = {
        d: sum(c.dataset == d for c in kept) for d in sorted({c.dataset for c in kept})
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / FUSION_FILE).write_text(
        json.dumps({"params": report["params"], "report": report}, indent=2)
    )
    return report
