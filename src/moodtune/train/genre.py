"""Train and evaluate the genre classifier of :mod:`moodtune.music.genre`.

Recipe (``moodtune train genre --data DIR --out DIR``):

1. Read the TidyTuesday 2020-01-21 ``spotify_songs`` data: moodtune's layout
   ``tracks.csv.gz`` + ``playlist_tracks.csv.gz``, or the original single table
   ``spotify_songs.csv`` (one row per playlist membership). A track's label is the genre of
   most of the playlists it sits in (each (playlist, genre) pair counts once); tracks whose
   playlists tie between genres are dropped.
2. Split by artist (:func:`artist_split`): every artist's tracks are in exactly one of
   train / validation / test (about 70 / 15 / 15 %, stratified by genre), so the test score is
   not inflated by an artist's sound being learned from their other songs.
3. Fit multinomial logistic regression, two MLPs and a HistGradientBoosting reference on the
   training part, pick the best numpy-runnable one (logistic regression or MLP) by validation
   macro-F1, refit it on train + validation and save its weights (standardisation inside) as
   ``genre_model.npz`` + ``genre_model.json``.

Evaluation (``moodtune evaluate genre --data DIR``) scores a model on the test artists only:
accuracy, macro-F1, per-genre F1 and the confusion matrix, beside a majority-class baseline.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import ParameterError, missing_extra
from moodtune.music.genre import GENRE_FEATURES, GENRES, GenreModel, default_genre_model

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: Share of the artists' tracks in the test and the validation part.
TEST_SIZE = 0.15
VAL_SIZE = 0.15
#: Folds of the stratified group split (test and validation take whole folds).
N_FOLDS = 20
#: Candidate models compared on validation; ``hidden`` empty = logistic regression.
CANDIDATES: dict[str, dict[str, Any]] = {
    "logreg": {"kind": "numpy", "hidden": ()},
    "mlp-64": {"kind": "numpy", "hidden": (64,), "alpha": 1e-3},
    "mlp-64x32": {"kind": "numpy", "hidden": (64, 32), "alpha": 1e-3},
    "mlp-128-ens5": {"kind": "numpy", "hidden": (128,), "alpha": 1e-2, "n_seeds": 5},
    "hist-gbdt": {"kind": "reference"},
}


@dataclass
class GenreData:
    """Labelled tracks.

    Attributes
    ----------
    x : np.ndarray, shape (n, len(GENRE_FEATURES)), float64
        Features in :data:`moodtune.music.genre.GENRE_FEATURES` order (NaN = missing).
    y : np.ndarray, shape (n,), int64
        Index into :data:`moodtune.music.genre.GENRES`.
    artists : np.ndarray, shape (n,), object
        Artist name per track (``"?<track id>"`` when the artist is unknown).
    track_ids : np.ndarray, shape (n,), object
    stats : dict
        Counts from the labelling: tracks seen, tracks in playlists of several genres,
        ties dropped, tracks per genre.
    """

    x: np.ndarray
    y: np.ndarray
    artists: np.ndarray
    track_ids: np.ndarray
    stats: dict[str, Any]

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, index: np.ndarray) -> GenreData:
        """The rows at ``index`` (the stats are kept as they are)."""
        return GenreData(
            self.x[index], self.y[index], self.artists[index], self.track_ids[index], self.stats
        )


def _open_csv(path: Path) -> Iterator[dict[str, str]]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8-sig")
    yield from csv.DictReader(io.StringIO(text, newline=""))


def _find(root: Path, stem: str) -> Path | None:
    for name in (f"{stem}.csv.gz", f"{stem}.csv"):
        if (root / name).is_file():
            return root / name
    return None


def _float(value: str | None) -> float:
    try:
        x = float(value) if value not in (None, "") else math.nan
    except ValueError:
        return math.nan
    return x if math.isfinite(x) else math.nan


def load_genre_data(path: Path | str) -> GenreData:
    """Read labelled tracks from a TidyTuesday ``spotify_songs`` folder or file.

    Parameters
    ----------
    path : path
        A folder holding ``tracks.csv[.gz]`` + ``playlist_tracks.csv[.gz]`` (moodtune's
        layout) or ``spotify_songs.csv[.gz]`` (the original), or that original file itself.

    Returns
    -------
    GenreData
        One row per track with a majority playlist genre, sorted by track id. Tracks whose
        playlists tie between genres are dropped and counted in ``stats["ties_dropped"]``.

    Raises
    ------
    ParameterError
        The path is missing, in neither layout, or holds no labelled track.
    """
    root = Path(path)
    features: dict[str, tuple[list[float], str]] = {}
    memberships: set[tuple[str, str, str]] = set()
    combined = root if root.is_file() else (_find(root, "spotify_songs") if root.is_dir() else None)
    tracks_file = _find(root, "tracks") if root.is_dir() else None
    playlists_file = _find(root, "playlist_tracks") if root.is_dir() else None
    if not root.exists():
        raise ParameterError(
            f"--data {root}: no such file or folder; give the tidytuesday_spotify_songs folder"
        )
    try:
        if tracks_file is not None and playlists_file is not None:
            rows = _open_csv(tracks_file)
            member_rows: Iterator[dict[str, str]] = _open_csv(playlists_file)
        elif combined is not None:
            rows = _open_csv(combined)
            member_rows = _open_csv(combined)
        else:
            raise ParameterError(
                f"--data {root}: expected tracks.csv.gz + playlist_tracks.csv.gz or "
                "spotify_songs.csv (TidyTuesday 2020-01-21 layout)"
            )
        for r in rows:
            tid = (r.get("track_id") or "").strip()
            if tid and tid not in features:
                artist = (r.get("track_artist") or "").strip() or f"?{tid}"
                features[tid] = ([_float(r.get(c)) for c in GENRE_FEATURES], artist)
        for r in member_rows:
            tid = (r.get("track_id") or "").strip()
            genre = (r.get("playlist_genre") or "").strip().lower()
            if tid and genre in GENRES:
                memberships.add((r.get("playlist_id") or "", tid, genre))
    except (OSError, UnicodeDecodeError, csv.Error, EOFError, gzip.BadGzipFile) as exc:
        raise ParameterError(f"--data {root}: cannot read the tables: {exc}") from exc
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for _playlist, tid, genre in memberships:
        votes[tid][genre] += 1
    ids, labels, ties, several = [], [], 0, 0
    for tid in sorted(votes):
        if tid not in features:
            continue
        ranked = votes[tid].most_common()
        several += len(ranked) > 1
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            ties += 1
            continue
        ids.append(tid)
        labels.append(GENRES.index(ranked[0][0]))
    if not ids:
        raise ParameterError(f"--data {root}: no track with a playlist genre in {GENRES}")
    x = np.array([features[t][0] for t in ids], dtype=np.float64)
    y = np.array(labels, dtype=np.int64)
    stats = {
        "tracks_with_genre": len(ids) + ties,
        "several_genres": several,
        "majority_resolved": several - ties,
        "ties_dropped": ties,
        "labelled": len(ids),
        "per_genre": {g: int((y == i).sum()) for i, g in enumerate(GENRES)},
    }
    return GenreData(
        x=x,
        y=y,
        artists=np.array([features[t][1] for t in ids], dtype=object),
        track_ids=np.array(ids, dtype=object),
        stats=stats,
    )


def artist_split(
    artists: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    test_size: float = TEST_SIZE,
    val_size: float = VAL_SIZE,
) -> dict[str, np.ndarray]:
    """Split rows into train / val / test with every artist in exactly one part.

    A :class:`sklearn.model_selection.StratifiedGroupKFold` with :data:`N_FOLDS` shuffled
    folds (``seed``) gives each artist a fold; the first ``round(test_size * N_FOLDS)`` folds
    are the test part, the next ``round(val_size * N_FOLDS)`` validation, the rest training.
    The assignment depends on the artists and their label counts, not on the row order.

    Parameters
    ----------
    artists : np.ndarray, shape (n,)
        Group key per row.
    labels : np.ndarray, shape (n,)
        Class per row (for stratification).

    Returns
    -------
    dict
        ``{"train", "val", "test"}`` -> sorted row indices (int64).

    Raises
    ------
    ParameterError
        Fewer than :data:`N_FOLDS` distinct artists, or shapes that differ.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    artists = np.asarray(artists, dtype=object).astype(str)
    labels = np.asarray(labels)
    if artists.shape != labels.shape or artists.ndim != 1:
        raise ParameterError(
            f"artists {artists.shape} and labels {labels.shape} must be 1-D of one length"
        )
    n_groups = np.unique(artists).size
    if n_groups < N_FOLDS:
        raise ParameterError(
            f"an artist-disjoint split needs at least {N_FOLDS} artists, got {n_groups}"
        )
    n_test = max(1, round(test_size * N_FOLDS))
    n_val = max(1, round(val_size * N_FOLDS))
    fold = np.empty(labels.shape[0], dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    for k, (_, idx) in enumerate(splitter.split(np.zeros(labels.shape[0]), labels, artists)):
        fold[idx] = k
    return {
        "train": np.flatnonzero(fold >= n_test + n_val),
        "val": np.flatnonzero((fold >= n_test) & (fold < n_test + n_val)),
        "test": np.flatnonzero(fold < n_test),
    }


def _impute_standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training medians, means and scales of the imputed features."""
    median = np.nanmedian(x, axis=0)
    median = np.where(np.isfinite(median), median, 0.0)
    filled = np.where(np.isfinite(x), x, median)
    mean = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return median, mean, scale


def fit_numpy_model(
    x: np.ndarray,
    y: np.ndarray,
    *,
    hidden: tuple[int, ...] = (64, 32),
    alpha: float = 1e-3,
    seed: int = 0,
    n_seeds: int = 1,
    model_id: str | None = None,
) -> GenreModel:
    """Fit logistic regression (``hidden=()``) or an MLP and export it as a :class:`GenreModel`.

    With ``n_seeds > 1`` the MLP is fitted from seeds ``seed .. seed + n_seeds - 1`` and the
    networks are merged into one wider network (hidden layers side by side, block-diagonal
    in between) whose logits are the mean of theirs: an ensemble :class:`GenreModel` runs as is.

    Parameters
    ----------
    x : np.ndarray, shape (n, len(GENRE_FEATURES))
        Features (NaN = missing, imputed with the training medians).
    y : np.ndarray, shape (n,)
        Genre indices.
    hidden : tuple of int
        Hidden layer widths (ReLU); empty for multinomial logistic regression.
    alpha : float
        L2 penalty of the MLP.
    seed : int
        Random state of the MLP's initialisation and early-stopping split.
    n_seeds : int
        Networks in the ensemble (MLP only).
    model_id : str, optional
        Defaults to ``genre-logreg/1`` or ``genre-mlp/1``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    median, mean, scale = _impute_standardise(x)
    z = (np.where(np.isfinite(x), x, median) - mean) / scale
    present = np.unique(y)
    if hidden:
        nets = []
        for k in range(max(1, n_seeds)):
            clf: Any = MLPClassifier(
                hidden_layer_sizes=hidden,
                alpha=alpha,
                early_stopping=True,
                validation_fraction=0.1,
                n_iter_no_change=20,
                max_iter=500,
                random_state=seed + k,
            )
            clf.fit(z, y)
            ws = [np.asarray(w, dtype=np.float64) for w in clf.coefs_]
            bs = [np.asarray(b, dtype=np.float64) for b in clf.intercepts_]
            if len(present) == 2:  # sklearn uses one logistic output for two classes
                ws[-1] = np.hstack([-ws[-1] / 2, ws[-1] / 2])
                bs[-1] = np.concatenate([-bs[-1] / 2, bs[-1] / 2])
            nets.append((ws, bs))
        weights, biases = _merge_networks(nets)
    else:
        clf = LogisticRegression(C=1.0, max_iter=2000)
        clf.fit(z, y)
        if len(present) == 2:
            weights = [np.hstack([-clf.coef_.T / 2, clf.coef_.T / 2])]
            biases = [np.concatenate([-clf.intercept_ / 2, clf.intercept_ / 2])]
        else:
            weights = [np.asarray(clf.coef_.T, dtype=np.float64)]
            biases = [np.asarray(clf.intercept_, dtype=np.float64)]
    # map the fitted classes onto all of GENRES (absent genres get probability ~0)
    w_last, b_last = weights[-1], biases[-1]
    full_w = np.zeros((w_last.shape[0], len(GENRES)))
    full_b = np.full(len(GENRES), -30.0)
    full_w[:, present] = w_last
    full_b[present] = b_last
    weights[-1], biases[-1] = full_w, full_b
    name = model_id or ("genre-mlp/1" if hidden else "genre-logreg/1")
    return GenreModel(
        median=median,
        mean=mean,
        scale=scale,
        weights=tuple(weights),
        biases=tuple(biases),
        model_id=name,
    )


def _merge_networks(
    nets: list[tuple[list[np.ndarray], list[np.ndarray]]],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One network whose logits are the mean of the logits of ``nets`` (same architecture)."""
    from scipy.linalg import block_diag

    if len(nets) == 1:
        return nets[0]
    n_layers = len(nets[0][0])
    weights, biases = [], []
    for i in range(n_layers):
        ws = [net[0][i] for net in nets]
        bs = [net[1][i] for net in nets]
        if i == n_layers - 1:
            weights.append(np.vstack(ws) / len(nets))
            biases.append(np.mean(bs, axis=0))
        else:
            weights.append(np.hstack(ws) if i == 0 else block_diag(*ws))
            biases.append(np.concatenate(bs))
    return weights, biases


def _metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = list(range(len(GENRES)))
    per = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    present = sorted({int(v) for v in y_true})
    return {
        "n": int(y_true.shape[0]),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "per_genre_f1": {g: float(per[i]) for i, g in enumerate(GENRES)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def _fit_reference(x: np.ndarray, y: np.ndarray, *, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=seed)
    clf.fit(x, y)  # handles NaN itself
    return clf


def _spec_args(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in ("hidden", "alpha", "n_seeds") if k in spec}


def train_genre(
    data: Path | str,
    out: Path | str,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Compare candidate models on the artist-disjoint validation part and ship the best.

    Parameters
    ----------
    data : path
        The TidyTuesday spotify_songs folder (see :func:`load_genre_data`).
    out : path
        Folder for ``genre_model.npz`` + ``genre_model.json`` (the model and its card) and
        ``genre_train_report.json`` / ``genre_train_report.md``.
    seed : int
        Seed of the split and the models.
    progress : callable, optional
        ``progress(name, done, total)`` after each candidate.

    Returns
    -------
    dict
        ``candidates`` (validation and test scores of each candidate fitted on the training
        part), ``chosen``, ``split`` sizes, labelling ``stats``, ``model`` (the saved path),
        ``table`` (Markdown).
    """
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    ds = load_genre_data(data)
    parts = artist_split(ds.artists, ds.y, seed=seed)
    tr, va, te = (ds.take(parts[k]) for k in ("train", "val", "test"))
    majority = int(np.bincount(tr.y, minlength=len(GENRES)).argmax())
    results: dict[str, dict[str, Any]] = {
        "majority": {
            "kind": "baseline",
            "val": _metrics(va.y, np.full(len(va), majority)),
            "test": _metrics(te.y, np.full(len(te), majority)),
        }
    }
    fitted: dict[str, GenreModel] = {}
    with threadpool_limits(2):
        for i, (name, spec) in enumerate(CANDIDATES.items()):
            t1 = time.perf_counter()
            if spec["kind"] == "numpy":
                model = fit_numpy_model(tr.x, tr.y, seed=seed, **_spec_args(spec))
                fitted[name] = model
                pv = model.predict_proba(va.x).argmax(axis=1)
                pt = model.predict_proba(te.x).argmax(axis=1)
            else:
                ref = _fit_reference(tr.x, tr.y, seed=seed)
                pv, pt = ref.predict(va.x), ref.predict(te.x)
            results[name] = {
                "kind": spec["kind"],
                "val": _metrics(va.y, pv),
                "test": _metrics(te.y, pt),
                "fit_s": round(time.perf_counter() - t1, 1),
            }
            log.info("%s: val macro-F1 %.3f", name, results[name]["val"]["macro_f1"])
            if progress:
                progress(name, i + 1, len(CANDIDATES))
        chosen = max(fitted, key=lambda k: results[k]["val"]["macro_f1"])
        spec = CANDIDATES[chosen]
        both = np.concatenate([parts["train"], parts["val"]])
        trva = ds.take(np.sort(both))
        final = fit_numpy_model(trva.x, trva.y, seed=seed, **_spec_args(spec))
    final_test = _metrics(te.y, final.predict_proba(te.x).argmax(axis=1))
    report: dict[str, Any] = {
        "data": "TidyTuesday 2020-01-21 spotify_songs (Spotify Web API via spotifyr)",
        "labels": "majority playlist genre per track; ties between genres dropped",
        "stats": ds.stats,
        "split": {
            "method": f"StratifiedGroupKFold by artist, {N_FOLDS} folds, seed {seed}: "
            f"test {TEST_SIZE:.0%}, validation {VAL_SIZE:.0%}, train the rest",
            "train": len(tr),
            "val": len(va),
            "test": len(te),
            "artists": {
                "train": int(np.unique(tr.artists).size),
                "val": int(np.unique(va.artists).size),
                "test": int(np.unique(te.artists).size),
            },
        },
        "features": list(GENRE_FEATURES),
        "candidates": results,
        "chosen": chosen,
        "chosen_by": "validation macro-F1 among the numpy-runnable candidates",
        "shipped": {
            "model_id": final.model_id,
            "architecture": {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
            "fitted_on": "train + validation",
            "test": final_test,
        },
        "seed": seed,
    }
    final = GenreModel(
        median=final.median,
        mean=final.mean,
        scale=final.scale,
        weights=final.weights,
        biases=final.biases,
        model_id=final.model_id,
        card={k: report[k] for k in ("data", "labels", "split", "chosen", "seed")}
        | {"test": {k: final_test[k] for k in ("accuracy", "macro_f1", "per_genre_f1")}},
    )
    out_dir = Path(out)
    path = final.save(out_dir / "genre_model.npz")
    report["model"] = str(path)
    report["table"] = candidates_table(report)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (out_dir / "genre_train_report.json").write_text(json.dumps(report, indent=2), "utf-8")
    (out_dir / "genre_train_report.md").write_text(report["table"] + "\n", "utf-8")
    return report


def candidates_table(report: dict[str, Any]) -> str:
    """Markdown table of a :func:`train_genre` report: each candidate's val and test scores."""
    lines = [
        "| model | runs in numpy | val accuracy | val macro-F1 | test accuracy | test macro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["candidates"].items():
        mark = " (chosen)" if name == report["chosen"] else ""
        lines.append(
            f"| {name}{mark} | {'yes' if r['kind'] != 'reference' else 'no'} | "
            f"{r['val']['accuracy']:.3f} | {r['val']['macro_f1']:.3f} | "
            f"{r['test']['accuracy']:.3f} | {r['test']['macro_f1']:.3f} |"
        )
    s = report["shipped"]
    lines.append(
        f"| shipped {s['model_id']} (refit on train+val) | yes | - | - | "
        f"{s['test']['accuracy']:.3f} | {s['test']['macro_f1']:.3f} |"
    )
    sp = report["split"]
    lines.append("")
    lines.append(
        f"Artist-disjoint split: {sp['train']} train / {sp['val']} val / {sp['test']} test "
        f"tracks ({sp['artists']['train']} / {sp['artists']['val']} / {sp['artists']['test']} "
        f"artists)."
    )
    return "\n".join(lines)


def evaluate_genre(
    data: Path | str,
    *,
    model: GenreModel | None = None,
    out_dir: Path | str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a genre model on the artist-disjoint test part of ``data``.

    Parameters
    ----------
    data : path
        The TidyTuesday spotify_songs folder (see :func:`load_genre_data`).
    model : GenreModel, optional
        The shipped model by default.
    out_dir : path, optional
        Where to write ``genre_confusion.png`` (row-normalised, labelled),
        ``genre_eval.json`` and ``genre_eval.md``.
    seed : int
        Seed of :func:`artist_split` (0, as in training).

    Returns
    -------
    dict
        ``model`` (its id), ``n_test``, ``model_scores`` and ``baseline`` (majority class of
        the training part): ``accuracy``, ``macro_f1``, ``per_genre_f1``, ``confusion``
        (counts, rows true genre, columns predicted, :data:`GENRES` order); ``genres``,
        ``png`` (path or None) and ``table`` (Markdown).
    """
    model = model or default_genre_model()
    ds = load_genre_data(data)
    parts = artist_split(ds.artists, ds.y, seed=seed)
    te = ds.take(parts["test"])
    majority = int(np.bincount(ds.y[parts["train"]], minlength=len(GENRES)).argmax())
    pred = model.predict_proba(te.x).argmax(axis=1)
    result: dict[str, Any] = {
        "model": model.model_id,
        "genres": list(GENRES),
        "n_test": len(te),
        "n_test_artists": int(np.unique(te.artists).size),
        "split": f"artist-disjoint test part (StratifiedGroupKFold, {N_FOLDS} folds, seed {seed})",
        "model_scores": _metrics(te.y, pred),
        "baseline": {
            "majority_genre": GENRES[majority],
            **_metrics(te.y, np.full(len(te), majority)),
        },
        "png": None,
    }
    result["table"] = evaluation_table(result)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        try:
            from moodtune.train.reports import plot_confusion

            png = plot_confusion(
                te.y,
                pred,
                out / "genre_confusion.png",
                title=f"{model.model_id}: artist-disjoint test ({len(te)} tracks)",
                labels=GENRES,
            )
        except ImportError as exc:
            raise missing_extra("matplotlib", "train") from exc
        result["png"] = str(png)
        (out / "genre_eval.json").write_text(json.dumps(result, indent=2), "utf-8")
        (out / "genre_eval.md").write_text(result["table"] + "\n", "utf-8")
    return result


def evaluation_table(result: dict[str, Any]) -> str:
    """Markdown table of an :func:`evaluate_genre` result: model vs majority baseline."""
    m, b = result["model_scores"], result["baseline"]
    head = "| | accuracy | macro-F1 | " + " | ".join(f"F1 {g}" for g in GENRES) + " |"
    lines = [head, "|---" * (3 + len(GENRES)) + "|"]
    for name, s in ((result["model"], m), (f"majority ({b['majority_genre']})", b)):
        per = " | ".join(f"{s['per_genre_f1'][g]:.3f}" for g in GENRES)
        lines.append(f"| {name} | {s['accuracy']:.3f} | {s['macro_f1']:.3f} | {per} |")
    lines.append("")
    lines.append(
        f"{result['n_test']} test tracks by {result['n_test_artists']} artists never seen in "
        "training (artist-disjoint split)."
    )
    return "\n".join(lines)
