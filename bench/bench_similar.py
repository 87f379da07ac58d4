"""Benchmark: similar tracks and recommend-with-memory over a large synthetic catalog.

Run ``python bench/bench_similar.py [N_TRACKS] [REPEATS]`` (defaults 1,000,000 and 200).

Prints one table: the incremental build of :class:`moodtune.recommend.similar.SimilarIndex`
(in batches of 100,000 tracks, as a growing catalog would add them), its memory, its
recall@10 against exact search, ``similar_tracks`` latency through the index (the table
already loaded, as the service keeps it), and ``Recommender.recommend`` latency with the
default draw and a listener memory of 50 recent tracks. Goals: similar p95 <= 50 ms,
recommend p95 <= 20 ms, recall@10 >= 0.95. Wall-clock timings on a shared machine are
noisy; CPU time per request is printed beside them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.catalog.repository import Catalog
from moodtune.recommend import Recommender
from moodtune.recommend.similar import SimilarIndex, similar_tracks, similarity_raw
from moodtune.recommend.synthetic import synthetic_table

BATCH = 100_000


def _timed(fn: Any, count: int, warmup: int = 5) -> tuple[np.ndarray, np.ndarray]:
    wall, cpu = [], []
    for i in range(warmup + count):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(i)
        if i >= warmup:
            wall.append((time.perf_counter() - t0) * 1000.0)
            cpu.append((time.process_time() - c0) * 1000.0)
    return np.array(wall), np.array(cpu)


def run_similar_bench(n_tracks: int = 1_000_000, repeats: int = 200, *, seed: int = 0) -> None:
    """Build, measure and print the table (see the module docstring)."""
    rng = np.random.default_rng(seed)
    table = synthetic_table(n_tracks, seed=seed)
    raw = similarity_raw(table)
    rows: list[tuple[str, str]] = []

    # incremental build: the index starts with the first batch and grows batch by batch
    t0 = time.perf_counter()
    index = SimilarIndex.build(table.take(np.arange(min(BATCH, n_tracks))))
    batch_s = [time.perf_counter() - t0]
    for hi in range(2 * BATCH, n_tracks + BATCH, BATCH):
        part = table.take(np.arange(min(hi, n_tracks)))
        t0 = time.perf_counter()
        added = index.sync(part, raw=raw[: len(part)])
        batch_s.append(time.perf_counter() - t0)
        assert added == len(part) - (hi - BATCH), added
    rows.append(("index build, total (s)", f"{sum(batch_s):.1f}"))
    rows.append(
        ("index build, last batch of 100k (s)", f"{batch_s[-1]:.1f} (first {batch_s[0]:.1f})")
    )
    rows.append(
        ("index memory (MB, graph + f32 re-rank features)", f"{index.memory_bytes / 1e6:.0f}")
    )
    rows.append(("index size (tracks)", f"{len(index):,}"))

    # recall@10 of the ANN shortlist + exact re-rank against brute force
    queries = rng.choice(n_tracks, size=min(repeats, n_tracks), replace=False)
    hits = []
    for q in queries:
        got, _ = index.search(raw[q], 10)
        want, _ = index.exact_search(raw[q], 10)
        hits.append(len(set(got.tolist()) & set(want.tolist())) / 10)
    rows.append(
        ("ANN recall@10 vs exact, catalog tracks", f"{np.mean(hits):.4f} (min {np.min(hits):.2f})")
    )
    # queries off the catalog (a file's features): each track nudged by 0.3 sd per feature
    sd = np.nanstd(raw[:100_000], axis=0)
    hits = []
    for q in queries:
        off = raw[q] + rng.normal(0.0, 0.3, raw.shape[1]) * sd
        got, _ = index.search(off, 10)
        want, _ = index.exact_search(off, 10)
        hits.append(len(set(got.tolist()) & set(want.tolist())) / 10)
    rows.append(
        ("ANN recall@10 vs exact, off-catalog", f"{np.mean(hits):.4f} (min {np.min(hits):.2f})")
    )

    ids = np.asarray(table.id).astype(str)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog.open(Path(tmp) / "bench.sqlite")
        try:

            def similar(i: int) -> None:
                _, found = similar_tracks(
                    catalog, ids[queries[i % len(queries)]], n=10, table=table, index=index
                )
                assert len(found) == 10

            wall, cpu = _timed(similar, repeats)
        finally:
            catalog.close()
    rows.append(
        (
            "similar (index + exact re-rank), ms p50 / p95 (cpu p95)",
            f"{np.percentile(wall, 50):.1f} / {np.percentile(wall, 95):.1f} "
            f"({np.percentile(cpu, 95):.1f})",
        )
    )

    rec = Recommender(table)
    points = rng.uniform(-0.8, 0.8, size=(repeats + 5, 2))
    history: list[str] = []

    def nearest(i: int) -> None:
        v, a = points[i]
        assert len(rec.recommend(float(v), float(a), n=10, variety=0.0)) == 10

    wall, cpu = _timed(nearest, repeats)
    rows.append(
        (
            "recommend, nearest tracks (before: no draw, no memory), ms p50 / p95 (cpu p95)",
            f"{np.percentile(wall, 50):.1f} / {np.percentile(wall, 95):.1f} "
            f"({np.percentile(cpu, 95):.1f})",
        )
    )

    def recommend(i: int) -> None:
        v, a = points[i]
        picks = rec.recommend(float(v), float(a), n=10, seed=i, avoid_ids=history[-50:])
        assert len(picks) == 10
        history.extend(p.track_id for p in picks)

    wall, cpu = _timed(recommend, repeats)
    rows.append(
        (
            "recommend (draw + memory of 50 tracks), ms p50 / p95 (cpu p95)",
            f"{np.percentile(wall, 50):.1f} / {np.percentile(wall, 95):.1f} "
            f"({np.percentile(cpu, 95):.1f})",
        )
    )
    width = max(len(r[0]) for r in rows)
    print(f"similar/recommend bench, {n_tracks:,} synthetic tracks, load {os.getloadavg()[0]:.1f}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    r = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    run_similar_bench(n, r)
