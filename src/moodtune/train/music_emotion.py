"""Calibrate and evaluate the per-second music arousal/valence model.

Recipe (``moodtune train music-emotion --data DIR --out FILE``):

1. Find clips with audio and per-second (dynamic) arousal/valence annotations in ``DIR``.
   Layouts read: moodtune's ``<set>/audio/<id>.ogg`` + ``annotations_dynamic.csv`` (long
   format, ``arousal_norm``/``valence_norm`` on [-1, 1]); DEAM's original
   ``MEMD_audio/<id>.mp3`` + ``.../dynamic (per second annotations)/{arousal,valence}.csv``
   (wide, ``sample_15000ms`` columns, [-1, 1]); PMEmo2019's ``chorus/<id>.mp3`` +
   ``annotations/dynamic_annotations.csv`` (``musicId, frameTime, Arousal(mean),
   Valence(mean)`` on [0, 1], rescaled to 2x - 1).
2. Compute the per-second descriptors of :mod:`moodtune.music.emotion` for each clip and the
   annotation (linearly interpolated) at each second's centre.
3. Fit ridge regressions (standardised descriptors, ``alpha`` below) for arousal (on
   :data:`AROUSAL_DESCRIPTORS`) and valence (on :data:`VALENCE_DESCRIPTORS`), weighting every
   clip equally, and save the weights (``.npz``) with a JSON card.

Evaluation (``moodtune evaluate music-emotion --data DIR``) refits the same recipe leaving
one clip out at a time and reports per-clip Pearson r and RMSE of the curves and R² of the
clip means, beside an uncalibrated vibenet baseline and published anchors.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import ParameterError
from moodtune.music.emotion import DESCRIPTORS, HOP_S, EmotionModel, curve_descriptors, smooth
from moodtune.music.features import load_music
from moodtune.music.vibe import VIBE_LABELS, log_mel

log = logging.getLogger(__name__)

#: Ridge penalty on the standardised descriptors.
ALPHA = 30.0
#: Descriptors each dimension may use (chosen by leave-one-clip-out on the 14 clips: more
#: descriptors overfit arousal; valence gains from all of them).
AROUSAL_DESCRIPTORS: tuple[str, ...] = ("energy", "valence", "level_db")
VALENCE_DESCRIPTORS: tuple[str, ...] = DESCRIPTORS
#: Smoothing of the predicted curves, s.
SMOOTH_S = 5
#: Published reference points (not comparable one to one: other data, other protocol).
ANCHORS: dict[str, dict[str, float]] = {
    "mediaeval2015_best_dynamic_rmse": {"arousal": 0.202, "valence": 0.268},
    "music2emo_deam_static_r2": {"arousal": 0.603, "valence": 0.513},
}


@dataclass
class Clip:
    """One annotated clip.

    Attributes
    ----------
    clip_id : str
        ``<dataset>/<song id>``.
    audio : Path
    times : np.ndarray, shape (m,)
        Annotation times from the start of the audio, s.
    arousal, valence : np.ndarray, shape (m,)
        Annotations on [-1, 1].
    """

    clip_id: str
    audio: Path
    times: np.ndarray
    arousal: np.ndarray
    valence: np.ndarray


def _long_format(folder: Path) -> list[Clip]:
    ann = folder / "annotations_dynamic.csv"
    rows: dict[str, list[tuple[float, float, float]]] = {}
    with ann.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            a = r.get("arousal_norm") or r.get("arousal")
            v = r.get("valence_norm") or r.get("valence")
            if a in (None, "") or v in (None, ""):
                continue
            rows.setdefault(r["song_id"], []).append((float(r["time_s"]), float(a), float(v)))
    clips = []
    for song, pts in rows.items():
        audio = _find_audio(folder / "audio", song)
        if audio is None:
            continue
        arr = np.array(sorted(pts))
        clips.append(Clip(f"{folder.name}/{song}", audio, arr[:, 0], arr[:, 1], arr[:, 2]))
    return clips


def _find_audio(folder: Path, song: str) -> Path | None:
    for ext in ("ogg", "mp3", "wav", "flac", "opus", "m4a"):
        p = folder / f"{song}.{ext}"
        if p.is_file():
            return p
    return None


def _deam_layout(root: Path) -> list[Clip]:
    found = {p.name: p for p in root.rglob("*.csv") if "dynamic" in str(p.parent).lower()}
    if "arousal.csv" not in found or "valence.csv" not in found:
        return []
    audio_dir = next((p for p in root.rglob("MEMD_audio") if p.is_dir()), root)

    def wide(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            times = np.array([float(h.split("_")[1].rstrip("ms")) / 1000.0 for h in header[1:]])
            for row in reader:
                vals = np.array([float(x) if x.strip() else np.nan for x in row[1:]])
                ok = np.isfinite(vals)
                out[row[0].strip()] = (times[: len(vals)][ok], vals[ok])
        return out

    a, v = wide(found["arousal.csv"]), wide(found["valence.csv"])
    clips = []
    for song in sorted(a.keys() & v.keys(), key=lambda s: int(s) if s.isdigit() else 0):
        audio = _find_audio(audio_dir, song)
        if audio is None:
            continue
        t = a[song][0]
        n = min(len(t), len(v[song][1]))
        clips.append(Clip(f"deam/{song}", audio, t[:n], a[song][1][:n], v[song][1][:n]))
    return clips


def _pmemo_layout(root: Path) -> list[Clip]:
    ann = next(iter(root.rglob("dynamic_annotations.csv")), None)
    if ann is None:
        return []
    audio_dir = next((p for p in root.rglob("chorus") if p.is_dir()), root)
    rows: dict[str, list[tuple[float, float, float]]] = {}
    with ann.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.setdefault(r["musicId"], []).append(
                (
                    float(r["frameTime"]),
                    2 * float(r["Arousal(mean)"]) - 1,
                    2 * float(r["Valence(mean)"]) - 1,
                )
            )
    clips = []
    for song, pts in rows.items():
        audio = _find_audio(audio_dir, song)
        if audio is not None:
            arr = np.array(sorted(pts))
            clips.append(Clip(f"pmemo/{song}", audio, arr[:, 0], arr[:, 1], arr[:, 2]))
    return clips


def find_clips(data_dir: Path | str) -> list[Clip]:
    """Find every annotated clip with audio under ``data_dir`` (layouts in the module doc).

    Raises
    ------
    ParameterError
        The folder is missing or holds no clip with both audio and dynamic annotations.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ParameterError(f"--data {root}: no such folder; give a folder of annotated music")
    clips: list[Clip] = []
    for ann in sorted(root.rglob("annotations_dynamic.csv")):
        clips.extend(_long_format(ann.parent))
    if not clips:
        clips = _deam_layout(root) + _pmemo_layout(root)
    if not clips:
        raise ParameterError(
            f"--data {root}: found no audio with per-second arousal/valence annotations "
            "(expected <set>/audio/<id>.ogg + annotations_dynamic.csv, or DEAM/PMEmo layouts)"
        )
    return sorted(clips, key=lambda c: c.clip_id)


@dataclass
class ClipData:
    """Descriptors and targets of one clip at the seconds that have annotations."""

    clip_id: str
    x: np.ndarray  # (m, n_descriptors)
    arousal: np.ndarray  # (m,)
    valence: np.ndarray  # (m,)
    first: int  # index of the first annotated second
    n_seconds: int


def prepare(clips: Iterable[Clip]) -> list[ClipData]:
    """Compute the per-second descriptors of each clip and align the annotations to them."""
    out = []
    for clip in clips:
        y = load_music(clip.audio)
        duration = y.shape[0] / 16000
        x = curve_descriptors(log_mel(y), duration_s=duration)
        centres = (np.arange(x.shape[0]) + 0.5) * HOP_S
        keep = (centres >= clip.times[0]) & (centres <= clip.times[-1])
        if keep.sum() < 3:
            log.warning("%s: fewer than 3 annotated seconds, skipped", clip.clip_id)
            continue
        idx = np.flatnonzero(keep)
        out.append(
            ClipData(
                clip.clip_id,
                x,
                np.interp(centres[idx], clip.times, clip.arousal),
                np.interp(centres[idx], clip.times, clip.valence),
                int(idx[0]),
                x.shape[0],
            )
        )
        log.info("%s: %d annotated seconds", clip.clip_id, idx.size)
    return out


def fit(data: list[ClipData], *, alpha: float = ALPHA, smooth_s: int = SMOOTH_S) -> EmotionModel:
    """Fit the arousal/valence ridge regressions, each clip weighted equally."""
    from sklearn.linear_model import Ridge

    xs = np.vstack([d.x[d.first : d.first + d.arousal.size] for d in data])
    ys = np.column_stack(
        [np.concatenate([d.arousal for d in data]), np.concatenate([d.valence for d in data])]
    )
    w = np.concatenate([np.full(d.arousal.size, 1.0 / d.arousal.size) for d in data])
    mean = xs.mean(axis=0)
    scale = xs.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (xs - mean) / scale
    coef = np.zeros((2, len(DESCRIPTORS)))
    intercept = np.zeros(2)
    for dim, cols in enumerate((AROUSAL_DESCRIPTORS, VALENCE_DESCRIPTORS)):
        idx = [DESCRIPTORS.index(c) for c in cols]
        ridge = Ridge(alpha=alpha)
        ridge.fit(z[:, idx], ys[:, dim], sample_weight=w * len(w) / w.sum())
        coef[dim, idx] = ridge.coef_
        intercept[dim] = float(ridge.intercept_)
    return EmotionModel(
        mean=mean,
        scale=scale,
        coef=coef,
        intercept=intercept,
        smooth_s=smooth_s,
        descriptors=DESCRIPTORS,
    )


def _vibenet_baseline(d: ClipData) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated curves: vibenet energy and valence mapped from [0, 1] to [-1, 1]."""
    e = d.x[:, VIBE_LABELS.index("energy")] * 2 - 1
    v = d.x[:, VIBE_LABELS.index("valence")] * 2 - 1
    return smooth(e, width=SMOOTH_S), smooth(v, width=SMOOTH_S)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - p) ** 2)) / ss if ss > 0 else float("nan")


def _scores(data: list[ClipData], preds: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    per_clip = []
    means: dict[str, list[tuple[float, float]]] = {"arousal": [], "valence": []}
    for d, (pa, pv) in zip(data, preds, strict=True):
        sl = slice(d.first, d.first + d.arousal.size)
        row: dict[str, Any] = {"clip": d.clip_id, "n_seconds": int(d.arousal.size)}
        for dim, truth, pred in (("arousal", d.arousal, pa[sl]), ("valence", d.valence, pv[sl])):
            row[f"{dim}_r"] = _pearson(truth, pred)
            row[f"{dim}_rmse"] = float(np.sqrt(np.mean((truth - pred) ** 2)))
            means[dim].append((float(truth.mean()), float(pred.mean())))
        per_clip.append(row)
    summary: dict[str, Any] = {}
    for dim in ("arousal", "valence"):
        rs = np.array([c[f"{dim}_r"] for c in per_clip], dtype=float)
        rm = np.array([c[f"{dim}_rmse"] for c in per_clip], dtype=float)
        m = np.array(means[dim])
        summary[dim] = {
            "pearson_r_mean": float(np.nanmean(rs)),
            "pearson_r_median": float(np.nanmedian(rs)),
            "rmse_mean": float(rm.mean()),
            "rmse_sd": float(rm.std()),
            "clip_mean_r2": _r2(m[:, 0], m[:, 1]),
            "clip_mean_pearson_r": _pearson(m[:, 0], m[:, 1]),
        }
    return {"summary": summary, "per_clip": per_clip}


def evaluate_music_emotion(
    data_dir: Path | str,
    out_dir: Path | str | None = None,
    *,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Leave-one-clip-out evaluation of the calibration recipe.

    Parameters
    ----------
    data_dir : path
        Folder with annotated clips (see :func:`find_clips`).
    out_dir : path, optional
        Where to write ``music_emotion_eval.json`` and ``music_emotion_eval.md``.
    alpha : float
        Ridge penalty.

    Returns
    -------
    dict
        ``calibrated`` and ``vibenet_uncalibrated`` scores (``summary`` per dimension:
        mean/median per-clip Pearson r, mean per-clip RMSE, R² of clip means; ``per_clip``),
        ``n_clips``, ``n_seconds``, ``anchors`` and a ``note`` on the data size.
    """
    t0 = time.perf_counter()
    data = prepare(find_clips(data_dir))
    if len(data) < 3:
        raise ParameterError(f"--data {data_dir}: leave-one-out needs at least 3 clips")
    loo = []
    for i, d in enumerate(data):
        model = fit(data[:i] + data[i + 1 :], alpha=alpha)
        loo.append(model.predict(d.x))
    n_sec = int(sum(d.arousal.size for d in data))
    result: dict[str, Any] = {
        "protocol": "leave-one-clip-out: each clip is predicted by a calibration fitted "
        "on the other clips only",
        "n_clips": len(data),
        "n_seconds": n_sec,
        "calibrated": _scores(data, loo),
        "vibenet_uncalibrated": _scores(data, [_vibenet_baseline(d) for d in data]),
        "anchors": ANCHORS,
        "note": (
            f"Only {len(data)} clips ({n_sec} annotated seconds, about {n_sec / 60:.0f} minutes) "
            "have audio and per-second labels; the seconds within a clip are strongly "
            "correlated, so this is a small-sample estimate with wide error bars. The anchors "
            "come from other data and protocols (MediaEval 2015: 58 full songs; Music2Emo: "
            "DEAM static, 1,802 songs) and are context, not a like-for-like comparison."
        ),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "music_emotion_eval.json").write_text(
            json.dumps(result, indent=2, allow_nan=True), encoding="utf-8"
        )
        (out / "music_emotion_eval.md").write_text(report_markdown(result), encoding="utf-8")
    return result


def report_markdown(result: dict[str, Any]) -> str:
    """A Markdown table of an :func:`evaluate_music_emotion` result beside the anchors."""

    def f(x: float) -> str:
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"

    lines = [
        f"Leave-one-clip-out on {result['n_clips']} clips ({result['n_seconds']} s annotated).",
        "",
        "| model | dim | per-clip r (mean) | per-clip r (median) | per-clip RMSE | "
        "R² of clip means | anchor RMSE (MediaEval 2015 best) | "
        "anchor R² (Music2Emo, DEAM static) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("calibrated", "vibenet_uncalibrated"):
        for dim in ("arousal", "valence"):
            s = result[name]["summary"][dim]
            lines.append(
                f"| {name} | {dim} | {f(s['pearson_r_mean'])} | {f(s['pearson_r_median'])} | "
                f"{f(s['rmse_mean'])} | {f(s['clip_mean_r2'])} | "
                f"{ANCHORS['mediaeval2015_best_dynamic_rmse'][dim]:.3f} | "
                f"{ANCHORS['music2emo_deam_static_r2'][dim]:.3f} |"
            )
    lines += ["", result["note"], ""]
    return "\n".join(lines)


def train_music_emotion(
    data_dir: Path | str,
    out: Path | str,
    *,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Fit the calibration on every clip in ``data_dir`` and save it.

    Parameters
    ----------
    data_dir : path
        Folder with annotated clips (see :func:`find_clips`).
    out : path
        The ``.npz`` to write; a ``.json`` card with the same stem goes beside it. Load it
        with :meth:`moodtune.music.emotion.EmotionModel.load`.
    alpha : float
        Ridge penalty.

    Returns
    -------
    dict
        The card: clips used, descriptor weights, recipe.
    """
    data = prepare(find_clips(data_dir))
    if not data:
        raise ParameterError(f"--data {data_dir}: no clip had 3 or more annotated seconds")
    model = fit(data, alpha=alpha)
    path = model.save(Path(out))
    card = {
        "model": "moodtune music emotion calibration (ridge on vibenet + acoustic descriptors)",
        "descriptors": {"arousal": list(AROUSAL_DESCRIPTORS), "valence": list(VALENCE_DESCRIPTORS)},
        "clips": [d.clip_id for d in data],
        "n_seconds": int(sum(d.arousal.size for d in data)),
        "alpha": alpha,
        "smooth_s": SMOOTH_S,
        "weights": {
            dim: dict(zip(DESCRIPTORS, (round(float(c), 4) for c in model.coef[i]), strict=True))
            for i, dim in enumerate(("arousal", "valence"))
        },
        "intercept": {"arousal": float(model.intercept[0]), "valence": float(model.intercept[1])},
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    return card
