"""Train and evaluate the text emotion head (e5 embeddings -> small MLP).

Recipe (reproduced by ``moodtune train text-emotion --data DIR --out DIR``):

1. Read single-label rows of the corpora in :mod:`moodtune.train.text_data` (train
   splits of GoEmotions, CEDR, ru_izard_emotions; at most 6,000 rows per corpus and label).
2. Embed each text with the packaged multilingual-e5-small (``query:`` prefix); the
   embeddings are cached by content hash under ``--cache``.
3. Fit a one-hidden-layer MLP (scikit-learn, Adam, early stopping on a held-out 10%),
   with sample weights that balance labels within each corpus and give each corpus an
   equal share, so the small Russian CEDR counts as much as GoEmotions.
4. Fit a softmax temperature on the validation splits (calibrated confidence for fusion).
5. Export plain arrays to ``text_emotion_head.npz`` (no pickle) and write reports.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.text.embed import embed_cached
from moodtune.text.head import MLPHead
from moodtune.train.reports import (
    classification_metrics,
    fit_temperature,
    plot_confusion,
    plot_curves,
)
from moodtune.train.text_data import TRAIN_SETS, TextRows, load_training_sets
from moodtune.types import LABELS

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class TextHeadConfig:
    """Hyper-parameters of the text head."""

    hidden: int = 256
    alpha: float = 1e-3
    max_iter: int = 60
    seed: int = 0


def _embed_all(
    sets: list[TextRows], cache_dir: Path, progress: Progress | None
) -> list[np.ndarray]:
    out = []
    for rows in sets:
        name = f"{rows.dataset}/{rows.split}"

        def cb(done: int, total: int, name: str = name) -> None:
            if progress:
                progress(name, done, total)

        out.append(embed_cached(rows.texts, cache_dir, progress=cb))
        if progress:
            progress(name, len(rows), len(rows))
    return out


def _sample_weights(sets: list[TextRows]) -> np.ndarray:
    """Weights that balance labels inside each corpus and give each corpus the same total."""
    weights = []
    for rows in sets:
        y = np.asarray(rows.labels)
        w = np.zeros(len(y))
        present = np.unique(y)
        for lab in present:
            mask = y == lab
            w[mask] = 1.0 / (mask.sum() * len(present))
        weights.append(w)
    allw = np.concatenate(weights)
    return allw * (len(allw) / allw.sum())


def train_text_emotion(
    data_dir: Path,
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    config: TextHeadConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train the head and write ``out_dir/text_emotion_head.npz`` plus a report.

    Parameters
    ----------
    data_dir : Path
        Folder holding ``<corpus>/{train,validation,test}.csv``.
    out_dir : Path
        Where the weights, ``text_emotion_report.json`` and plots go.
    cache_dir : Path, optional
        Embedding cache (default ``$MOODTUNE_HOME/cache/embeddings``).

    Returns
    -------
    dict
        The evaluation report (see :func:`evaluate_text_emotion`).
    """
    from sklearn.neural_network import MLPClassifier

    from moodtune.config import cache_dir as default_cache

    cfg = config or TextHeadConfig()
    cache = cache_dir or default_cache() / "embeddings"
    train, val, test = load_training_sets(Path(data_dir))
    X_tr = np.concatenate(_embed_all(train, cache, progress))
    y_tr = np.concatenate([np.asarray(r.labels) for r in train])
    w_tr = _sample_weights(train)
    X_va_list = _embed_all(val, cache, progress)
    X_va = np.concatenate(X_va_list)
    y_va = np.concatenate([np.asarray(r.labels) for r in val])

    mean = X_tr.mean(axis=0)
    scale = X_tr.std(axis=0) + 1e-6
    t0 = time.time()
    clf = MLPClassifier(
        hidden_layer_sizes=(cfg.hidden,),
        alpha=cfg.alpha,
        max_iter=cfg.max_iter,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=6,
        random_state=cfg.seed,
    )
    clf.fit((X_tr - mean) / scale, y_tr, sample_weight=w_tr)
    log.info("text head trained in %.1f s, %d epochs", time.time() - t0, clf.n_iter_)
    if list(clf.classes_) != list(range(len(LABELS))):
        raise RuntimeError(f"training data lacks some labels: {clf.classes_}")
    arrays: dict[str, np.ndarray] = {
        "labels": np.array(LABELS),
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
        "W1": clf.coefs_[0].astype(np.float32),
        "b1": clf.intercepts_[0].astype(np.float32),
        "W2": clf.coefs_[1].astype(np.float32),
        "b2": clf.intercepts_[1].astype(np.float32),
        "temperature": np.float32(1.0),
        "meta_train_sets": np.array(TRAIN_SETS),
    }
    head = MLPHead(arrays)
    temperature = fit_temperature(head.logits(X_va), y_va)
    arrays["temperature"] = np.float32(temperature)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "text_emotion_head.npz"
    np.savez_compressed(weights, **arrays)  # type: ignore[arg-type]
    curves = {"training loss": list(clf.loss_curve_)}
    if clf.validation_scores_ is not None:
        curves["held-out accuracy"] = list(clf.validation_scores_)
    plot_curves(curves, out_dir / "text_emotion_training.png", title="text emotion head")
    report = evaluate_text_emotion(
        data_dir, out_dir, head_path=weights, cache_dir=cache, progress=progress
    )
    report["config"] = cfg.__dict__ | {"temperature": temperature, "epochs": int(clf.n_iter_)}
    report["train_rows"] = {f"{r.dataset}/{r.split}": len(r) for r in train}
    (out_dir / "text_emotion_report.json").write_text(json.dumps(report, indent=2))
    return report


def evaluate_text_emotion(
    data_dir: Path,
    out_dir: Path,
    *,
    head_path: Path | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score a head on every held-out test split; write a confusion-matrix PNG.

    Returns
    -------
    dict
        ``{"datasets": {name: {"language", "n", "accuracy", "uar", "macro_f1"}},
        "languages": {...}, "confusion_png": path}``. GoEmotions and the other corpora
        are scored on their single-label rows mapped onto the seven labels; the argmax
        runs over all seven labels (no restriction to a corpus's own label set).
    """
    from moodtune.config import cache_dir as default_cache
    from moodtune.text.backends.e5 import default_head_path

    cache = cache_dir or default_cache() / "embeddings"
    head = MLPHead.load(head_path or default_head_path())
    _, _, test = load_training_sets(Path(data_dir))
    X_list = _embed_all(test, cache, progress)
    report: dict[str, Any] = {"datasets": {}, "languages": {}}
    by_lang: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    all_true, all_pred = [], []
    for rows, X in zip(test, X_list, strict=True):
        y = np.asarray(rows.labels)
        pred = head.predict_proba(X).argmax(axis=1)
        lang = rows.languages[0] if rows.languages else ""
        report["datasets"][rows.dataset] = {"language": lang} | classification_metrics(y, pred)
        by_lang.setdefault(lang, ([], []))
        by_lang[lang][0].append(y)
        by_lang[lang][1].append(pred)
        all_true.append(y)
        all_pred.append(pred)
    for lang, (ys, ps) in by_lang.items():
        report["languages"][lang] = classification_metrics(np.concatenate(ys), np.concatenate(ps))
    out_dir = Path(out_dir)
    png = plot_confusion(
        np.concatenate(all_true),
        np.concatenate(all_pred),
        out_dir / "text_emotion_confusion.png",
        title="text emotion, all held-out test splits",
    )
    report["confusion_png"] = str(png)
    return report
