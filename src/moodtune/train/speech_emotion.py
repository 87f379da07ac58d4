"""Train and evaluate the speech-emotion head (Whisper encoder states + prosody -> linear).

Recipe (reproduced by ``moodtune train speech-emotion --data DIR --out DIR``):

1. Read RAVDESS, TESS and EmoDB (:mod:`moodtune.train.speech_data`): seven labels, calm
   folded into neutral, EmoDB's boredom dropped; the corpora's speaker-independent splits.
2. Decode every clip at 16 kHz, run the Whisper-base encoder exactly as the product does
   (:meth:`moodtune.speech.whisper.WhisperASR.encode`), pool the states (mean + std) and
   add the prosody vector. Training clips also get ``n_aug`` augmented copies
   (:func:`moodtune.train.augment.random_augment`: speed, pitch, time shift, noise, Opus
   at 8-16 kbit/s). Features are cached on disk.
3. Fit two multinomial logistic regressions (scikit-learn): one on globally standardised
   features (clean + augmented rows), one on per-speaker z-scored features (clean rows,
   each normalised as a user with a short history would be: statistics of 5-40 or all
   other clips of the speaker plus the clip itself, three draws per clip). Samples are
   weighted so each corpus counts the same and labels are balanced inside each corpus.
4. Fit a softmax temperature for each on the validation speakers (RAVDESS, EmoDB).
5. Export plain arrays (no pickle) to ``speech_emotion_head.npz`` and evaluate.
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
from moodtune.speech.emotion import HEAD_FILE, STATE_DIM, SpeakerStats, SpeechEmotionHead
from moodtune.speech.prosody import PROSODY_DIM
from moodtune.train.augment import add_noise, opus_roundtrip
from moodtune.train.speech_data import (
    SPEECH_SETS,
    SR,
    Encoder,
    Progress,
    SpeechClip,
    clip_features,
    load_clips,
)
from moodtune.types import LABELS

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
    speakers, datasets, variants : np.ndarray
        Shape (n,), strings: ``dataset:speaker``, corpus, ``orig``/``augK``.
    """

    pooled: np.ndarray
    prosody: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    datasets: np.ndarray
    variants: np.ndarray

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
        )

    def matrix(self, *, use_prosody: bool) -> np.ndarray:
        """Feature matrix, shape (n, 1024 [+ P])."""
        if use_prosody:
            return np.concatenate([self.pooled, self.prosody], axis=1)
        return self.pooled


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
                aug=f"{variant}-s{seed}" if variant.startswith("aug") else variant,
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
    )


@dataclass
class SpeechHeadConfig:
    """Hyper-parameters of the speech head (chosen on the validation speakers)."""

    C: float = 0.01
    use_prosody: bool = True
    n_aug: int = 1
    aug_weight: float = 0.5
    speaker_aug: bool = False
    shrink: float = 2.0
    min_speaker_count: int = 5
    history_sizes: tuple[int, ...] = (5, 10, 20, 40, 0)
    history_draws: int = 3
    seed: int = 0
    chunk_iter: int = 10
    n_chunks: int = 30
    datasets: tuple[str, ...] = SPEECH_SETS


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


def speaker_normalise(
    X: np.ndarray,
    speakers: np.ndarray,
    *,
    global_mean: np.ndarray,
    global_var: np.ndarray,
    shrink: float,
) -> np.ndarray:
    """Z-score each row with the statistics of all rows of its speaker.

    Parameters
    ----------
    X : np.ndarray
        Shape (n, d).
    speakers : np.ndarray
        Shape (n,), speaker keys.
    global_mean, global_var : np.ndarray
        Shape (d,), the training set's statistics (the shrinkage target).
    shrink : float
        Pseudo-count of the global statistics (see :meth:`SpeakerStats.normalise`).
    """
    Z = np.empty_like(X, dtype=np.float64)
    for spk in np.unique(speakers):
        mask = speakers == spk
        stats = SpeakerStats()
        stats.update(X[mask])
        Z[mask] = stats.normalise(
            X[mask], global_mean=global_mean, global_var=global_var, shrink=shrink
        )
    return Z


def history_normalise(
    X: np.ndarray,
    speakers: np.ndarray,
    *,
    global_mean: np.ndarray,
    global_var: np.ndarray,
    shrink: float,
    sizes: Sequence[int],
    draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Z-score each row as a user with a short history would be: k other clips plus itself.

    For each of ``draws`` passes over the rows, ``k`` is drawn from ``sizes`` (0 means
    all the speaker's other clips) and the statistics come from ``k`` random other rows
    of the same speaker plus the row itself, as the service updates a user's statistics
    with the message before reading it.

    Returns
    -------
    Z : np.ndarray
        Shape (draws * n, d), normalised rows.
    idx : np.ndarray
        Shape (draws * n,), the row of ``X`` each line of ``Z`` came from.
    """
    rows, idx = [], []
    by_speaker = {spk: np.flatnonzero(speakers == spk) for spk in np.unique(speakers)}
    for _ in range(draws):
        for i in range(len(X)):
            others = by_speaker[speakers[i]]
            others = others[others != i]
            k = int(rng.choice(np.asarray(sizes)))
            k = len(others) if k <= 0 else min(k, len(others))
            stats = SpeakerStats()
            if k:
                stats.update(X[rng.choice(others, size=k, replace=False)])
            stats.update(X[i])
            rows.append(
                stats.normalise(X[i], global_mean=global_mean, global_var=global_var, shrink=shrink)
            )
            idx.append(i)
    return np.asarray(rows).reshape(len(idx), X.shape[1]), np.asarray(idx, dtype=np.int64)


def _weighted_nll(proba: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
    return float(np.sum(-np.log(p) * w) / np.sum(w))


def fit_linear(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    X_val: np.ndarray,
    y_val: np.ndarray,
    C: float,
    chunk_iter: int,
    n_chunks: int,
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Fit a standardised multinomial logistic regression and a softmax temperature.

    L-BFGS runs in chunks of ``chunk_iter`` iterations (warm start) so that the training
    loss and the validation UAR can be plotted as curves; it stops once the loss no
    longer moves.

    Returns
    -------
    arrays : dict
        ``mean``, ``scale`` (d,), ``W`` (d, 7), ``b`` (7,), ``temperature`` ().
    curves : dict
        ``{"training loss": [...], "validation UAR": [...]}`` per chunk.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from moodtune.speech.emotion import LinearSoftmax
    from moodtune.train.reports import classification_metrics, fit_temperature

    if sorted(set(int(v) for v in y)) != list(range(len(LABELS))):
        raise ValueError(f"training data lacks some labels: {sorted(set(int(v) for v in y))}")
    mean = X.mean(axis=0)
    scale = X.std(axis=0) + 1e-6
    Xs = (X - mean) / scale
    Xv = (X_val - mean) / scale
    clf = LogisticRegression(C=C, max_iter=chunk_iter, warm_start=True, random_state=seed)
    curves: dict[str, list[float]] = {"training loss": [], "validation UAR": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(n_chunks):
            clf.fit(Xs, y, sample_weight=w)
            curves["training loss"].append(_weighted_nll(clf.predict_proba(Xs), y, w))
            pred = clf.predict(Xv)
            curves["validation UAR"].append(classification_metrics(y_val, pred)["uar"])
            losses = curves["training loss"]
            if len(losses) > 3 and abs(losses[-2] - losses[-1]) < 1e-5:
                break
    W = clf.coef_.T.astype(np.float64)
    b = clf.intercept_.astype(np.float64)
    head = LinearSoftmax(mean=mean, scale=scale, W=W, b=b, temperature=1.0)
    temperature = fit_temperature(head.logits(X_val), y_val)
    arrays = {
        "mean": mean,
        "scale": scale,
        "W": W,
        "b": b,
        "temperature": np.array(temperature, dtype=np.float64),
    }
    return arrays, curves


@dataclass
class _Source:
    """Where features come from: cache folder, encoder and its id, progress callback."""

    cache_dir: Path
    encoder: Encoder
    encoder_id: str
    progress: Progress | None = None


def _tables(
    clips: Sequence[SpeechClip],
    src: _Source,
    *,
    splits: Sequence[str],
    n_aug: int,
    seed: int,
) -> FeatureTable:
    parts = []
    for split in splits:
        sub = [c for c in clips if c.split == split]
        if sub:
            parts.append(
                extract_features(
                    sub,
                    cache_dir=src.cache_dir,
                    encoder=src.encoder,
                    encoder_id=src.encoder_id,
                    n_aug=n_aug if split == "train" else 0,
                    seed=seed,
                    progress=src.progress,
                    name=f"{split} clips",
                )
            )
    if not parts:
        raise ParameterError(f"no clips in the splits {list(splits)}")
    return concat_tables(parts)


def concat_tables(parts: Sequence[FeatureTable]) -> FeatureTable:
    """Stack feature tables row-wise."""
    return FeatureTable(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in FeatureTable.__dataclass_fields__)
    )


def fit_head(
    train: FeatureTable, val: FeatureTable, config: SpeechHeadConfig
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, list[float]]]]:
    """Fit the global and the speaker classifier; return the weights file's arrays and curves.

    The global classifier learns from the clean and the augmented rows (augmented rows
    weigh ``config.aug_weight`` each). The speaker classifier learns from the clean rows
    only unless ``config.speaker_aug``: per-user normalisation already removes a user's
    steady channel, and on the validation speakers augmentation hurt it (model card).
    Its rows are normalised with :func:`history_normalise`, so it learns to read users
    with short histories (validation UAR with 10 earlier messages: RAVDESS 0.780 vs 0.735
    when trained on whole-speaker statistics).
    """
    X = train.matrix(use_prosody=config.use_prosody)
    Xv = val.matrix(use_prosody=config.use_prosody)
    is_aug = train.variants != "orig"
    w = sample_weights(train) * np.where(is_aug, config.aug_weight, 1.0)
    fit = partial(
        fit_linear,
        C=config.C,
        chunk_iter=config.chunk_iter,
        n_chunks=config.n_chunks,
        seed=config.seed,
    )
    g, g_curves = fit(X, train.labels, w, X_val=Xv, y_val=val.labels)
    spk_rows = train if config.speaker_aug else train.subset(~is_aug)
    Xs = spk_rows.matrix(use_prosody=config.use_prosody)
    f_mean, f_var = Xs.mean(axis=0), Xs.var(axis=0)
    norm = {"global_mean": f_mean, "global_var": f_var, "shrink": config.shrink}
    # Augmented rows form their own pseudo-speakers: a user's channel is steady.
    groups = np.char.add(
        spk_rows.speakers.astype(str), np.where(spk_rows.variants != "orig", "|aug", "")
    )
    rng = np.random.default_rng(config.seed)
    Z, idx = history_normalise(
        Xs, groups, sizes=config.history_sizes, draws=config.history_draws, rng=rng, **norm
    )
    Zv, idx_v = history_normalise(
        Xv, val.speakers, sizes=config.history_sizes, draws=1, rng=rng, **norm
    )
    ws = sample_weights(spk_rows) * np.where(spk_rows.variants != "orig", config.aug_weight, 1.0)
    s, s_curves = fit(Z, spk_rows.labels[idx], ws[idx], X_val=Zv, y_val=val.labels[idx_v])
    arrays: dict[str, np.ndarray] = {
        "labels": np.array(LABELS),
        "use_prosody": np.array(config.use_prosody),
        "shrink": np.array(config.shrink, dtype=np.float64),
        "min_speaker_count": np.array(config.min_speaker_count),
        "feature_mean": f_mean,
        "feature_var": f_var,
        "meta_train_sets": np.array(sorted(set(train.datasets.tolist()))),
        "meta_n_train": np.array(len(train)),
        "meta_C": np.array(config.C, dtype=np.float64),
    }
    arrays |= {f"g_{k}": v for k, v in g.items()}
    arrays |= {f"s_{k}": v for k, v in s.items()}
    return arrays, {"global": g_curves, "speaker": s_curves}


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
    """Train the head; write ``out_dir/speech_emotion_head.npz``, plots and a JSON report.

    Parameters
    ----------
    data_dir : Path
        Folder holding ``<corpus>/metadata.csv`` for RAVDESS, TESS and EmoDB.
    out_dir : Path
        Where the weights, ``speech_emotion_report.json`` and the PNGs go.
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
        The evaluation report (see :func:`evaluate_speech_emotion`) plus the config.
    """
    from moodtune.config import cache_dir as default_cache
    from moodtune.train.reports import plot_curves

    cfg = config or SpeechHeadConfig()
    cache = Path(cache_dir) if cache_dir else default_cache() / "speech_features"
    if encoder is None:
        encoder, encoder_id = whisper_encoder()
    eid = encoder_id or "custom"
    clips = load_clips(Path(data_dir), datasets=cfg.datasets)
    src = _Source(cache, encoder, eid, progress)
    t0 = time.time()
    train = _tables(clips, src, splits=["train"], n_aug=cfg.n_aug, seed=cfg.seed)
    val = _tables(clips, src, splits=["validation"], n_aug=0, seed=cfg.seed)
    log.info(
        "features ready in %.1f s (%d train rows, %d validation rows)",
        time.time() - t0,
        len(train),
        len(val),
    )
    arrays, curves = fit_head(train, val, cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / HEAD_FILE
    np.savez_compressed(weights, **arrays)  # type: ignore[arg-type]
    plot_curves(
        {f"{mode}: {name}": ys for mode, c in curves.items() for name, ys in c.items()},
        out / "speech_emotion_training.png",
        title=f"speech emotion head (x: L-BFGS chunks of {cfg.chunk_iter} iterations)",
    )
    report = evaluate_speech_emotion(
        data_dir,
        weights,
        out,
        cache_dir=cache,
        encoder=encoder,
        encoder_id=eid,
        datasets=cfg.datasets,
        progress=progress,
    )
    report["config"] = asdict(cfg) | {
        "temperature_global": float(arrays["g_temperature"]),
        "temperature_speaker": float(arrays["s_temperature"]),
        "train_rows": len(train),
        "validation_rows": len(val),
    }
    report["curves"] = curves
    (out / "speech_emotion_report.json").write_text(json.dumps(report, indent=2))
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


def _history_proba(
    head: SpeechEmotionHead, X: np.ndarray, speakers: np.ndarray, *, k: int, seed: int
) -> np.ndarray:
    """Probabilities for a user with ``k`` earlier messages (random other clips) plus this one."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(X), len(LABELS)))
    for i in range(len(X)):
        others = np.flatnonzero((speakers == speakers[i]) & (np.arange(len(X)) != i))
        pick = rng.choice(others, size=min(k, len(others)), replace=False)
        stats = SpeakerStats()
        stats.update(X[pick])
        stats.update(X[i])
        out[i] = head.predict_features(X[i], speaker_stats=stats)[0]
    return out


def score_table(
    head: SpeechEmotionHead,
    table: FeatureTable,
    *,
    history: Sequence[int] = (5, 10, 20),
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of ``head`` on ``table`` per corpus and per mode.

    Modes: ``global`` (no speaker statistics); ``speaker_all`` (each speaker normalised
    with the statistics of all of their clips in ``table``, the clip itself included: an
    upper bound); ``speaker_history_k`` (statistics of ``k`` other random clips of the
    same speaker plus the clip itself, as a user with ``k`` earlier messages whose statistics
    the service updates with the message before reading it).

    Returns
    -------
    dict
        ``{"datasets": {corpus: {mode: {"n", "accuracy", "uar", "macro_f1", ...}}},
        "predictions": {mode: (n,) int array}}``; ``global`` also has ``ece``.
    """
    from moodtune.train.reports import classification_metrics

    X = table.matrix(use_prosody=head.use_prosody)
    probas: dict[str, np.ndarray] = {"global": head.global_clf.predict_proba(X)}
    Z = speaker_normalise(
        X,
        table.speakers,
        global_mean=head.feature_mean,
        global_var=head.feature_var,
        shrink=head.shrink,
    )
    probas["speaker_all"] = head.speaker_clf.predict_proba(Z)
    for k in history:
        if k >= head.min_speaker_count:
            probas[f"speaker_history_{k}"] = _history_proba(head, X, table.speakers, k=k, seed=seed)
    report: dict[str, Any] = {"datasets": {}, "predictions": {}}
    for mode, proba in probas.items():
        pred = proba.argmax(axis=1)
        report["predictions"][mode] = pred
        for name in np.unique(table.datasets):
            mask = table.datasets == name
            metrics: dict[str, Any] = classification_metrics(table.labels[mask], pred[mask])
            metrics["ece"] = expected_calibration_error(proba[mask], table.labels[mask])
            report["datasets"].setdefault(str(name), {})[mode] = metrics
    return report


def evaluate_speech_emotion(
    data_dir: Path,
    model_path: Path | None,
    report_dir: Path,
    *,
    cache_dir: Path | None = None,
    encoder: Encoder | None = None,
    encoder_id: str | None = None,
    datasets: Sequence[str] = SPEECH_SETS,
    history: Sequence[int] = (5, 10, 20),
    conditions: Sequence[str] = tuple(CONDITIONS),
    condition_sets: Sequence[str] = ("ravdess", "emodb"),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score a head on the speaker-independent test split of each corpus; write PNGs.

    Parameters
    ----------
    data_dir : Path
        Folder holding ``<corpus>/metadata.csv``.
    model_path : Path or None
        Weights file (``None``: the shipped head).
    report_dir : Path
        Where ``speech_emotion_confusion*.png`` go.
    cache_dir, encoder, encoder_id, progress
        As in :func:`train_speech_emotion`.
    datasets : sequence of str
        Corpora to score.
    history : sequence of int
        Sizes of simulated user histories for the speaker-normalised mode.
    conditions : sequence of str
        Keys of :data:`CONDITIONS`: the test clips of ``condition_sets`` are scored again
        after that degradation (voice-note codec, noise).
    condition_sets : sequence of str
        Corpora scored under ``conditions`` (TESS is left out to save encoder time).

    Returns
    -------
    dict
        ``{"datasets": {corpus: {mode: metrics}}, "conditions": {condition: {corpus:
        {mode: metrics}}}, "confusion_png": [...]}`` (see :func:`score_table` for the
        modes); also written to ``report_dir/speech_emotion_eval.json``.
    """
    from moodtune.config import cache_dir as default_cache
    from moodtune.train.reports import plot_confusion

    head = SpeechEmotionHead.load(model_path)
    cache = Path(cache_dir) if cache_dir else default_cache() / "speech_features"
    if encoder is None:
        encoder, encoder_id = whisper_encoder()
    clips = load_clips(Path(data_dir), datasets=datasets)
    src = _Source(cache, encoder, encoder_id or "custom", progress)
    test = _tables(clips, src, splits=["test"], n_aug=0, seed=0)
    scored = score_table(head, test, history=history)
    out = Path(report_dir)
    pngs = []
    for mode in ("global", "speaker_all"):
        pred = scored["predictions"][mode]
        pngs.append(
            plot_confusion(
                test.labels,
                pred,
                out / f"speech_emotion_confusion_{mode}.png",
                title=f"speech emotion, test splits of {', '.join(datasets)} ({mode})",
            )
        )
        for name in datasets:
            mask = test.datasets == name
            if mask.any():
                pngs.append(
                    plot_confusion(
                        test.labels[mask],
                        pred[mask],
                        out / f"speech_emotion_confusion_{mode}_{name}.png",
                        title=f"speech emotion, {name} test ({mode})",
                    )
                )
    degraded: dict[str, Any] = {}
    chosen = [c for c in clips if c.split == "test" and c.dataset in condition_sets]
    for cond in conditions if chosen else ():
        if cond not in CONDITIONS:
            raise ParameterError(f"condition {cond!r} is unknown; use one of {list(CONDITIONS)}")
        table = extract_features(
            chosen,
            cache_dir=cache,
            encoder=encoder,
            encoder_id=src.encoder_id,
            condition=cond,
            progress=progress,
            name=f"test clips ({cond})",
        )
        degraded[cond] = score_table(head, table, history=history)["datasets"]
    report = {
        "datasets": scored["datasets"],
        "conditions": degraded,
        "confusion_png": [str(p) for p in pngs],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "speech_emotion_eval.json").write_text(json.dumps(report, indent=2))
    return report


def leave_one_corpus_out(
    data_dir: Path,
    report_dir: Path,
    *,
    cache_dir: Path | None = None,
    config: SpeechHeadConfig | None = None,
    encoder: Encoder | None = None,
    encoder_id: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train on two corpora (their train and validation speakers), test on the third.

    The held-out corpus is scored on its test split (the same speakers as the in-corpus
    numbers) and on all its clips. Temperatures come from the training corpora's
    validation speakers; the speaker classifier is scored with ``speaker_all``.

    Returns
    -------
    dict
        ``{held_out: {"test": {mode: metrics}, "all": {mode: metrics}}}``; also written to
        ``report_dir/speech_emotion_cross_corpus.json``.
    """
    from moodtune.config import cache_dir as default_cache

    cfg = config or SpeechHeadConfig()
    cache = Path(cache_dir) if cache_dir else default_cache() / "speech_features"
    if encoder is None:
        encoder, encoder_id = whisper_encoder()
    src = _Source(cache, encoder, encoder_id or "custom", progress)
    clips = load_clips(Path(data_dir), datasets=cfg.datasets)
    result: dict[str, Any] = {}
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    for held in cfg.datasets:
        seen = [c for c in clips if c.dataset != held]
        train = _tables(seen, src, splits=["train"], n_aug=cfg.n_aug, seed=cfg.seed)
        val = _tables(seen, src, splits=["validation"], n_aug=0, seed=cfg.seed)
        arrays, _ = fit_head(train, val, cfg)
        head = SpeechEmotionHead(arrays)
        other = [c for c in clips if c.dataset == held]
        entry = {}
        for name, splits in (("test", ["test"]), ("all", ["train", "validation", "test"])):
            table = _tables(other, src, splits=splits, n_aug=0, seed=cfg.seed)
            scored = score_table(head, table, history=())
            entry[name] = scored["datasets"][held]
        result[held] = entry
        log.info("held out %s: %s", held, entry["test"])
    (out / "speech_emotion_cross_corpus.json").write_text(json.dumps(result, indent=2))
    return result


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
