"""Train and evaluate the speech-emotion head (Whisper encoder states + prosody -> linear).

Built for voices it has never heard, so every choice is made on leave-one-corpus-out
(LOCO) scores: ``moodtune evaluate speech-emotion --loco`` trains on all corpora but one
and tests on the one left out, for each corpus. Recipe (``moodtune train speech-emotion
--data DIR --out DIR``):

1. Read RAVDESS, TESS, EmoDB and TurEV-DB (:mod:`moodtune.train.speech_data`): seven
   labels, calm folded into neutral, EmoDB's boredom dropped. The Spanish student set
   (no licence) is only ever a held-out test corpus.
2. Decode every clip at 16 kHz, run the Whisper-base encoder exactly as the product does
   (:meth:`moodtune.speech.whisper.WhisperASR.speech_states`), pool the states (mean +
   std) and add the prosody vector; ``n_aug`` augmented copies per clip (speed, pitch,
   shift, room, noise, microphone, gain, Opus). Features are cached on disk.
3. Normalise as the product does at run time: each row by a simulated user history
   (0 to all other clips of its speaker, plus itself) shrunk towards the training
   statistics (or its own corpus's, ``corpus_norm``: measured, not kept); fit a
   multinomial logistic regression with every label weighing the same over the pooled
   corpora (``label_balance``), a second one for first messages that ignores the
   leading speaker directions (``first_nap``), and binary arousal/valence ones with
   every corpus weighing the same.
4. LOCO: the same fit without each corpus; its held-out predictions give the
   calibration (class prior, temperature, out-of-distribution thresholds), the scores
   (each corpus calibrated without itself) and the voice side of fusion tuning.
5. Fit on everything, calibrate with step 4, export plain arrays (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import NoSpeechError, ParameterError
from moodtune.speech.emotion import HEAD_FILE, STATE_DIM, SpeechEmotionHead
from moodtune.speech.prosody import PROSODY_DIM
from moodtune.train.augment import AUGMENT_VERSION, add_noise, opus_roundtrip
from moodtune.train.speech_data import (
    EVAL_ONLY_SETS,
    SPEECH_SETS,
    SR,
    Encoder,
    Progress,
    SpeechClip,
    clip_features,
    load_clips,
)
from moodtune.types import CIRCUMPLEX_ARRAY, LABELS

log = logging.getLogger(__name__)


@dataclass
class FeatureTable:
    """Features of many clips, row-aligned.

    Attributes
    ----------
    pooled : np.ndarray
        Shape (n, 1024), pooled encoder states.
    prosody : np.ndarray
        Shape (n, P), prosody vectors.
    labels : np.ndarray
        Shape (n,), label indices.
    speakers, datasets, variants, splits, paths : np.ndarray
        Shape (n,), strings: ``dataset:speaker``, corpus, ``orig``/``augK``, the
        corpus's split, the clip's path.
    """

    pooled: np.ndarray
    prosody: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    datasets: np.ndarray
    variants: np.ndarray
    splits: np.ndarray
    paths: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, mask: np.ndarray) -> FeatureTable:
        """Rows where ``mask`` is true."""
        return FeatureTable(
            self.pooled[mask],
            self.prosody[mask],
            self.labels[mask],
            self.speakers[mask],
            self.datasets[mask],
            self.variants[mask],
            self.splits[mask],
            self.paths[mask],
        )


#: Fixed degradations for robustness evaluation: a messenger voice note (Opus 12 kbit/s)
#: and a noisy one (pink-ish noise at 15 dB SNR, then Opus 12 kbit/s).
CONDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "opus12k": partial(opus_roundtrip, sr=SR, bitrate=12000),
    "noise15db_opus12k": lambda y: opus_roundtrip(
        add_noise(y, snr_db=15.0, rng=np.random.default_rng(len(y))), sr=SR, bitrate=12000
    ),
}


def whisper_encoder() -> tuple[Encoder, str]:
    """The product's encoder path and its cache id.

    :meth:`moodtune.speech.whisper.WhisperASR.speech_states`: Silero VAD keeps the speech
    (as :meth:`~moodtune.speech.whisper.WhisperASR.analyze` does), then one short-window
    encoder pass, so the head trains on the states it meets in the product.
    """
    from moodtune.speech import whisper

    asr = whisper.get_whisper()
    ident = f"whisper-base-{whisper.MODEL_SHA256[:12]}-q{whisper.FRAME_QUANTUM}-vad"
    return asr.speech_states, ident


def _variant_seed(clip: SpeechClip, variant: str, seed: int) -> int:
    raw = f"{clip.dataset}/{clip.path.name}/{variant}/{seed}".encode()
    return int.from_bytes(hashlib.sha1(raw).digest()[:4], "little")


def extract_features(
    clips: Sequence[SpeechClip],
    *,
    cache_dir: Path,
    encoder: Encoder,
    encoder_id: str,
    n_aug: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
    name: str = "clips",
    condition: str | None = None,
) -> FeatureTable:
    """Features of ``clips`` plus ``n_aug`` augmented copies of each (cached).

    Parameters
    ----------
    clips : sequence of SpeechClip
        The clips.
    cache_dir : Path
        Feature cache folder.
    encoder, encoder_id : callable, str
        See :func:`moodtune.train.speech_data.clip_features`.
    n_aug : int
        Augmented copies per clip (0 for evaluation data).
    seed : int
        Seed of the augmentation draws (each clip and copy gets its own stream).
    progress : callable, optional
        ``progress(name, done, total)``.
    name : str
        Name passed to ``progress``.
    condition : str, optional
        A key of :data:`CONDITIONS`: every clip is passed through that fixed degradation
        instead of being used clean (for robustness evaluation; ``n_aug`` must be 0).
    """
    from moodtune.train.augment import random_augment

    pooled, prosody, labels, speakers, datasets, variants = [], [], [], [], [], []
    splits, paths = [], []
    first = condition or "orig"
    jobs = [(c, first) for c in clips] + [
        (c, f"aug{k}") for k in range(1, n_aug + 1) for c in clips
    ]
    t0 = time.time()
    for i, (clip, variant) in enumerate(jobs):
        augment: Callable[[np.ndarray], np.ndarray] | None = None
        if variant in CONDITIONS:
            augment = CONDITIONS[variant]
        elif variant != "orig":
            s = _variant_seed(clip, variant, seed)

            def augment(y: np.ndarray, s: int = s) -> np.ndarray:
                return random_augment(y, sr=SR, rng=np.random.default_rng(s))[0]

        try:
            feats = clip_features(
                clip,
                cache_dir=cache_dir,
                encoder=encoder,
                encoder_id=encoder_id,
                aug=(
                    f"{variant}-s{seed}-{AUGMENT_VERSION}" if variant.startswith("aug") else variant
                ),
                augment=augment,
            )
        except NoSpeechError as exc:
            log.warning("skipping %s (%s): %s", clip.path, variant, exc)
            continue
        pooled.append(feats["pooled"])
        prosody.append(feats["prosody"])
        labels.append(clip.label)
        speakers.append(clip.speaker_key)
        datasets.append(clip.dataset)
        variants.append(variant)
        splits.append(clip.split)
        paths.append(str(clip.path))
        if progress and (i % 50 == 0 or i + 1 == len(jobs)):
            progress(name, i + 1, len(jobs))
    log.info("features of %d %s in %.1f s", len(labels), name, time.time() - t0)
    n = len(labels)
    return FeatureTable(
        np.asarray(pooled, dtype=np.float64).reshape(n, -1 if n else 2 * STATE_DIM),
        np.asarray(prosody, dtype=np.float64).reshape(n, -1 if n else PROSODY_DIM),
        np.asarray(labels, dtype=np.int64),
        np.asarray(speakers),
        np.asarray(datasets),
        np.asarray(variants),
        np.asarray(splits),
        np.asarray(paths),
    )


#: Binary arousal: labels whose circumplex arousal is positive (anger, disgust, fear,
#: happiness, surprise) are "high"; sadness and neutral are "low".
HIGH_AROUSAL = CIRCUMPLEX_ARRAY[:, 1] > 0
#: Binary valence: happiness and surprise are "positive"; anger, disgust, fear and
#: sadness "negative"; neutral has no valence and is left out of the valence scores.
POSITIVE_VALENCE = CIRCUMPLEX_ARRAY[:, 0] > 0
HAS_VALENCE = np.array([lab != "neutral" for lab in LABELS])

#: User histories scored in leave-one-corpus-out evaluation: the first message (0 earlier
#: ones), 10 earlier messages, and all of the speaker's clips (-1).
HISTORY_MODES: tuple[int, ...] = (0, 10, -1)


def mode_name(k: int) -> str:
    """Name of a history mode: ``first``, ``history_10``, ``speaker_all``."""
    return "first" if k == 0 else ("speaker_all" if k < 0 else f"history_{k}")


@dataclass
class SpeechHeadConfig:
    """Hyper-parameters of the speech head (chosen on leave-one-corpus-out scores).

    Attributes
    ----------
    C : float
        Inverse L2 strength of the logistic regressions.
    use_prosody, log_std, drop_mfcc_means, relative_pitch, instance_norm : bool
        Feature choices (see :func:`moodtune.speech.emotion.transform_features`).
    speaker_norm : bool
        Normalise by (simulated) user histories; else by the population statistics only.
    corpus_norm : bool
        In training, shrink each speaker towards their corpus's statistics (per-corpus
        normalisation); else towards the statistics of all training rows.
    shrink : float
        Pseudo-count of the population statistics.
    history_sizes : tuple of int
        Earlier messages drawn per training row (-1: all the speaker's other clips).
    history_draws : int
        Normalised copies of each training row.
    n_aug, aug_weight : int, float
        Augmented copies per training clip and the weight of each.
    aug_sets : tuple of str
        Corpora whose clips get augmented copies (TESS, 2 speakers and 2,799 clips, is
        left out to save encoder time).
    dims : bool
        Fit the binary arousal/valence heads.
    label_balance : str
        Weights of the seven-label classifier: ``"corpus"`` (each corpus weighs the same,
        labels balanced inside it) or ``"pooled"`` (each label weighs the same over all
        training corpora, shared equally by the corpora that have it: labels only some
        corpora have, such as surprise, count as much as the others).
    first_nap : int
        Directions of the speaker subspace (leading principal components of the
        label-balanced speaker means of population z-scores) that the first-message
        classifier ignores (nuisance attribute projection; 0: no separate first-message
        classifier). A first message cannot be normalised by its speaker, so its
        classifier does without the directions along which speakers differ most;
        users with a history keep the full classifier.
    ood_components, ood_max : int, float
        Principal components of the out-of-distribution distance; the largest share of
        the uniform distribution it may mix in.
    """

    C: float = 0.01
    use_prosody: bool = True
    log_std: bool = False
    drop_mfcc_means: bool = False
    relative_pitch: bool = False
    instance_norm: bool = False
    speaker_norm: bool = True
    corpus_norm: bool = False
    shrink: float = 3.0
    history_sizes: tuple[int, ...] = (0, 1, 3, 10, -1)
    history_draws: int = 2
    n_aug: int = 1
    aug_weight: float = 0.5
    aug_sets: tuple[str, ...] = ("ravdess", "emodb", "turev_db")
    dims: bool = True
    label_balance: str = "pooled"
    first_nap: int = 4
    ood_components: int = 32
    ood_max: float = 0.9
    max_iter: int = 300
    seed: int = 0
    datasets: tuple[str, ...] = SPEECH_SETS


def prosody_keep(config: SpeechHeadConfig) -> np.ndarray:
    """Bool mask (P,) of the prosody entries the head keeps."""
    from moodtune.speech.prosody import PROSODY_NAMES

    drop = [
        config.drop_mfcc_means and n.startswith("mfcc") and n.endswith("_mean")
        for n in PROSODY_NAMES
    ]
    return ~np.asarray(drop, dtype=bool)


def head_matrix(table: FeatureTable, config: SpeechHeadConfig) -> np.ndarray:
    """The head's feature rows of a table, shape (n, d)."""
    from moodtune.speech.emotion import transform_features

    return np.asarray(
        transform_features(
            table.pooled,
            table.prosody if config.use_prosody else None,
            log_std=config.log_std,
            prosody_keep=prosody_keep(config),
            relative_pitch=config.relative_pitch and config.use_prosody,
            instance_norm=config.instance_norm,
        )
    )


def sample_weights(table: FeatureTable) -> np.ndarray:
    """Weights that balance labels inside each corpus and give each corpus the same total.

    Returns
    -------
    np.ndarray
        Shape (n,), mean 1.
    """
    w = np.zeros(len(table))
    corpora = np.unique(table.datasets)
    for name in corpora:
        in_corpus = table.datasets == name
        present = np.unique(table.labels[in_corpus])
        for lab in present:
            mask = in_corpus & (table.labels == lab)
            w[mask] = 1.0 / (mask.sum() * len(present) * len(corpora))
    return w * (len(w) / w.sum())


def pooled_label_weights(table: FeatureTable) -> np.ndarray:
    """Weights that give each label the same total over all corpora pooled.

    Inside a label, each corpus that has it gets the same share (``label_balance =
    "pooled"``). Mean 1.
    """
    w = np.zeros(len(table))
    for lab in np.unique(table.labels):
        has = table.labels == lab
        corpora = np.unique(table.datasets[has])
        for name in corpora:
            mask = has & (table.datasets == name)
            w[mask] = 1.0 / (mask.sum() * len(corpora))
    return w * (len(w) / w.sum())


def speaker_subspace(
    X: np.ndarray,
    labels: np.ndarray,
    speakers: np.ndarray,
    pop_mean: np.ndarray,
    pop_var: np.ndarray,
    k: int,
) -> np.ndarray:
    """Leading directions along which speakers differ, in population z-score space.

    Each speaker's mean is the mean of their per-label means (so a speaker's mix of
    labels does not move it); the directions are the top ``k`` right singular vectors
    of the centred speaker means.

    Returns
    -------
    np.ndarray
        Shape (d, k'), orthonormal columns, ``k' = min(k, speakers - 1)``.
    """
    z0 = (X - pop_mean) / np.sqrt(pop_var + 1e-8)
    means = []
    for spk in np.unique(speakers):
        mine = speakers == spk
        means.append(
            np.mean(
                [z0[mine & (labels == lab)].mean(axis=0) for lab in np.unique(labels[mine])], axis=0
            )
        )
    M = np.asarray(means)
    M = M - M.mean(axis=0)
    _, _, vt = np.linalg.svd(M, full_matrices=False)
    r = int(min(k, max(len(M) - 1, 0)))
    return np.asarray(vt[:r].T.copy())


def shrunk_stats(
    history: np.ndarray, pop_mean: np.ndarray, pop_var: np.ndarray, *, shrink: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of a user's rows (n, d) shrunk towards the population.

    As :meth:`moodtune.speech.emotion.SpeakerStats.normalise` does; each shape (d,).
    """
    n = float(len(history))
    mu = (n * history.mean(axis=0) + shrink * pop_mean) / (n + shrink)
    var = (n * history.var(axis=0) + shrink * pop_var) / (n + shrink)
    return mu, var


def history_normalise(
    X: np.ndarray,
    groups: np.ndarray,
    pop_mean: np.ndarray,
    pop_var: np.ndarray,
    *,
    shrink: float,
    sizes: Sequence[int],
    draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Z-score each row as a user with a short history would be: k other rows plus itself.

    For each of ``draws`` passes over the rows, ``k`` is drawn from ``sizes`` (-1 means
    all the group's other rows) and the statistics come from ``k`` random other rows of
    the same group plus the row itself, shrunk towards that row's population statistics,
    exactly as :meth:`SpeakerStats.normalise` does at run time (the service updates a
    user's statistics with the message before reading it).

    Parameters
    ----------
    X : np.ndarray
        Shape (n, d).
    groups : np.ndarray
        Shape (n,), speaker (or pseudo-speaker) keys.
    pop_mean, pop_var : np.ndarray
        Shape (n, d) or (d,): population statistics for each row.

    Returns
    -------
    Z : np.ndarray
        Shape (draws * n, d), normalised rows.
    idx : np.ndarray
        Shape (draws * n,), the row of ``X`` each line of ``Z`` came from.
    """
    pm = np.broadcast_to(pop_mean, X.shape)
    pv = np.broadcast_to(pop_var, X.shape)
    by_group = {g: np.flatnonzero(groups == g) for g in np.unique(groups)}
    size_arr = np.asarray(sizes, dtype=np.int64)
    Z = np.empty((draws * len(X), X.shape[1]))
    idx = np.tile(np.arange(len(X)), draws)
    for j, i in enumerate(idx):
        others = by_group[groups[i]]
        others = others[others != i]
        k = int(rng.choice(size_arr))
        k = len(others) if k < 0 else min(k, len(others))
        rows = X[np.concatenate([[i], rng.choice(others, size=k, replace=False)])] if k else X[[i]]
        mu, var = shrunk_stats(rows, pm[i], pv[i], shrink=shrink)
        Z[j] = (X[i] - mu) / np.sqrt(var + 1e-8)
    return Z, idx


def _fit_logistic(
    Z: np.ndarray, y: np.ndarray, w: np.ndarray, *, C: float, max_iter: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardise, then fit an L2 logistic regression; return mean, scale, W, b.

    Binary ``y`` gives ``W`` of shape (d,) and a scalar ``b``; multi-class ``y`` gives
    (d, 7) and (7,) with labels missing from ``y`` held far below the others.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    mean = Z.mean(axis=0)
    scale = Z.std(axis=0) + 1e-6
    clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit((Z - mean) / scale, y, sample_weight=w)
    if len(clf.classes_) == 2 and set(clf.classes_.tolist()) == {0, 1}:
        return mean, scale, clf.coef_[0].astype(np.float64), np.asarray(clf.intercept_[0])
    W = np.zeros((Z.shape[1], len(LABELS)))
    b = np.full(len(LABELS), -30.0)
    W[:, clf.classes_] = clf.coef_.T
    b[clf.classes_] = clf.intercept_
    return mean, scale, W, b


def binary_weights(table: FeatureTable, target: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Weights balancing a binary target inside each corpus, each corpus the same total."""
    w = np.zeros(len(table))
    corpora = np.unique(table.datasets[keep])
    for name in corpora:
        for value in (False, True):
            mask = keep & (table.datasets == name) & (target == value)
            if mask.any():
                w[mask] = 1.0 / (mask.sum() * 2 * len(corpora))
    return w * (keep.sum() / max(w.sum(), 1e-12))


def fit_head(train: FeatureTable, config: SpeechHeadConfig) -> dict[str, np.ndarray]:
    """Fit the head on ``train`` (clean and augmented rows); return the weights' arrays.

    Calibration (prior correction, temperature, out-of-distribution thresholds) is left
    neutral here: :func:`fit_calibration` learns it from leave-one-corpus-out predictions
    and :func:`apply_calibration` writes it in.
    """
    X = head_matrix(train, config)
    is_aug = train.variants != "orig"
    corpora = sorted(set(train.datasets.tolist()))
    stats = {}
    for name in corpora:
        rows = X[train.datasets == name]
        stats[name] = (rows.mean(axis=0), rows.var(axis=0))
    pop_mean = np.mean([m for m, _ in stats.values()], axis=0)
    pop_var = np.mean([v for _, v in stats.values()], axis=0)
    if config.corpus_norm:
        pm = np.array([stats[d][0] for d in train.datasets])
        pv = np.array([stats[d][1] for d in train.datasets])
    else:
        pm = np.broadcast_to(X.mean(axis=0), X.shape)
        pv = np.broadcast_to(X.var(axis=0), X.shape)
    rng = np.random.default_rng(config.seed)
    if config.speaker_norm:
        # augmented rows form their own pseudo-speakers: a user's channel is steady
        groups = np.char.add(train.speakers.astype(str), np.where(is_aug, "|aug", ""))
        Z, idx = history_normalise(
            X,
            groups,
            pm,
            pv,
            shrink=config.shrink,
            sizes=config.history_sizes,
            draws=config.history_draws,
            rng=rng,
        )
    else:
        Z, idx = (X - pm) / np.sqrt(pv + 1e-8), np.arange(len(X))
    row_w = np.where(is_aug, config.aug_weight, 1.0)
    if config.label_balance not in ("corpus", "pooled"):
        raise ParameterError(
            f"label_balance must be 'corpus' or 'pooled', not {config.label_balance!r}"
        )
    base_w = (
        pooled_label_weights(train) if config.label_balance == "pooled" else sample_weights(train)
    )
    w = (base_w * row_w)[idx]
    fit = partial(_fit_logistic, C=config.C, max_iter=config.max_iter, seed=config.seed)
    c_mean, c_scale, c_W, c_b = fit(Z, train.labels[idx], w)
    arrays: dict[str, np.ndarray] = {
        "labels": np.array(LABELS),
        "use_prosody": np.array(config.use_prosody),
        "log_std": np.array(config.log_std),
        "prosody_keep": prosody_keep(config),
        "relative_pitch": np.array(config.relative_pitch and config.use_prosody),
        "instance_norm": np.array(config.instance_norm),
        "speaker_norm": np.array(config.speaker_norm),
        "shrink": np.array(config.shrink, dtype=np.float64),
        "pop_mean": pop_mean,
        "pop_var": pop_var,
        "c_mean": c_mean,
        "c_scale": c_scale,
        "c_W": c_W,
        "c_b": c_b,
        "c_prior": np.zeros(len(LABELS)),
        "c_temperature": np.array(1.0),
    }
    if config.first_nap > 0:
        clean_rows = ~is_aug
        U = speaker_subspace(
            X[clean_rows],
            train.labels[clean_rows],
            train.speakers[clean_rows],
            pop_mean,
            pop_var,
            config.first_nap,
        )
        arrays |= _first_message_classifier(
            Z, train.labels[idx], w, U=U, c_mean=c_mean, c_scale=c_scale, fit=fit
        )
    if config.dims:
        Zs = (Z - c_mean) / c_scale
        y = train.labels
        for key, target, keep in (
            ("a", HIGH_AROUSAL[y], np.ones(len(y), dtype=bool)),
            ("v", POSITIVE_VALENCE[y], HAS_VALENCE[y]),
        ):
            bw = (binary_weights(train, target, keep) * row_w)[idx]
            rows = keep[idx]
            _, _, W1, b1 = fit(Zs[rows], target[idx][rows].astype(np.int64), bw[rows])
            arrays |= {
                f"{key}_W": W1,
                f"{key}_b": np.asarray(b1, dtype=np.float64),
                f"{key}_temperature": np.array(1.0),
            }
    clean = X[~is_aug]
    o_mean, o_scale = clean.mean(axis=0), clean.std(axis=0) + 1e-6
    U = (clean - o_mean) / o_scale
    r = int(min(config.ood_components, U.shape[0] - 1, U.shape[1]))
    _, sing, vt = np.linalg.svd(U, full_matrices=False)
    arrays |= {
        "ood_mean": o_mean,
        "ood_scale": o_scale,
        "ood_components": vt[:r].T.copy(),
        "ood_var": sing[:r] ** 2 / max(len(U) - 1, 1),
        "ood_low": np.array(1e9),
        "ood_high": np.array(2e9),
        "ood_max": np.array(config.ood_max, dtype=np.float64),
        "meta_train_sets": np.array(corpora),
        "meta_n_train": np.array(len(train)),
        "meta_C": np.array(config.C, dtype=np.float64),
    }
    return arrays


def _first_message_classifier(
    Z: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    U: np.ndarray,
    c_mean: np.ndarray,
    c_scale: np.ndarray,
    fit: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> dict[str, np.ndarray]:
    """The first-message classifier, folded into weights on the main classifier's rows.

    A logistic regression on the normalised rows ``Z`` with the speaker subspace ``U``
    (d, k) projected out, expressed on the main classifier's standardised rows
    ``(z - c_mean) / c_scale`` as ``f_W`` (d, 7) and ``f_b`` (7,), so that its logits do
    not move along ``U``; ``meta_first_nap`` keeps ``U``.
    """
    Zp = Z - (Z @ U) @ U.T
    p_mean, p_scale, W1, b1 = fit(Zp, y, w)
    # logits = ((P z - p_mean) / p_scale) @ W1 + b1 with P = I - U U^T and
    # z = zs * c_scale + c_mean: linear in zs
    A = W1 / p_scale[:, None]
    PA = A - U @ (U.T @ A)
    f_W = c_scale[:, None] * PA
    f_b = (c_mean @ PA) - (p_mean / p_scale) @ W1 + b1
    return {"f_W": f_W, "f_b": np.asarray(f_b, dtype=np.float64), "meta_first_nap": U}


def head_raw(
    head: SpeechEmotionHead, X: np.ndarray, speakers: np.ndarray, *, k: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Uncalibrated scores of rows ``X`` for users with ``k`` earlier messages.

    ``k = 0``: each row is a first message (no history); ``k > 0``: ``k`` random other
    rows of the same speaker plus the row itself; ``k = -1``: all of the speaker's rows.
    Returns :meth:`SpeechEmotionHead.raw_scores` plus ``distance`` (n,) and ``z`` (n, d).
    """
    if head.speaker_norm:
        Z, _ = history_normalise(
            X,
            speakers,
            head.pop_mean,
            head.pop_var,
            shrink=head.shrink,
            sizes=(k,),
            draws=1,
            rng=np.random.default_rng(seed),
        )
    else:
        Z = (X - head.pop_mean) / np.sqrt(head.pop_var + 1e-8)
    # as predict_all: without speaker normalisation every message is a first message
    out = head.raw_scores(Z, first=k == 0 or not head.speaker_norm)
    out["distance"] = head.ood_distance(X)
    out["z"] = Z
    return out


def _balanced(labels: np.ndarray, datasets: np.ndarray) -> np.ndarray:
    """Weights: labels balanced inside each corpus, corpora equal; mean 1."""
    w = np.zeros(len(labels))
    corpora = np.unique(datasets)
    for name in corpora:
        in_c = datasets == name
        present = np.unique(labels[in_c])
        for lab in present:
            mask = in_c & (labels == lab)
            w[mask] = 1.0 / (mask.sum() * len(present) * len(corpora))
    return w * (len(w) / w.sum())


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return np.asarray(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))


def _binary_temperature(logit: np.ndarray, target: np.ndarray, w: np.ndarray) -> float:
    best_t, best = 1.0, np.inf
    for t in np.geomspace(0.25, 8.0, 60):
        p = 1.0 / (1.0 + np.exp(-np.clip(logit / t, -50, 50)))
        p = np.clip(np.where(target, p, 1.0 - p), 1e-12, 1.0)
        nll = float(-(np.log(p) * w).sum() / w.sum())
        if nll < best:
            best_t, best = float(t), nll
    return best_t


def fit_calibration(folds: Sequence[dict[str, Any]], *, ood_max: float) -> dict[str, np.ndarray]:
    """Prior correction, temperatures and OOD thresholds from held-out-corpus scores.

    Parameters
    ----------
    folds : sequence of dict
        One per held-out corpus: ``labels`` (n,), ``dataset`` (str) and ``modes``
        (``{mode: head_raw(...)}``); every mode's rows are pooled.
    ood_max : float
        The largest uniform share (see :func:`moodtune.speech.emotion.ood_mix`).

    Returns
    -------
    dict
        Arrays for :func:`apply_calibration`: ``c_prior`` (7,) (first messages),
        ``h_prior`` (7,) (users with a history: the modes other than ``first``,
        refitted at the same temperature), ``c_temperature``,
        ``a_temperature``, ``v_temperature``, ``ood_low``, ``ood_high``, ``ood_max``.
    """
    from scipy.optimize import minimize

    from moodtune.speech.emotion import ood_mix, softmax

    logits, labels, names, dist, a_raw, v_raw = [], [], [], [], [], []
    for fold in folds:
        for raw in fold["modes"].values():
            logits.append(raw["logits"])
            labels.append(fold["labels"])
            names.append(np.full(len(fold["labels"]), fold["dataset"]))
            dist.append(raw["distance"])
            if "a" in raw:
                a_raw.append(raw["a"])
                v_raw.append(raw["v"])
    L = np.concatenate(logits)
    y = np.concatenate(labels)
    d = np.concatenate(dist)
    w = _balanced(y, np.concatenate(names))
    rows = np.arange(len(y))

    def nll(theta: np.ndarray) -> float:
        t = float(np.exp(theta[0]))
        lp = _log_softmax((L + theta[1:]) / t)
        return float(-(lp[rows, y] * w).sum() / w.sum() + 1e-3 * np.sum(theta[1:] ** 2))

    res = minimize(nll, np.zeros(1 + len(LABELS)), method="L-BFGS-B")
    temperature, prior = float(np.exp(res.x[0])), res.x[1:] - res.x[1:].mean()
    # users with a history: their own prior correction at the same temperature
    hist = np.concatenate(
        [np.full(len(fold["labels"]), mode != "first") for fold in folds for mode in fold["modes"]]
    )
    h_prior = prior
    if hist.any() and not hist.all():
        Lh, yh, wh, rh = L[hist], y[hist], w[hist], np.arange(int(hist.sum()))

        def nll_h(theta: np.ndarray) -> float:
            lp = _log_softmax((Lh + theta) / temperature)
            return float(-(lp[rh, yh] * wh).sum() / wh.sum() + 1e-3 * np.sum(theta**2))

        res_h = minimize(nll_h, prior.copy(), method="L-BFGS-B")
        h_prior = res_h.x - res_h.x.mean()
    p = softmax((L + prior) / temperature)
    best = (float(-(np.log(np.clip(p[rows, y], 1e-12, 1)) * w).sum() / w.sum()), 1e9, 2e9)
    for q in (50, 70, 80, 90, 95, 98):
        low = float(np.percentile(d, q))
        for factor in (1.25, 1.5, 2.0, 3.0):
            lam = ood_mix(d, low=low, high=low * factor, top=ood_max)
            pm = (1.0 - lam[:, None]) * p + lam[:, None] / len(LABELS)
            score = float(-(np.log(np.clip(pm[rows, y], 1e-12, 1)) * w).sum() / w.sum())
            if score < best[0] - 1e-6:
                best = (score, low, low * factor)
    if best[1] >= 1e9:
        # LOCO likelihood did not ask for flattening (the temperature already did it):
        # keep a guard for voices farther out than any held-out corpus's clips
        best = (best[0], float(np.percentile(d, 99.5)), 2.0 * float(np.percentile(d, 99.5)))
    out = {
        "c_prior": prior,
        "h_prior": h_prior,
        "c_temperature": np.array(temperature),
        "ood_low": np.array(best[1]),
        "ood_high": np.array(best[2]),
        "ood_max": np.array(float(ood_max)),
    }
    if a_raw:
        A, V = np.concatenate(a_raw), np.concatenate(v_raw)
        keep = HAS_VALENCE[y]
        out["a_temperature"] = np.array(_binary_temperature(A, HIGH_AROUSAL[y], w))
        out["v_temperature"] = np.array(
            _binary_temperature(V[keep], POSITIVE_VALENCE[y][keep], w[keep])
        )
    return out


def apply_calibration(
    arrays: dict[str, np.ndarray], calibration: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The weights' arrays with the calibration of :func:`fit_calibration` written in."""
    out = dict(arrays)
    for key, value in calibration.items():
        if key[0] in "av" and key not in ("a_temperature", "v_temperature"):
            continue
        if key in ("a_temperature", "v_temperature") and key.replace("temperature", "W") not in out:
            continue
        out[key] = np.asarray(value, dtype=np.float64)
    return out


def emotion_metrics(
    y: np.ndarray, out: dict[str, np.ndarray], *, proba_raw: np.ndarray | None = None
) -> dict[str, float]:
    """Scores of calibrated head outputs (:meth:`SpeechEmotionHead.outputs`) on labels ``y``.

    Returns
    -------
    dict
        ``n``; ``uar`` (argmax over the labels this corpus has: "7-class UAR on the
        corpus's labels"), ``uar7`` (argmax over all seven), ``accuracy``, ``macro_f1``;
        ``arousal_uar`` and ``valence_uar`` (binary, from the voice's own valence and
        arousal; neutral clips are left out of valence); ``ece`` of the calibrated
        probabilities and ``ece_raw`` of ``proba_raw`` when given; ``mean_confidence``.
    """
    from moodtune.train.reports import classification_metrics

    p = out["probabilities"]
    present = np.zeros(len(LABELS), dtype=bool)
    present[np.unique(y)] = True
    restricted = np.where(present, p, -1.0).argmax(axis=1)
    m = classification_metrics(y, restricted)
    res: dict[str, float] = {
        "n": int(len(y)),
        "uar": m["uar"],
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "uar7": classification_metrics(y, p.argmax(axis=1))["uar"],
    }
    a_true = HIGH_AROUSAL[y]
    a_pred = out["arousal"] > 0
    res["arousal_uar"] = _binary_uar(a_true, a_pred)
    keep = HAS_VALENCE[y]
    res["valence_uar"] = _binary_uar(POSITIVE_VALENCE[y][keep], out["valence"][keep] > 0)
    # the same binary scores read off the seven-label probabilities instead
    res["arousal_uar_labels"] = _binary_uar(a_true, p[:, HIGH_AROUSAL].sum(axis=1) > 0.5)
    pos = p[:, POSITIVE_VALENCE].sum(axis=1)
    neg = p[:, HAS_VALENCE & ~POSITIVE_VALENCE].sum(axis=1)
    res["valence_uar_labels"] = _binary_uar(POSITIVE_VALENCE[y][keep], (pos > neg)[keep])
    res["ece"] = expected_calibration_error(p, y)
    if proba_raw is not None:
        res["ece_raw"] = expected_calibration_error(proba_raw, y)
    res["mean_confidence"] = float(p.max(axis=1).mean())
    return res


def _binary_uar(truth: np.ndarray, pred: np.ndarray) -> float:
    recalls = [float(np.mean(pred[truth == v] == v)) for v in (False, True) if (truth == v).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


@dataclass
class _Source:
    """Where features come from: cache folder, encoder and its id, progress callback."""

    cache_dir: Path
    encoder: Encoder
    encoder_id: str
    progress: Progress | None = None


def concat_tables(parts: Sequence[FeatureTable]) -> FeatureTable:
    """Stack feature tables row-wise."""
    return FeatureTable(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in FeatureTable.__dataclass_fields__)
    )


def load_table(
    clips: Sequence[SpeechClip],
    src: _Source,
    *,
    n_aug: int,
    aug_sets: Sequence[str],
    seed: int = 0,
) -> FeatureTable:
    """Features of every clip (clean) plus ``n_aug`` augmented copies of ``aug_sets``' clips."""
    parts = []
    for name in sorted({c.dataset for c in clips}):
        sub = [c for c in clips if c.dataset == name]
        parts.append(
            extract_features(
                sub,
                cache_dir=src.cache_dir,
                encoder=src.encoder,
                encoder_id=src.encoder_id,
                n_aug=n_aug if name in aug_sets else 0,
                seed=seed,
                progress=src.progress,
                name=f"{name} clips",
            )
        )
    if not parts:
        raise ParameterError("no clips to read")
    return concat_tables(parts)


def _rows(table: FeatureTable, sets: Sequence[str], n_aug: int) -> np.ndarray:
    variants = ["orig"] + [f"aug{k}" for k in range(1, n_aug + 1)]
    return np.isin(table.datasets, list(sets)) & np.isin(table.variants, variants)


def loco_folds(
    table: FeatureTable,
    config: SpeechHeadConfig,
    *,
    held_sets: Sequence[str],
    history: Sequence[int] = HISTORY_MODES,
) -> list[dict[str, Any]]:
    """Leave-one-corpus-out scores: for each held-out corpus, a head fitted on the others.

    Training corpora are ``config.datasets`` minus the held-out one; an evaluation-only
    corpus in ``held_sets`` is scored by the head of all ``config.datasets``.

    Returns
    -------
    list of dict
        ``{"dataset", "labels" (n,), "paths" (n,), "speakers" (n,), "modes": {mode:
        head_raw(...)}, "arrays": the fold head's weights}`` per held-out corpus.
    """
    folds = []
    for held in held_sets:
        train = table.subset(_rows(table, [s for s in config.datasets if s != held], config.n_aug))
        test = table.subset((table.datasets == held) & (table.variants == "orig"))
        if not len(test):
            continue
        t0 = time.time()
        arrays = fit_head(train, config)
        head = SpeechEmotionHead(arrays)
        X = head_matrix(test, config)
        modes = {mode_name(k): head_raw(head, X, test.speakers, k=k) for k in history}
        folds.append(
            {
                "dataset": held,
                "labels": test.labels,
                "paths": test.paths,
                "speakers": test.speakers,
                "modes": modes,
                "arrays": arrays,
            }
        )
        log.info("held out %s: fitted on %d rows in %.0f s", held, len(train), time.time() - t0)
    return folds


def score_folds(
    folds: Sequence[dict[str, Any]], *, calibrate_on: Sequence[str], ood_max: float
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metrics per held-out corpus and mode, each calibrated without its own corpus.

    A corpus in ``calibrate_on`` is calibrated on the other corpora of ``calibrate_on``
    (leave one fold out), any other corpus on all of them.

    Returns
    -------
    report : dict
        ``{corpus: {mode: emotion_metrics(...)}}``.
    probabilities : dict
        ``{corpus: (n, 7)}`` calibrated probabilities of the ``first`` mode (for fusion).
    """
    report: dict[str, Any] = {}
    probas: dict[str, np.ndarray] = {}
    for fold in folds:
        others = [f for f in folds if f["dataset"] in calibrate_on and f is not fold]
        cal = fit_calibration(others, ood_max=ood_max)
        head = SpeechEmotionHead(apply_calibration(fold["arrays"], cal))
        neutral = SpeechEmotionHead(fold["arrays"])
        entry = {}
        for mode, raw in fold["modes"].items():
            out = head.outputs(raw["z"], raw["distance"], history=mode != "first")
            raw_p = neutral.outputs(raw["z"], raw["distance"])["probabilities"]
            entry[mode] = emotion_metrics(fold["labels"], out, proba_raw=raw_p)
            if mode == "first":
                probas[fold["dataset"]] = out["probabilities"]
        report[fold["dataset"]] = entry
    return report, probas


def in_corpus_scores(
    table: FeatureTable, config: SpeechHeadConfig, calibration: dict[str, np.ndarray]
) -> dict[str, Any]:
    """In-corpus scores, reported beside LOCO and never used to choose.

    Fits on the train speakers of every training corpus and scores each corpus's test
    speakers (``first`` and ``speaker_all``).
    """
    train = table.subset(_rows(table, config.datasets, config.n_aug))
    train = train.subset(np.isin(train.speakers, _split_speakers(table, "train")))
    head = SpeechEmotionHead(apply_calibration(fit_head(train, config), calibration))
    out: dict[str, Any] = {}
    test_speakers = _split_speakers(table, "test")
    for name in config.datasets:
        test = table.subset(
            (table.datasets == name)
            & (table.variants == "orig")
            & np.isin(table.speakers, test_speakers)
        )
        if not len(test):
            continue
        X = head_matrix(test, config)
        out[name] = {}
        for k in (0, -1):
            raw = head_raw(head, X, test.speakers, k=k)
            out[name][mode_name(k)] = emotion_metrics(
                test.labels, head.outputs(raw["z"], raw["distance"], history=k != 0)
            )
    return out


def _split_speakers(table: FeatureTable, split: str) -> np.ndarray:
    return np.unique(table.speakers[table.splits == split])


def mean_over(report: dict[str, Any], corpora: Sequence[str], mode: str, key: str) -> float:
    """Mean of one metric over corpora (those present)."""
    vals = [report[c][mode][key] for c in corpora if c in report and mode in report[c]]
    return float(np.mean(vals)) if vals else float("nan")


def leave_one_corpus_out(
    data_dir: Path,
    report_dir: Path,
    *,
    cache_dir: Path | None = None,
    config: SpeechHeadConfig | None = None,
    encoder: Encoder | None = None,
    encoder_id: str | None = None,
    progress: Progress | None = None,
    eval_only: Sequence[str] = EVAL_ONLY_SETS,
    in_corpus: bool = True,
) -> dict[str, Any]:
    """Train on all corpora but one, test on the one left out, for each corpus.

    The training corpora are ``config.datasets``; each evaluation-only corpus found in
    ``data_dir`` (the Spanish student set: no licence to train on) is scored as one more
    unseen corpus by the head of all training corpora. Calibration of each held-out
    corpus is fitted on the other training corpora's held-out predictions. In-corpus
    test-speaker scores are computed beside (``in_corpus``) and never used to choose.

    Returns
    -------
    dict
        ``{"loco": {corpus: {mode: metrics}}, "mean": {mode: {metric: mean over the
        training corpora}}, "in_corpus": {...}, "calibration": {...}, "config": {...}}``;
        also written to ``report_dir/speech_emotion_loco.json``.
    """
    cfg = config or SpeechHeadConfig()
    src = _source(cache_dir, encoder, encoder_id, progress)
    extra = [s for s in eval_only if (Path(data_dir) / s / "metadata.csv").is_file()]
    clips = load_clips(Path(data_dir), datasets=[*cfg.datasets, *extra])
    table = load_table(clips, src, n_aug=cfg.n_aug, aug_sets=cfg.aug_sets, seed=cfg.seed)
    report = loco_report(table, cfg, held_sets=[*cfg.datasets, *extra], in_corpus=in_corpus)
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speech_emotion_loco.json").write_text(json.dumps(_jsonable(report), indent=2))
    return report


def loco_report(
    table: FeatureTable,
    config: SpeechHeadConfig,
    *,
    held_sets: Sequence[str],
    in_corpus: bool = True,
) -> dict[str, Any]:
    """:func:`leave_one_corpus_out` on a feature table already read (see there)."""
    folds = loco_folds(table, config, held_sets=held_sets)
    trainable = [f for f in folds if f["dataset"] in config.datasets]
    scores, probas = score_folds(folds, calibrate_on=config.datasets, ood_max=config.ood_max)
    calibration = fit_calibration(trainable, ood_max=config.ood_max)
    modes = list(next(iter(scores.values())).keys()) if scores else []
    keys: tuple[str, ...] = ("uar", "uar7", "arousal_uar", "valence_uar", "ece", "ece_raw")
    keys += ("arousal_uar_labels", "valence_uar_labels")
    report: dict[str, Any] = {
        "loco": scores,
        "mean": {m: {k: mean_over(scores, config.datasets, m, k) for k in keys} for m in modes},
        "calibration": {k: np.asarray(v).tolist() for k, v in calibration.items()},
        "config": asdict(config),
        "_folds": folds,
        "_probas": probas,
        "_calibration": calibration,
    }
    if in_corpus:
        report["in_corpus"] = in_corpus_scores(table, config, calibration)
    return report


def _jsonable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if not k.startswith("_")}


def _source(
    cache_dir: Path | None,
    encoder: Encoder | None,
    encoder_id: str | None,
    progress: Progress | None,
) -> _Source:
    from moodtune.config import cache_dir as default_cache

    cache = Path(cache_dir) if cache_dir else default_cache() / "speech_features"
    if encoder is None:
        encoder, encoder_id = whisper_encoder()
    return _Source(cache, encoder, encoder_id or "custom", progress)


def train_speech_emotion(
    data_dir: Path,
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    config: SpeechHeadConfig | None = None,
    encoder: Encoder | None = None,
    encoder_id: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train the head; write ``speech_emotion_head.npz``, the LOCO report and predictions.

    1. Leave-one-corpus-out over ``config.datasets`` (plus the evaluation-only corpora
       present): the scores that chose every setting, and the held-out predictions.
    2. Calibration (prior, temperature, OOD thresholds) fitted on all training corpora's
       held-out predictions.
    3. The shipped head: fitted on every clip of the training corpora (all speakers),
       calibrated with step 2.

    Writes ``out_dir/speech_emotion_head.npz``, ``speech_emotion_report.json`` and
    ``speech_emotion_loco_predictions.npz`` (calibrated first-message probabilities of
    each held-out clip, with its path and label: the voice side of the fusion tuning).

    Parameters
    ----------
    data_dir : Path
        Folder holding ``<corpus>/metadata.csv``.
    out_dir : Path
        Where the outputs go.
    cache_dir : Path, optional
        Feature cache (default ``$MOODTUNE_HOME/cache/speech_features``).
    config : SpeechHeadConfig, optional
        Hyper-parameters.
    encoder, encoder_id : callable, str, optional
        ``encoder(y16k) -> (T, 512)`` states and its cache id; default: the product's
        Whisper encoder (:func:`whisper_encoder`). Tests pass a cheap stand-in.
    progress : callable, optional
        ``progress(name, done, total)`` for long feature extraction.

    Returns
    -------
    dict
        The LOCO report (see :func:`leave_one_corpus_out`) plus ``train_rows``.
    """
    cfg = config or SpeechHeadConfig()
    src = _source(cache_dir, encoder, encoder_id, progress)
    extra = [s for s in EVAL_ONLY_SETS if (Path(data_dir) / s / "metadata.csv").is_file()]
    clips = load_clips(Path(data_dir), datasets=[*cfg.datasets, *extra])
    table = load_table(clips, src, n_aug=cfg.n_aug, aug_sets=cfg.aug_sets, seed=cfg.seed)
    held = [*cfg.datasets, *extra] if len(cfg.datasets) > 1 else []
    report = loco_report(table, cfg, held_sets=held, in_corpus=bool(held))
    train = table.subset(_rows(table, cfg.datasets, cfg.n_aug))
    arrays = fit_head(train, cfg)
    if held:
        arrays = apply_calibration(arrays, report["_calibration"])
    arrays["meta_loco_uar_first"] = np.array(report["mean"].get("first", {}).get("uar", np.nan))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / HEAD_FILE, **arrays)  # type: ignore[arg-type]
    if report["_probas"]:
        names = [f["dataset"] for f in report["_folds"]]
        np.savez_compressed(
            out / "speech_emotion_loco_predictions.npz",
            probabilities=np.concatenate([report["_probas"][n] for n in names]),
            labels=np.concatenate([f["labels"] for f in report["_folds"]]),
            paths=np.concatenate([f["paths"] for f in report["_folds"]]).astype(str),
            datasets=np.concatenate(
                [np.full(len(f["labels"]), f["dataset"]) for f in report["_folds"]]
            ),
        )
    report["train_rows"] = len(train)
    (out / "speech_emotion_report.json").write_text(json.dumps(_jsonable(report), indent=2))
    return report


def evaluate_speech_emotion(
    data_dir: Path,
    model_path: Path | None,
    report_dir: Path,
    *,
    cache_dir: Path | None = None,
    encoder: Encoder | None = None,
    encoder_id: str | None = None,
    datasets: Sequence[str] = (*SPEECH_SETS, *EVAL_ONLY_SETS),
    history: Sequence[int] = HISTORY_MODES,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score a head on the speaker-independent test split of each corpus.

    The shipped head learned from every speaker of the training corpora, so its scores on
    their test speakers are not held out; only corpora it never saw (the Spanish set)
    are. Use :func:`leave_one_corpus_out` (``--loco``) for honest numbers.

    Returns
    -------
    dict
        ``{"datasets": {corpus: {mode: metrics}}}``; also written to
        ``report_dir/speech_emotion_eval.json``.
    """
    head = SpeechEmotionHead.load(model_path)
    src = _source(cache_dir, encoder, encoder_id, progress)
    present = [s for s in datasets if (Path(data_dir) / s / "metadata.csv").is_file()]
    clips = [c for c in load_clips(Path(data_dir), datasets=present) if c.split == "test"]
    table = load_table(clips, src, n_aug=0, aug_sets=())
    X = np.asarray(head.transform(table.pooled, table.prosody))
    report: dict[str, Any] = {"datasets": {}}
    for k in history:
        raw = head_raw(head, X, table.speakers, k=k)
        out = head.outputs(raw["z"], raw["distance"], history=k != 0)
        for name in np.unique(table.datasets):
            mask = table.datasets == name
            sub = {key: v[mask] for key, v in out.items()}
            report["datasets"].setdefault(str(name), {})[mode_name(k)] = emotion_metrics(
                table.labels[mask], sub
            )
    out_dir = Path(report_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "speech_emotion_eval.json").write_text(json.dumps(report, indent=2))
    return report


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> float:
    """ECE of the top-label confidence: mean |accuracy - confidence| over equal-width bins."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def refresh_known_answers(fixture_dir: Path, *, head_path: Path | None = None) -> Path:
    """Recompute ``known_answers.npz`` of the test fixtures after retraining the head.

    Reads the clip names and true labels already stored in
    ``fixture_dir/known_answers.npz``, runs each clip through the real pipeline (decode,
    :meth:`~moodtune.speech.whisper.WhisperASR.speech_states`, features) and stores the
    features and the head's probabilities.

    Raises
    ------
    ParameterError
        If the head no longer gets one of the fixture clips right (pick another clip).
    """
    from moodtune.audio.decode import load_audio
    from moodtune.speech.whisper import get_whisper

    target = Path(fixture_dir) / "known_answers.npz"
    with np.load(target, allow_pickle=False) as npz:
        files = [str(f) for f in npz["files"]]
        labels = [str(x) for x in npz["labels"]]
    head = SpeechEmotionHead.load(head_path)
    asr = get_whisper()
    feats, probs = [], []
    for name, label in zip(files, labels, strict=True):
        y = load_audio(Path(fixture_dir) / name)
        x = head.features(asr.speech_states(y), y)
        p = head.predict_features(x)[0]
        if LABELS[int(p.argmax())] != label:
            raise ParameterError(f"the head hears {name} as {LABELS[int(p.argmax())]}, not {label}")
        feats.append(x)
        probs.append(p)
    np.savez(
        target,
        files=np.array(files),
        features=np.array(feats),
        probabilities=np.array(probs),
        labels=np.array(labels),
    )
    return target
