"""Train and evaluate the text emotion head (see :mod:`moodtune.text.backends.use_ngram`).

Recipe (reproduced by ``moodtune train text-emotion --data DIR --out DIR``):

1. Read single-label rows of the corpora in :mod:`moodtune.train.text_data` (train
   splits of GoEmotions, CEDR, ru_izard_emotions; at most 6,000 rows per corpus and label).
   Texts are normalised (:func:`moodtune.text.cues.normalize`: emoji and emoticons become
   emotion words, negated emotion words become what they mean).
2. Embed each mapped text with USE multilingual (cached by content hash under ``--cache``)
   and fit a one-hidden-layer MLP (scikit-learn, early stopping on 10 % of the rows), with
   sample weights that balance labels within each corpus and give each corpus an equal share.
3. Fit a character n-gram (2-5, 60,000) + word (1-2, 40,000) TF-IDF + logistic regression
   with the same weights.
4. Fit the stacker, a multinomial logistic regression over the parts' log-probabilities and the
   cue counts (explicit emotion words with negation, emoji), with label weights
   ``1/sqrt(count)`` per corpus, on the validation splits of the
   training corpora and ru_go_emotions. Its regularisation is chosen by 5-fold cross-validation
   on those validation rows (mean macro-F1 over corpora); its output is calibrated by
   construction (it is fitted by log-likelihood on rows the parts never saw).
5. Choose when to report ``mixed`` from GoEmotions validation rows that carry two labels:
   the most of them, while at most 10 % of one-label rows are called mixed.
6. Set the explicit-word rule: a short message that names one feeling outright
   ("I am furious") gets at least 0.65 for it (:func:`moodtune.text.cues.explicit_label`).
7. Export plain arrays to ``text_emotion_head.npz`` (no pickle) and write reports.
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

from moodtune.errors import ParameterError
from moodtune.text.cues import CUE_DIM, normalize
from moodtune.train.reports import classification_metrics, plot_confusion, plot_curves
from moodtune.train.text_data import (
    MESSAGE_STYLES,
    TRAIN_CAP_PER_LABEL,
    TRAIN_SETS,
    ShortMessages,
    TextRows,
    load_training_sets,
    read_pairs,
    read_short_messages,
    read_split,
    with_plain_copies,
)
from moodtune.types import LABELS

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: The short-message evaluation set in a source checkout (not installed with the package).
DEFAULT_MESSAGES = Path(__file__).resolve().parents[3] / "tests" / "data" / "short_messages.csv"


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
    lex_word_features: int = 40_000
    stack_cs: tuple[float, ...] = (0.1, 0.3, 1.0)
    stack_power: float = 0.5
    part_power: float = 1.0
    mixed_max_rate: float = 0.1
    stack_by_language: bool = False
    explicit_floor: float = 0.65
    parts_from: str | None = None
    train_cap: int = TRAIN_CAP_PER_LABEL
    short_words: int = 12
    short_weight: float = 1.0
    plain_copies: bool = False
    near_copy_cos: float = 1.0
    pair_margin: float = 0.0  # > 0: drop translation pairs of held-out rows (off: card, round 3)
    pair_min_cos: float = 0.5


def _mapped(rows: TextRows) -> list[str]:
    return [normalize(t) for t in rows.texts]


def _embed_use(
    sets: list[TextRows], cache_dir: Path, progress: Progress | None
) -> list[np.ndarray]:
    from moodtune.text.use import embed_cached

    out = []
    for rows in sets:
        name = f"USE {rows.dataset}/{rows.split}"
        if progress:
            progress(name, 0, len(rows))
        out.append(embed_cached(_mapped(rows), cache_dir))
        if progress:
            progress(name, len(rows), len(rows))
    return out


def _sample_weights(sets: list[TextRows], *, power: float = 1.0) -> np.ndarray:
    """Weights that give each corpus the same total and, within it, each row ``1 / count**power``.

    ``power=1`` balances the labels fully; ``power=0.5`` (used by the stacker) only halfway,
    which keeps part of the corpora's label priors (better macro-F1 on the validation splits).
    """
    weights = []
    for rows in sets:
        y = np.asarray(rows.labels)
        counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
        w = 1.0 / counts[y] ** power
        weights.append(w / w.sum())
    allw = np.concatenate(weights)
    return allw * (len(allw) / allw.sum())


def _short_rows(sets: list[TextRows], max_words: int) -> np.ndarray:
    """Whether each row (all sets, in order) has at most ``max_words`` words."""
    return np.array([len(t.split()) <= max_words for rows in sets for t in rows.texts], dtype=bool)


def _emphasise_short(
    w: np.ndarray, sets: list[TextRows], *, max_words: int, factor: float
) -> np.ndarray:
    """Multiply the weight of rows of at most ``max_words`` words by ``factor`` (mean kept 1).

    Chat messages are short; the corpora's short rows are the nearest thing to them.
    """
    if factor == 1.0:
        return w
    out = w * np.where(_short_rows(sets, max_words), factor, 1.0)
    return out * (len(out) / out.sum())


def _fit_mlp(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, cfg: TextHeadConfig, prefix: str
) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    from sklearn.neural_network import MLPClassifier

    mean = X.mean(axis=0)
    scale = X.std(axis=0) + 1e-6
    clf = MLPClassifier(
        hidden_layer_sizes=(cfg.hidden,),
        alpha=cfg.alpha,
        max_iter=cfg.max_iter,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=6,
        random_state=cfg.seed,
    )
    clf.fit((X - mean) / scale, y, sample_weight=w)
    if list(clf.classes_) != list(range(len(LABELS))):
        raise RuntimeError(f"training data lacks some labels: {clf.classes_}")
    arrays = {
        f"{prefix}mean": mean.astype(np.float32),
        f"{prefix}scale": scale.astype(np.float32),
        f"{prefix}W1": clf.coefs_[0].astype(np.float32),
        f"{prefix}b1": clf.intercepts_[0].astype(np.float32),
        f"{prefix}W2": clf.coefs_[1].astype(np.float32),
        f"{prefix}b2": clf.intercepts_[1].astype(np.float32),
    }
    curves = {f"{prefix}training loss": list(clf.loss_curve_)}
    if clf.validation_scores_ is not None:
        curves[f"{prefix}held-out accuracy"] = list(clf.validation_scores_)
    return arrays, curves


def _fit_lexical(
    train: list[TextRows], y: np.ndarray, w: np.ndarray, cfg: TextHeadConfig
) -> dict[str, np.ndarray]:
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from moodtune.text.lexical import LexicalHead, make_vectorizer, make_word_vectorizer

    texts = [t for rows in train for t in _mapped(rows)]
    vectorizer = make_vectorizer(min_df=cfg.lex_min_df, max_features=cfg.lex_max_features)
    X = vectorizer.fit_transform(texts)
    word_vectorizer = None
    if cfg.lex_word_features:
        word_vectorizer = make_word_vectorizer(
            min_df=min(2, cfg.lex_min_df), max_features=cfg.lex_word_features
        )
        X = sp.hstack([X, word_vectorizer.fit_transform(texts)]).tocsr()
    clf = LogisticRegression(C=cfg.lex_c, max_iter=3000)
    clf.fit(X, y, sample_weight=w)
    coef = np.zeros((len(LABELS), X.shape[1]), dtype=np.float32)
    intercept = np.full(len(LABELS), -30.0, dtype=np.float32)
    coef[clf.classes_] = clf.coef_
    intercept[clf.classes_] = clf.intercept_
    return LexicalHead.to_arrays(vectorizer, coef, intercept, word_vectorizer)


def _fit_stacker(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    groups: np.ndarray,
    cs: tuple[float, ...],
    *,
    short: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, dict[float, float], dict[str, Any]]:
    """Pick C by 5-fold CV (mean per-corpus macro-F1), refit on all rows.

    Returns W, b, C, the CV score per C, and the CV details at the chosen C: macro-F1 per
    group (``groups`` values) and, when ``short`` marks rows, per group on those rows only.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold

    scores: dict[float, float] = {}
    preds: dict[float, np.ndarray] = {}
    strata = y * 100 + groups
    if np.bincount(strata)[np.unique(strata)].min() >= 5:
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, strata))
    else:  # tiny data (tests): plain folds
        folds = list(KFold(min(5, len(y)), shuffle=True, random_state=0).split(X))
    for c in cs:
        pred = np.zeros(len(y), dtype=int)
        for tr, te in folds:
            m = LogisticRegression(C=c, max_iter=3000).fit(X[tr], y[tr], sample_weight=w[tr])
            pred[te] = m.predict(X[te])
        per = [
            classification_metrics(y[groups == g], pred[groups == g])["macro_f1"]
            for g in np.unique(groups)
        ]
        scores[float(c)] = float(np.mean(per))
        preds[float(c)] = pred
    best = max(scores, key=lambda k: scores[k])
    pred = preds[best]
    detail: dict[str, Any] = {
        "by_group": {
            int(g): classification_metrics(y[groups == g], pred[groups == g])["macro_f1"]
            for g in np.unique(groups)
        }
    }
    if short is not None:
        detail["short_by_group"] = {
            int(g): classification_metrics(y[m], pred[m])["macro_f1"]
            for g in np.unique(groups)
            if (m := (groups == g) & short).sum() >= 20
        }
    m = LogisticRegression(C=best, max_iter=3000).fit(X, y, sample_weight=w)
    W = np.zeros((X.shape[1], len(LABELS)), dtype=np.float32)
    b = np.full(len(LABELS), -30.0, dtype=np.float32)
    W[:, m.classes_] = m.coef_.T
    b[m.classes_] = m.intercept_
    return W, b, best, scores, detail


def _fit_mixed(
    probs_single: np.ndarray,
    probs_pair: np.ndarray,
    texts_single: list[str],
    texts_pair: list[str],
    *,
    max_single_rate: float,
) -> tuple[float, float, dict[str, dict[str, float]]]:
    """Choose (ratio, floor) for ``mixed``.

    The most two-label rows reported as mixed, while at most ``max_single_rate`` of the
    one-label rows are (a product choice: "mixed" should be rare and mean something).
    """
    from moodtune.text.backends.use_ngram import mixed_labels
    from moodtune.text.cues import named_labels

    named_single = [named_labels(t) for t in texts_single]
    named_pair = [named_labels(t) for t in texts_pair]
    best = (-1.0, 0.8, 0.4)
    grid: dict[str, dict[str, float]] = {}
    for ratio in (0.4, 0.5, 0.6, 0.7, 0.8):
        for floor in (0.2, 0.25, 0.3, 0.35, 0.4):
            pair_rate = float(
                np.mean(
                    [
                        bool(mixed_labels(p, ratio=ratio, floor=floor, named=n))
                        for p, n in zip(probs_pair, named_pair, strict=True)
                    ]
                )
            )
            single_rate = float(
                np.mean(
                    [
                        bool(mixed_labels(p, ratio=ratio, floor=floor, named=n))
                        for p, n in zip(probs_single, named_single, strict=True)
                    ]
                )
            )
            grid[f"{ratio}/{floor}"] = {"pair_rate": pair_rate, "single_rate": single_rate}
            if single_rate <= max_single_rate and pair_rate > best[0]:
                best = (pair_rate, ratio, floor)
    return best[1], best[2], grid


def _drop_near_copies(
    train: list[TextRows],
    held_out: list[TextRows],
    cache_dir: Path,
    *,
    max_cos: float,
    progress: Progress | None = None,
) -> tuple[list[TextRows], dict[str, int]]:
    """Drop training rows that are near copies of another corpus's held-out rows.

    ru_izard_emotions holds machine translations of GoEmotions comments, test rows among
    them, translated otherwise than ru_go_emotions, so exact-text matching misses them. USE
    maps a sentence and its translation close together: a training row whose USE vector has
    cosine ``>= max_cos`` with a validation or test row of another corpus is dropped.

    Returns
    -------
    train : list of TextRows
        The training sets without those rows.
    dropped : dict
        Rows dropped per training corpus.
    """
    from moodtune.train.text_data import drop_texts

    U_train = _embed_use(train, cache_dir, progress)
    U_held = _embed_use(held_out, cache_dir, progress)
    out, dropped = [], {}
    for rows, U in zip(train, U_train, strict=True):
        others = [V for h, V in zip(held_out, U_held, strict=True) if h.dataset != rows.dataset]
        if not others or not len(rows):
            out.append(rows)
            continue
        V = np.concatenate(others)
        best = np.full(len(rows), -1.0)
        for start in range(0, len(V), 4096):
            best = np.maximum(best, (U @ V[start : start + 4096].T).max(axis=1))
        near = {rows.texts[i] for i in np.flatnonzero(best >= max_cos)}
        dropped[rows.dataset] = int((best >= max_cos).sum())
        out.append(drop_texts(rows, near) if near else rows)
    return out, dropped


def translation_pairs(
    U: np.ndarray,
    V: np.ndarray,
    *,
    margin: float,
    min_cos: float = 0.5,
    k: int = 4,
    chunk: int = 2048,
) -> np.ndarray:
    """Which rows of ``U`` have a translation (or copy) among the rows of ``V``.

    Bitext mining with a ratio margin (Artetxe & Schwenk 2019): rows ``u`` and ``v`` pair
    when each is the other's nearest neighbour, their cosine is at least ``min_cos``, and
    that cosine is at least ``margin`` times the mean cosine of the ``k`` nearest
    neighbours of ``u`` and of ``v``. Generic short texts ("Thank you!") have many close
    neighbours, so a plain cosine threshold marks topic neighbours; the margin does not.

    Parameters
    ----------
    U, V : np.ndarray
        Unit-length sentence vectors, shapes (n, d) and (m, d).
    margin : float
        Least ratio margin. With ``margin=1.2, min_cos=0.5`` it finds 85 % of the known
        translation pairs (ru_go_emotions validation and its GoEmotions source) and fires for
        0.2-1.1 % of rows matched against a corpus that holds no translation of them; a cosine
        threshold of 0.75 finds 35 % (see the model card's third round).
    min_cos : float
        Least cosine of a pair.
    k : int
        Neighbours in the margin's denominator.
    chunk : int
        Rows of ``U`` compared at once (memory).

    Returns
    -------
    np.ndarray
        Boolean, shape (n,).
    """
    n, m = len(U), len(V)
    if not n or not m:
        return np.zeros(n, dtype=bool)
    k = max(1, min(k, n, m))
    V = np.asarray(V, dtype=np.float32)
    best_v = np.empty(n, dtype=np.int64)
    best_cos = np.empty(n, dtype=np.float32)
    knn_u = np.empty(n, dtype=np.float32)
    top_v = np.full((k, m), -np.inf, dtype=np.float32)  # k best cosines per row of V
    arg_v = np.full(m, -1, dtype=np.int64)
    for start in range(0, n, chunk):
        S = np.asarray(U[start : start + chunk], dtype=np.float32) @ V.T
        rows = np.arange(len(S))
        best_v[start : start + len(S)] = S.argmax(axis=1)
        best_cos[start : start + len(S)] = S[rows, best_v[start : start + len(S)]]
        knn_u[start : start + len(S)] = np.partition(S, m - k, axis=1)[:, m - k :].mean(axis=1)
        col_best = S.max(axis=0)
        better = col_best > top_v.max(axis=0)
        arg_v[better] = start + S.argmax(axis=0)[better]
        both = np.vstack([top_v, np.partition(S, len(S) - min(k, len(S)), axis=0)[-k:]])
        top_v = np.partition(both, len(both) - k, axis=0)[-k:]
    knn_v = top_v.mean(axis=0)
    mutual = arg_v[best_v] == np.arange(n)
    ratio = best_cos / np.maximum((knn_u + knn_v[best_v]) / 2, 1e-6)
    return np.asarray(mutual & (best_cos >= min_cos) & (ratio >= margin))


def _drop_translations(
    train: list[TextRows],
    held_out: list[TextRows],
    cache_dir: Path,
    *,
    margin: float,
    min_cos: float,
    progress: Progress | None = None,
) -> tuple[list[TextRows], dict[str, int]]:
    """Drop training rows that translate (or copy) another corpus's held-out rows.

    ru_izard_emotions translates GoEmotions comments of every split, and ru_go_emotions
    translates GoEmotions validation and test otherwise; USE maps a sentence and its
    translation close together. Each training corpus is matched against each held-out split
    of every other corpus with :func:`translation_pairs`; rows in a pair are dropped.
    Tighter than :func:`_drop_near_copies` (a cosine threshold), which misses most
    translations of long comments and drops short generic texts that merely look alike.
    """
    from moodtune.train.text_data import drop_texts

    U_train = _embed_use(train, cache_dir, progress)
    U_held = _embed_use(held_out, cache_dir, progress)
    out, dropped = [], {}
    for rows, U in zip(train, U_train, strict=True):
        hit = np.zeros(len(rows), dtype=bool)
        for h, V in zip(held_out, U_held, strict=True):
            if h.dataset != rows.dataset:
                hit |= translation_pairs(U, V, margin=margin, min_cos=min_cos)
        dropped[rows.dataset] = int(hit.sum())
        near = {rows.texts[i] for i in np.flatnonzero(hit)}
        out.append(drop_texts(rows, near) if near else rows)
    return out, dropped


def _stack_sets(data_dir: Path, val: list[TextRows]) -> list[TextRows]:
    """Validation rows the stacker learns from: the training corpora's and ru_go_emotions'."""
    from moodtune.train.text_data import drop_texts

    extra = read_split(data_dir, "ru_go_emotions", "validation")
    banned = set(read_split(data_dir, "ru_go_emotions", "test").texts)
    banned |= set(read_split(data_dir, "ru_izard_emotions", "test").texts)
    return [*val, drop_texts(extra, banned)]


def train_text_emotion(
    data_dir: Path,
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    config: TextHeadConfig | None = None,
    progress: Progress | None = None,
    messages: Path | None = None,
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
    messages : Path, optional
        Short-message evaluation set scored after training (never used to fit anything).

    Returns
    -------
    dict
        The evaluation report (see :func:`evaluate_text_emotion`).
    """
    from moodtune.config import cache_dir as default_cache
    from moodtune.text.backends.use_ngram import StackedTextEmotion

    cfg = config or TextHeadConfig()
    cache = cache_dir or default_cache() / "embeddings"
    data_dir = Path(data_dir)
    train, val, test = load_training_sets(data_dir, cap=cfg.train_cap)
    stack = _stack_sets(data_dir, val)
    near_dropped: dict[str, int] = {}
    if cfg.near_copy_cos < 1.0:  # off by default: see the model card's second round
        train, near_dropped = _drop_near_copies(
            train, [*stack, *test], cache, max_cos=cfg.near_copy_cos, progress=progress
        )
    if cfg.pair_margin > 0:  # translation pairs of held-out rows (see the model card)
        train, pairs_dropped = _drop_translations(
            train,
            [*stack, *test],
            cache,
            margin=cfg.pair_margin,
            min_cos=cfg.pair_min_cos,
            progress=progress,
        )
        near_dropped |= {f"{k} (translations)": v for k, v in pairs_dropped.items()}
        if empty := [r.dataset for r in train if not len(r)]:
            raise ParameterError(
                f"pair_margin={cfg.pair_margin} leaves no training rows in {', '.join(empty)}: "
                "every row translates a held-out row; raise the margin"
            )
    if cfg.plain_copies:
        train = [with_plain_copies(r, max_words=cfg.short_words) for r in train]
    y_tr = np.concatenate([np.asarray(r.labels) for r in train])
    w_tr = _emphasise_short(
        _sample_weights(train, power=cfg.part_power),
        train,
        max_words=cfg.short_words,
        factor=cfg.short_weight,
    )

    parts = ["use", "lex"]
    arrays: dict[str, np.ndarray] = {
        "labels": np.array(LABELS),
        "meta_train_sets": np.array(TRAIN_SETS),
    }
    t0 = time.time()
    U_st = _embed_use(stack, cache, progress)
    curves: dict[str, list[float]] = {}
    if cfg.parts_from:
        # refit only the stacker and the rules over parts trained before
        with np.load(cfg.parts_from, allow_pickle=False) as old:
            arrays |= {k: old[k] for k in old.files if k.startswith(("use_", "lex_"))}
        parts = [p for p in ("use", "lex") if any(k.startswith(f"{p}_") for k in arrays)]
    else:
        U_tr = np.concatenate(_embed_use(train, cache, progress))
        use_arrays, curves = _fit_mlp(U_tr, y_tr, w_tr, cfg, "use_")
        arrays |= use_arrays
        log.info("USE MLP trained in %.1f s", time.time() - t0)
        t0 = time.time()
        arrays |= _fit_lexical(train, y_tr, w_tr, cfg)
        log.info("n-gram model trained in %.1f s", time.time() - t0)

    # stacker on validation rows the parts never saw
    arrays["parts"] = np.array([p for p in ("use", "lex") if p in parts])
    base = StackedTextEmotion.from_arrays(
        arrays
        | {
            "stack_W": np.zeros(
                (7 * len(parts) * (2 if cfg.stack_by_language else 1) + CUE_DIM, 7), np.float32
            ),
            "stack_by_language": np.array(cfg.stack_by_language),
            "stack_b": np.zeros(7, np.float32),
        }
    )
    X_st = [
        base.stack_inputs(r.texts, base.part_log_probs(r.texts, use_vectors=U))
        for r, U in zip(stack, U_st, strict=True)
    ]
    y_st = np.concatenate([np.asarray(r.labels) for r in stack])
    groups = np.concatenate([np.full(len(r), i) for i, r in enumerate(stack)])
    W, b, stack_c, stack_scores, stack_detail = _fit_stacker(
        np.concatenate(X_st),
        y_st,
        _sample_weights(stack, power=cfg.stack_power),
        groups,
        cfg.stack_cs,
        short=_short_rows(stack, cfg.short_words),
    )
    arrays["stack_W"], arrays["stack_b"] = W, b
    arrays["stack_by_language"] = np.array(cfg.stack_by_language)
    arrays["temperature"] = np.array(1.0, dtype=np.float32)
    arrays["explicit_floor"] = np.array(cfg.explicit_floor, dtype=np.float32)

    # when to say "mixed": GoEmotions validation rows with two labels vs one
    model = StackedTextEmotion.from_arrays(arrays)
    pairs = read_pairs(data_dir, "goemotions", "validation")
    single_idx = next(i for i, r in enumerate(stack) if r.dataset == "goemotions")
    single = stack[single_idx]
    p_single = model.predict_proba(single.texts, use_vectors=U_st[single_idx])
    p_pair = model.predict_proba([t for t, _, _ in pairs])
    ratio, floor, mixed_grid = _fit_mixed(
        p_single,
        p_pair,
        single.texts,
        [t for t, _, _ in pairs],
        max_single_rate=cfg.mixed_max_rate,
    )
    arrays["mix_ratio"] = np.array(ratio, dtype=np.float32)
    arrays["mix_floor"] = np.array(floor, dtype=np.float32)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "text_emotion_head.npz"
    np.savez_compressed(weights, **arrays)  # type: ignore[arg-type]
    if curves:
        plot_curves(curves, out_dir / "text_emotion_training.png", title="text emotion head (MLPs)")
    report = evaluate_text_emotion(
        data_dir, out_dir, head_path=weights, cache_dir=cache, progress=progress, messages=messages
    )
    report["config"] = {k: v for k, v in cfg.__dict__.items() if k != "stack_cs"} | {
        "parts": parts,
        "stacker_C": stack_c,
        "stacker_cv_macro_f1_by_C": stack_scores,
        "stacker_cv_macro_f1_by_corpus": {
            stack[g].dataset: v for g, v in stack_detail["by_group"].items()
        },
        "stacker_cv_macro_f1_short_rows_by_corpus": {
            stack[g].dataset: v for g, v in stack_detail.get("short_by_group", {}).items()
        },
        "mix_ratio": ratio,
        "mix_floor": floor,
        "mixed_grid": mixed_grid,
        "mixed_pairs": len(pairs),
        "lexical_features": int(len(arrays["lex_terms"])),
    }
    report["train_rows"] = {f"{r.dataset}/{r.split}": len(r) for r in train}
    report["near_copies_dropped"] = near_dropped
    report["stack_rows"] = {f"{r.dataset}/{r.split}": len(r) for r in stack}
    (out_dir / "text_emotion_report.json").write_text(json.dumps(report, indent=2))
    return report


def _message_metrics(
    msgs: ShortMessages, probs: np.ndarray, mixed: list[tuple[str, ...]]
) -> dict[str, Any]:
    """Scores on the short-message set (a label2 hit counts as correct)."""
    from sklearn.metrics import recall_score

    y = np.asarray(msgs.labels)
    y2 = np.asarray(msgs.labels2)
    pred = probs.argmax(axis=1)
    hit = (pred == y) | (pred == y2)
    eff = np.where(pred == y2, y2, y)  # a label2 hit counts as the row's label

    def block(mask: np.ndarray) -> dict[str, Any]:
        if not mask.any():
            return {"n": 0}
        m: dict[str, Any] = dict(classification_metrics(eff[mask], pred[mask]))
        m["accuracy"] = float(hit[mask].mean())
        present = sorted(set(int(v) for v in eff[mask]))
        rec = recall_score(eff[mask], pred[mask], labels=present, average=None, zero_division=0)
        m["recall"] = {LABELS[k]: float(r) for k, r in zip(present, rec, strict=True)}
        return m

    langs = np.asarray(msgs.languages)
    styles = np.asarray(msgs.styles)
    out: dict[str, Any] = {"all": block(np.ones(len(y), bool))}
    out["languages"] = {lang: block(langs == lang) for lang in sorted(set(msgs.languages))}
    out["styles"] = {}
    for style in MESSAGE_STYLES:
        for lang in sorted(set(msgs.languages)):
            mask = (styles == style) & (langs == lang)
            if mask.any():
                out["styles"][f"{style}/{lang}"] = {
                    "n": int(mask.sum()),
                    "accuracy": float(hit[mask].mean()),
                }
    two = y2 >= 0
    both = [set(mixed[i]) == {LABELS[y[i]], LABELS[y2[i]]} for i in np.flatnonzero(two)]
    out["mixed_rows"] = {
        "n": int(two.sum()),
        "reported_mixed": float(np.mean([bool(mixed[i]) for i in np.flatnonzero(two)])),
        "both_labels_right": float(np.mean(both)) if both else 0.0,
        "mixed_on_single_rows": float(np.mean([bool(mixed[i]) for i in np.flatnonzero(~two)])),
    }
    anger = LABELS.index("anger")
    explicit = (styles == "explicit") & (y == anger)
    p_anger = probs[explicit, anger]
    out["explicit_anger"] = {
        "n": int(explicit.sum()),
        "min_p": float(p_anger.min()) if explicit.any() else 0.0,
        "share_p_ge_0.6": float((p_anger >= 0.6).mean()) if explicit.any() else 0.0,
        "below_0.6": [msgs.texts[i] for i in np.flatnonzero(explicit) if probs[i, anger] < 0.6],
    }
    out["errors"] = [
        {
            "id": msgs.ids[i],
            "text": msgs.texts[i],
            "label": LABELS[y[i]],
            "predicted": LABELS[pred[i]],
            "p": round(float(probs[i, pred[i]]), 3),
        }
        for i in np.flatnonzero(~hit)
    ]
    return out


def evaluate_short_messages(
    path: Path, out_dir: Path, *, head_path: Path | None = None
) -> dict[str, Any]:
    """Score a head on the short-message set; write its confusion-matrix PNG.

    Returns
    -------
    dict
        ``{"all", "languages", "styles", "mixed_rows", "explicit_anger", "errors",
        "confusion_png"}``; see ``tests/data/short_messages.md``.
    """
    from moodtune.text.backends.use_ngram import StackedTextEmotion, default_head_path

    head = StackedTextEmotion.load(head_path or default_head_path())
    msgs = read_short_messages(path)
    probs = head.predict_proba(msgs.texts)
    mixed = [head.estimate(p, t).mixed for p, t in zip(probs, msgs.texts, strict=True)]
    report = _message_metrics(msgs, probs, mixed)
    y, y2, pred = np.asarray(msgs.labels), np.asarray(msgs.labels2), probs.argmax(axis=1)
    png = plot_confusion(
        np.where(pred == y2, y2, y),
        pred,
        Path(out_dir) / "text_emotion_short_messages_confusion.png",
        title="text emotion, short-message set (ru + en)",
    )
    report["confusion_png"] = str(png)
    return report


def evaluate_text_emotion(
    data_dir: Path,
    out_dir: Path,
    *,
    head_path: Path | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    messages: Path | None = None,
) -> dict[str, Any]:
    """Score a head on every held-out test split and the short-message set; write PNGs.

    Returns
    -------
    dict
        ``{"datasets": {name: {"language", "n", "accuracy", "uar", "macro_f1"}},
        "languages": {...}, "confusion_png": path, "short_messages": {...}}``. The corpora are
        scored on their single-label rows mapped onto the seven labels; the argmax runs over
        all seven labels. ``short_messages`` is present when ``messages`` (default: the
        checkout's ``tests/data/short_messages.csv``) exists.
    """
    from moodtune.config import cache_dir as default_cache
    from moodtune.text.backends.use_ngram import StackedTextEmotion, default_head_path

    cache = cache_dir or default_cache() / "embeddings"
    head = StackedTextEmotion.load(head_path or default_head_path())
    _, _, test = load_training_sets(Path(data_dir))
    U_list = _embed_use(test, cache, progress) if "use" in head.parts else [None] * len(test)
    report: dict[str, Any] = {"datasets": {}, "languages": {}}
    by_lang: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    all_true, all_pred = [], []
    for rows, U in zip(test, U_list, strict=True):
        y = np.asarray(rows.labels)
        pred = head.predict_proba(rows.texts, use_vectors=U).argmax(axis=1)
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
    msg_path = Path(messages) if messages else DEFAULT_MESSAGES
    if messages or msg_path.is_file():
        report["short_messages"] = evaluate_short_messages(msg_path, out_dir, head_path=head_path)
    return report
