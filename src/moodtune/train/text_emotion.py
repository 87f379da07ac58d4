"""Train and evaluate the text emotion head (e5 embeddings -> small MLP).

Recipe (reproduced by ``moodtune train text-emotion --data DIR --out DIR``):

1. Read single-label rows of the corpora in :mod:`moodtune.train.text_data` (train
   splits of GoEmotions, CEDR, ru_izard_emotions; at most 6,000 rows per corpus and label).
2. Embed each text with the packaged multilingual-e5-small (``query:`` prefix); the
   embeddings are cached by content hash under ``--cache``.
3. Fit a one-hidden-layer MLP on the e5 vectors (scikit-learn, Adam, early stopping on
   a held-out 10%), with sample weights that balance labels within each corpus and give
   each corpus an equal share, so the small Russian CEDR counts as much as GoEmotions.
4. Fit a character n-gram TF-IDF + logistic regression with the same weights.
5. Choose the weight mixing both parts' log-probabilities by mean validation macro-F1,
   then a softmax temperature on the validation splits (calibrated confidence for fusion).
6. Export plain arrays to ``text_emotion_head.npz`` (no pickle) and write reports.
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
    lex_min_df: int = 3
    lex_max_features: int = 60_000
    lex_c: float = 4.0


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


def _fit_lexical(
    train: list[TextRows], y: np.ndarray, w: np.ndarray, cfg: TextHeadConfig
) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    from moodtune.text.lexical import LexicalHead, make_vectorizer

    texts = [t for rows in train for t in rows.texts]
    vectorizer = make_vectorizer(min_df=cfg.lex_min_df, max_features=cfg.lex_max_features)
    X = vectorizer.fit_transform(texts)
    clf = LogisticRegression(C=cfg.lex_c, max_iter=3000)
    clf.fit(X, y, sample_weight=w)
    coef = np.zeros((len(LABELS), X.shape[1]), dtype=np.float32)
    intercept = np.full(len(LABELS), -30.0, dtype=np.float32)
    coef[clf.classes_] = clf.coef_
    intercept[clf.classes_] = clf.intercept_
    return LexicalHead.to_arrays(vectorizer, coef, intercept)


def _mean_val_f1(backend: Any, val: list[TextRows], X_va: list[np.ndarray]) -> float:
    scores = []
    for rows, X in zip(val, X_va, strict=True):
        pred = backend.combined_log_probs(rows.texts, X).argmax(axis=1)
        scores.append(classification_metrics(np.asarray(rows.labels), pred)["macro_f1"])
    return float(np.mean(scores))


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
    from moodtune.text.backends.e5 import E5TextEmotion
    from moodtune.text.lexical import LexicalHead

    cfg = config or TextHeadConfig()
    cache = cache_dir or default_cache() / "embeddings"
    train, val, test = load_training_sets(Path(data_dir))
    X_tr = np.concatenate(_embed_all(train, cache, progress))
    y_tr = np.concatenate([np.asarray(r.labels) for r in train])
    w_tr = _sample_weights(train)
    X_va_list = _embed_all(val, cache, progress)

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
    log.info("e5 MLP trained in %.1f s, %d epochs", time.time() - t0, clf.n_iter_)
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
        "meta_train_sets": np.array(TRAIN_SETS),
    }
    t0 = time.time()
    arrays |= _fit_lexical(train, y_tr, w_tr, cfg)
    log.info("character n-gram model trained in %.1f s", time.time() - t0)

    # mix weight: best mean validation macro-F1 over the corpora
    mlp, lexical = MLPHead(arrays), LexicalHead(arrays)
    weight_scores = {}
    for weight in np.linspace(0.0, 1.0, 11):
        backend = E5TextEmotion(mlp, lexical=lexical, e5_weight=float(weight))
        weight_scores[round(float(weight), 2)] = _mean_val_f1(backend, val, X_va_list)
    e5_weight = max(weight_scores, key=lambda k: weight_scores[k])
    backend = E5TextEmotion(mlp, lexical=lexical, e5_weight=e5_weight)
    z_va = np.concatenate(
        [backend.combined_log_probs(r.texts, X) for r, X in zip(val, X_va_list, strict=True)]
    )
    y_va = np.concatenate([np.asarray(r.labels) for r in val])
    temperature = fit_temperature(z_va, y_va)
    arrays["e5_weight"] = np.array(e5_weight, dtype=np.float32)
    arrays["temperature"] = np.array(temperature, dtype=np.float32)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "text_emotion_head.npz"
    np.savez_compressed(weights, **arrays)  # type: ignore[arg-type]
    curves = {"MLP training loss": list(clf.loss_curve_)}
    if clf.validation_scores_ is not None:
        curves["MLP held-out accuracy"] = list(clf.validation_scores_)
    plot_curves(curves, out_dir / "text_emotion_training.png", title="text emotion head (e5 MLP)")
    report = evaluate_text_emotion(
        data_dir, out_dir, head_path=weights, cache_dir=cache, progress=progress
    )
    report["config"] = cfg.__dict__ | {
        "temperature": temperature,
        "e5_weight": e5_weight,
        "validation_macro_f1_by_e5_weight": weight_scores,
        "epochs": int(clf.n_iter_),
        "lexical_features": int(len(arrays["lex_terms"])),
    }
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
    from moodtune.text.backends.e5 import E5TextEmotion, default_head_path

    cache = cache_dir or default_cache() / "embeddings"
    head = E5TextEmotion.load(head_path or default_head_path())
    _, _, test = load_training_sets(Path(data_dir))
    X_list = _embed_all(test, cache, progress)
    report: dict[str, Any] = {"datasets": {}, "languages": {}}
    by_lang: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    all_true, all_pred = [], []
    for rows, X in zip(test, X_list, strict=True):
        y = np.asarray(rows.labels)
        pred = head.predict_proba(rows.texts, X).argmax(axis=1)
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
