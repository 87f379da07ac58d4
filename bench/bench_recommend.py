"""Benchmark: Recommender construction and per-request latency over synthetic tracks.

Run ``python bench/bench_recommend.py [N_TRACKS] [REPEATS]`` (defaults 1,000,000 and 200).
:func:`run_recommend_bench` returns the rows for ``bench/run.py``'s table.

Timings are wall-clock on a shared machine: other jobs on the same cores make them noisy
(the load average is printed with the table).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from moodtune.recommend import Filters, Recommender
from moodtune.recommend.synthetic import synthetic_table

#: (label, strategy, n, filters) of each timed scenario.
SCENARIOS: tuple[tuple[str, str, int, Filters | None], ...] = (
    ("match, n=10", "match", 10, None),
    ("uplift, n=10", "uplift", 10, None),
    ("calm, n=10", "calm", 10, None),
    ("energize, n=10", "energize", 10, None),
    ("mixed strategies, n=10", "mixed", 10, None),
    ("uplift, n=100", "uplift", 100, None),
    (
        "mixed, n=10, year+explicit+duration filters",
        "mixed",
        10,
        Filters(year_min=1990, year_max=2010, explicit=False, max_duration_s=300),
    ),
    ("mixed, n=10, genre filter", "mixed", 10, Filters(genres=frozenset({"jazz"}))),
)

_STRATEGIES = ("match", "uplift", "calm", "energize")


def _points(count: int, rng: np.random.Generator) -> np.ndarray:
    """Random listener points inside the circumplex disc of radius 0.8, shape (count, 2)."""
    angle = rng.uniform(0.0, 2.0 * np.pi, count)
    radius = 0.8 * np.sqrt(rng.uniform(0.0, 1.0, count))
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def run_recommend_bench(
    n_tracks: int = 1_000_000,
    repeats: int = 200,
    *,
    warmup: int = 10,
    seed: int = 0,
    index: str = "grid",
    table: Any = None,
) -> list[dict[str, Any]]:
    """Time recommender construction and requests.

    Parameters
    ----------
    n_tracks : int
        Synthetic catalog size.
    repeats : int
        Timed requests per scenario (after ``warmup`` untimed ones).
    warmup : int
        Untimed requests per scenario first.
    seed : int
        Seed of the catalog and of the request points.
    index : {"grid", "ann"}
        The recommender's candidate search (exact grid or usearch graph).
    table : TrackTable, optional
        A synthetic table already made (default: made now).

    Returns
    -------
    list of dict
        One row per measurement: ``name``, ``n_tracks``, ``repeats``, ``p50_ms``,
        ``p95_ms``, ``max_ms`` (wall clock; construction rows have one timing in all
        three) and, for requests, ``cpu_p50_ms``/``cpu_p95_ms``: this process's CPU time
        per request, which other jobs on the machine inflate much less than wall time.
    """
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if table is None:
        table = synthetic_table(n_tracks, seed=seed)
    t_table = time.perf_counter() - t0
    t0 = time.perf_counter()
    recommender = Recommender(table, index=index)
    t_build = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    for name, seconds in (
        ("synthetic 1M-style table generation (setup)", t_table),
        (f"Recommender construction [{index}]", t_build),
    ):
        ms = seconds * 1000.0
        rows.append(
            {
                "name": name,
                "n_tracks": n_tracks,
                "repeats": 1,
                "p50_ms": ms,
                "p95_ms": ms,
                "max_ms": ms,
            }
        )
    for label, strategy, n, filters in SCENARIOS:
        points = _points(warmup + repeats, rng)
        times, cpu = [], []
        for i, (valence, arousal) in enumerate(points):
            strat = _STRATEGIES[i % len(_STRATEGIES)] if strategy == "mixed" else strategy
            start, start_cpu = time.perf_counter(), time.process_time()
            playlist = recommender.recommend(
                float(valence), float(arousal), strategy=strat, n=n, filters=filters, seed=i
            )
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            if len(playlist) != n:
                raise RuntimeError(f"{label}: got {len(playlist)} tracks, wanted {n}")
            if i >= warmup:
                times.append(elapsed * 1000.0)
                cpu.append(elapsed_cpu * 1000.0)
        ms = np.array(times)
        rows.append(
            {
                "name": f"recommend {label} [{index}]",
                "n_tracks": n_tracks,
                "repeats": repeats,
                "p50_ms": float(np.percentile(ms, 50)),
                "p95_ms": float(np.percentile(ms, 95)),
                "max_ms": float(ms.max()),
                "cpu_p50_ms": float(np.percentile(cpu, 50)),
                "cpu_p95_ms": float(np.percentile(cpu, 95)),
            }
        )
    rows.append(
        {
            "name": f"index memory, MB [{index}]",
            "n_tracks": n_tracks,
            "repeats": 1,
            "p50_ms": recommender.index.memory_bytes / 1e6,
            "p95_ms": recommender.index.memory_bytes / 1e6,
            "max_ms": recommender.index.memory_bytes / 1e6,
        }
    )
    _LAST[index] = recommender
    return rows


#: The last recommender built per index kind (for :func:`ann_recall`).
_LAST: dict[str, Recommender] = {}


def ann_recall(
    grid: Recommender, ann: Recommender, *, count: int = 500, k: int = 10, seed: int = 1
) -> dict[str, float]:
    """Recall@k of the ANN candidate search against the exact grid, on request targets.

    Targets are the recommender's own (random circumplex points through
    :meth:`~moodtune.recommend.Recommender.target_matrix`), searched with no filter,
    with the default song filter and with the benchmark's year+explicit+duration filter.
    """
    rng = np.random.default_rng(seed)
    targets = grid.target_matrix(_points(count, rng))
    out: dict[str, float] = {}
    for label, filters in (
        ("no filter", None),
        ("songs (default)", Filters()),
        ("year+explicit+duration", SCENARIOS[6][3]),
        ("genre jazz", SCENARIOS[7][3]),
    ):
        masks = []
        for rec in (grid, ann):
            mask = None if filters is None else rec._filter_mask(filters)[0]
            masks.append(mask)
        exact, _ = grid.index.query(targets, np.full(count, k), eligible=masks[0])
        approx, _ = ann.index.query(targets, np.full(count, k), eligible=masks[1])
        hits = [
            len(set(grid.index.order[e].tolist()) & set(ann.index.order[a].tolist())) / k
            for e, a in zip(exact, approx, strict=True)
        ]
        out[label] = float(np.mean(hits))
    return out


def _print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["name"]) for r in rows)
    head = ("tracks", "reps", "p50 ms", "p95 ms", "max ms", "cpu p50", "cpu p95")
    print(f"{'measurement':<{width}}  " + "  ".join(f"{h:>9}" for h in head))
    for r in rows:
        cpu = "  ".join(
            f"{r[key]:>9.1f}" if key in r else " " * 9 for key in ("cpu_p50_ms", "cpu_p95_ms")
        )
        print(
            f"{r['name']:<{width}}  {r['n_tracks']:>9,}  {r['repeats']:>9}  "
            f"{r['p50_ms']:>9.1f}  {r['p95_ms']:>9.1f}  {r['max_ms']:>9.1f}  {cpu}"
        )


if __name__ == "__main__":
    n_tracks = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    kinds = sys.argv[3].split(",") if len(sys.argv) > 3 else ["grid"]
    before = os.getloadavg()[0]
    shared = synthetic_table(n_tracks, seed=0)
    result = [
        r
        for kind in kinds
        for r in run_recommend_bench(n_tracks, repeats, index=kind, table=shared)
    ]
    _print_table(result)
    if {"grid", "ann"} <= set(kinds):
        for label, value in ann_recall(_LAST["grid"], _LAST["ann"]).items():
            print(f"ANN recall@10 vs exact grid, {label}: {value:.4f}")
    print(
        f"cores: {os.cpu_count()}, load average (1 min) before/after: "
        f"{before:.2f}/{os.getloadavg()[0]:.2f} (other jobs share these cores)"
    )
