"""Playlist-continuation evaluation of track similarity (precision@10, R-precision, NDCG@10).

Protocol: for each playlist (deduplicated on playlist and track; tracks missing from the
catalog dropped; playlists with fewer than 4 tracks skipped), a seeded random half of its
tracks is the seed and the other half is held out. Each method ranks the whole catalog
minus the seed; the top of the ranking is scored against the held-out half.

The methods compared:

``popularity``
    Most popular tracks first (the same list for every playlist).
``features``
    Distance of each track to the centroid of the seed in the weighted standardised feature
    space of :mod:`moodtune.recommend.similar`.
``full``
    The similarity of :mod:`moodtune.recommend.similar` applied track to track: each candidate
    scores ``sum over seed tracks of exp(-d / tau)`` (``tau``: median distance of a seed track
    to its nearest other seed track), so playlists with several clusters are followed, plus
    :data:`POPULARITY_PRIOR` × popularity/100. Where tracks have arousal/valence curves the
    curve distance would join ``d``; catalogs of Spotify features alone have none.
"""

from __future__ import annotations

import csv
import gzip
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import ParameterError
from moodtune.recommend.ranking import Filters, Recommender
from moodtune.recommend.similar import SIMILARITY_FEATURES, similarity_raw, similarity_space

if TYPE_CHECKING:
    from moodtune.catalog.table import TrackTable

log = logging.getLogger(__name__)

#: Weight of popularity (0-1) added to the ``full`` score.
POPULARITY_PRIOR = 0.3
METHODS = ("popularity", "features", "full")


def read_playlists(path: Path | str) -> dict[str, list[str]]:
    """Playlist id -> track ids (first-seen order, duplicates dropped) from a CSV (.gz ok).

    The file needs ``playlist_id`` and ``track_id`` columns.
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"--playlists {p}: no such file")
    opener = gzip.open if p.suffix == ".gz" else open
    out: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    with opener(p, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"playlist_id", "track_id"} <= set(reader.fieldnames or ()):
            raise ParameterError(f"--playlists {p}: needs columns playlist_id and track_id")
        for row in reader:
            key = (row["playlist_id"], row["track_id"])
            if key not in seen:
                seen.add(key)
                out.setdefault(key[0], []).append(key[1])
    return out


def _metrics(ranked: np.ndarray, held: set[int], k: int) -> tuple[float, float, float]:
    hits = np.array([int(i) in held for i in ranked[: max(k, len(held))]])
    r = len(held)
    p_at_k = float(hits[:k].sum() / k)
    r_prec = float(hits[:r].sum() / r)
    gains = hits[:k] / np.log2(np.arange(2, k + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(k, r) + 2))).sum()
    return p_at_k, r_prec, float(gains.sum() / ideal)


def evaluate_recommender(
    table: TrackTable,
    playlists: Path | str,
    *,
    k: int = 10,
    seed: int = 0,
    max_playlists: int | None = None,
) -> dict[str, Any]:
    """Score the methods on held-out playlist halves.

    Parameters
    ----------
    table : TrackTable
        The catalog to recommend from (e.g. the default 28k-track catalog).
    playlists : path
        CSV of ``playlist_id, track_id`` rows (TidyTuesday ``playlist_tracks.csv.gz``).
    k : int
        Cut-off of precision@k and NDCG@k.
    seed : int
        Seed of the random halves.
    max_playlists : int, optional
        Evaluate only the first ones (for quick runs).

    Returns
    -------
    dict
        ``methods``: for each method the mean ``precision_at_k``, ``r_precision`` and
        ``ndcg_at_k``; ``n_playlists``, ``n_catalog``, ``protocol``.
    """
    t0 = time.perf_counter()
    lists = read_playlists(playlists)
    ids = np.asarray(table.id).astype(str)
    row_of = {t: i for i, t in enumerate(ids)}
    raw = similarity_raw(table)
    z = similarity_space(raw).transform(raw)
    sq = np.sum(z**2, axis=1)
    pop = np.nan_to_num(np.asarray(table.popularity, dtype=np.float64)) / 100.0
    pop_order = np.argsort(-pop, kind="stable")
    rng = np.random.default_rng(seed)
    scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in METHODS}
    used = 0
    for pid in sorted(lists):
        rows = np.array([row_of[t] for t in lists[pid] if t in row_of], dtype=np.int64)
        if rows.size < 4:
            continue
        perm = rng.permutation(rows)
        half = rows.size // 2
        seed_rows, held_rows = perm[:half], perm[half:]
        held = set(held_rows.tolist())
        mask = np.ones(len(ids), dtype=bool)
        mask[seed_rows] = False
        # popularity
        ranked = pop_order[mask[pop_order]]
        scores["popularity"].append(_metrics(ranked, held, k))
        # features: distance to the seed centroid
        c = z[seed_rows].mean(axis=0)
        d = sq - 2 * z @ c + c @ c
        d[~mask] = np.inf
        scores["features"].append(_metrics(np.argsort(d, kind="stable"), held, k))
        # full: kernel votes of every seed track + popularity prior
        zs = z[seed_rows]
        dist = np.sqrt(np.maximum(sq[:, None] - 2 * z @ zs.T + np.sum(zs**2, axis=1)[None], 0))
        inner = dist[seed_rows]
        np.fill_diagonal(inner, np.inf)
        tau = max(float(np.median(inner.min(axis=1))), 1e-3)
        s = np.exp(-dist / tau).sum(axis=1) / len(seed_rows) + POPULARITY_PRIOR * pop
        s[~mask] = -np.inf
        scores["full"].append(_metrics(np.argsort(-s, kind="stable"), held, k))
        used += 1
        if max_playlists is not None and used >= max_playlists:
            break
    if not used:
        raise ParameterError("no playlist has 4 or more tracks in the catalog")
    methods = {
        m: {
            f"precision_at_{k}": float(np.mean([x[0] for x in v])),
            "r_precision": float(np.mean([x[1] for x in v])),
            f"ndcg_at_{k}": float(np.mean([x[2] for x in v])),
        }
        for m, v in scores.items()
    }
    return {
        "protocol": "per playlist: a random half is the seed, the other half is held out; "
        "rank the whole catalog minus the seed",
        "n_playlists": used,
        "n_catalog": len(ids),
        "k": k,
        "seed": seed,
        "features": list(SIMILARITY_FEATURES),
        "methods": methods,
        "reference": "seed project: precision@10 33.75%, 35.25% with arousal/valence vectors, "
        "on Million Playlist Dataset playlists (another catalog: context, not a target)",
        "seconds": round(time.perf_counter() - t0, 1),
    }


#: Circumplex points of the listeners' moods in :func:`evaluate_variety` (sad, angry,
#: happy, calm, tense, tired, excited, neutral).
_MOODS = (
    (-0.7, -0.4),
    (-0.6, 0.7),
    (0.8, 0.4),
    (0.5, -0.6),
    (-0.2, 0.8),
    (-0.2, -0.8),
    (0.5, 0.8),
    (0.0, 0.0),
)
_STRATEGIES = ("match", "uplift", "calm", "energize")
#: Methods :func:`evaluate_variety` compares: today's nearest tracks, listener memory
#: alone (nearest fresh tracks), and memory with the draw (the default).
METHODS_VARIETY = ("before", "memory_only", "after")


def evaluate_variety(
    table: TrackTable,
    *,
    requests: int = 20,
    mixed: int = 1000,
    n: int = 10,
    memory: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Variety and fit of the playlist recommender: today's method next to the new one.

    ``before``: nearest tracks, no listener memory, no draw, no duration rule (the method
    before listener memory). ``memory_only``: the nearest tracks not in the listener's
    last ``memory`` playlists (songs only, no draw). ``after``: the default
    :class:`~moodtune.recommend.Recommender` draw (``variety``), listener memory of the
    last ``memory`` playlists and the default filters (songs of 60 s or more, not silent),
    a fresh seed per request.

    Metrics, each a mean:

    * ``repeat_rate_5`` / ``repeat_rate_20``: share of a listener's tracks already given
      to them earlier, over 5 and over ``requests`` consecutive requests of one mood (one
      listener per mood of :data:`_MOODS` and strategy ``match``);
    * ``intra_list_diversity``: mean pairwise distance between a playlist's tracks in the
      recommender's weighted standardised feature space;
    * ``coverage``: distinct tracks over catalog size across ``mixed`` requests of random
      points and strategies (each from a new listener);
    * ``target_distance_5`` / ``_20`` / ``_mixed``: distance of each track to its target
      (same space; lower fits better) over the first 5 and all same-mood requests and
      over the mixed ones; ``circumplex_distance_5``: the same on the circumplex, a track
      at ``(2 valence - 1, 2 energy - 1)``.
    """
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 5:
        raise ParameterError(f"requests={requests!r} must be an integer >= 5")
    if isinstance(mixed, bool) or not isinstance(mixed, int) or mixed < 1:
        raise ParameterError(f"mixed={mixed!r} must be a positive integer")
    t0 = time.perf_counter()
    rec = Recommender(table)
    rng = np.random.default_rng(seed)
    mixed_points = rng.uniform(-0.9, 0.9, size=(mixed, 2))
    mixed_strategies = rng.choice(_STRATEGIES, size=mixed)
    methods: dict[str, dict[str, float]] = {}
    for method in METHODS_VARIETY:
        after = method == "after"
        remember = method != "before"
        options: dict[str, dict[str, Any]] = {
            "before": {"filters": Filters(min_duration_s=None), "variety": 0.0},
            "memory_only": {"filters": Filters(), "variety": 0.0},
            "after": {"filters": Filters()},
        }
        kwargs = options[method]
        draw = np.random.default_rng(seed + 1)

        def seed_of(_draw: np.random.Generator = draw, _after: bool = after) -> int | None:
            return int(_draw.integers(2**31)) if _after else None

        rep5: list[float] = []
        rep20: list[float] = []
        ild: list[float] = []
        dist_same: list[float] = []
        dist_5: list[float] = []
        va_5: list[float] = []
        for v, a in _MOODS:
            history: list[list[str]] = []
            seen: set[str] = set()
            repeated = total = 0
            for i in range(requests):
                avoid = [t for p in history[-memory:] for t in p] if remember else []
                picks = rec.recommend(v, a, n=n, seed=seed_of(), avoid_ids=avoid, **kwargs)
                ids = [p.track_id for p in picks]
                repeated += sum(t in seen for t in ids)
                total += len(ids)
                seen.update(ids)
                history.append(ids)
                if i == 4:
                    rep5.append(repeated / total)
                ild.append(_intra_list_diversity(rec, [p.index for p in picks]))
                dist_same.extend(p.distance for p in picks)
                if i < 5:
                    dist_5.extend(p.distance for p in picks)
                    va_5.extend(_va_distance(table, p) for p in picks)
            rep20.append(repeated / total)
        covered: set[str] = set()
        dist_mixed: list[float] = []
        for (v, a), strategy in zip(mixed_points, mixed_strategies, strict=True):
            picks = rec.recommend(
                float(v), float(a), strategy=str(strategy), n=n, seed=seed_of(), **kwargs
            )
            covered.update(p.track_id for p in picks)
            dist_mixed.extend(p.distance for p in picks)
            ild.append(_intra_list_diversity(rec, [p.index for p in picks]))
        methods[method] = {
            "repeat_rate_5": float(np.mean(rep5)),
            f"repeat_rate_{requests}": float(np.mean(rep20)),
            "intra_list_diversity": float(np.mean(ild)),
            "coverage": len(covered) / len(table),
            "target_distance_5": float(np.mean(dist_5)),
            "circumplex_distance_5": float(np.mean(va_5)),
            f"target_distance_{requests}": float(np.mean(dist_same)),
            "target_distance_mixed": float(np.mean(dist_mixed)),
        }
    return {
        "bounds": distance_bounds(rec, n=n),
        "protocol": f"{len(_MOODS)} listeners x {requests} consecutive same-mood match "
        f"requests; {mixed} mixed requests (random point and strategy); n={n}",
        "n_catalog": len(table),
        "methods": methods,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def distance_bounds(
    rec: Recommender,
    *,
    n: int = 10,
    requests: int = 5,
    repeat_shares: tuple[float, ...] = (0.0, 0.1),
) -> dict[str, float]:
    """Smallest possible mean target distance of ``requests`` same-mood playlists.

    For each mood of :data:`_MOODS` (strategy ``match``: one target), over the songs the
    default filters keep: the mean distance of the ``n`` nearest (one playlist), and for
    each share ``s`` of repeats allowed over the ``requests`` playlists, the mean of the
    nearest ``requests * n * (1 - s)`` distinct songs with the ``requests * n * s``
    repeated slots given to the best-fitting songs (at most once per later playlist
    each). Ignores the one-artist rule and popularity, so no method does better: a
    floor for ``target_distance_5`` in :func:`evaluate_variety`.
    """
    eligible, _ = rec._filter_mask(Filters())
    pos = np.arange(len(rec.table)) if eligible is None else np.flatnonzero(eligible)
    x = rec.index.features(pos)
    out: dict[str, list[float]] = {"nearest": []}
    for share in repeat_shares:
        out[f"repeats_{share:g}"] = []
    total = requests * n
    for v, a in _MOODS:
        t = rec.target_matrix(np.array([[v, a]]))[0]
        d = np.sort(np.sqrt(np.sum((x - t) ** 2, axis=1)))
        out["nearest"].append(float(d[:n].mean()))
        for share in repeat_shares:
            repeats = int(round(total * share))
            distinct = d[: total - repeats]
            # repeated slots: best songs again, each at most once in each later playlist
            slots = np.repeat(d[: max(1, -(-repeats // (requests - 1)))], requests - 1)[:repeats]
            out[f"repeats_{share:g}"].append(float((distinct.sum() + slots.sum()) / total))
    return {k: float(np.mean(v)) for k, v in out.items()}


def _va_distance(table: TrackTable, rec: Any) -> float:
    """Circumplex distance of a track, at (2 valence - 1, 2 energy - 1), to its target point."""
    v = 2.0 * float(table.valence[rec.index]) - 1.0
    a = 2.0 * float(table.energy[rec.index]) - 1.0
    return float(np.hypot(v - rec.target_valence, a - rec.target_arousal))


def _intra_list_diversity(rec: Any, rows: list[int]) -> float:
    """Mean pairwise distance of the rows in the recommender's weighted z space."""
    if len(rows) < 2:
        return 0.0
    x = rec.index.features(rec.index.position[np.asarray(rows, dtype=np.int64)])
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0.0))
    m = len(rows)
    return float(d.sum() / (m * (m - 1)))
