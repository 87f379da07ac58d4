"""moodtune benchmarks: prints one table.

    .venv/bin/python bench/run.py [--tracks 1000000] [--repeats 200] [--quick] [--text-only]

Rows: text-emotion latency per message (p50/p95, after warm-up), catalog first-use
install and load time of the embedded default catalog, and recommend latency over
synthetic tracks (see bench_recommend.py). Goal: recommend p95 <= 20 ms at 1M tracks.
Wall-clock timings on a shared machine are noisy; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recommend import run_recommend_bench  # noqa: E402

MESSAGES = [
    "Мне очень грустно и одиноко",
    "I am so happy today, everything is wonderful!",
    "Я в бешенстве, это возмутительно!",
    "I'm scared of tomorrow's exam, I can't sleep.",
    "Просто обычный день, ничего особенного.",
    "Wow, I never expected that!",
    "😡😡😡",
    "not happy at all",
    "ну спасибо, удружил 🙄",
]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def text_rows(repeats: int) -> list[dict[str, Any]]:
    from moodtune.text import get_backend

    t0 = time.perf_counter()
    backend = get_backend("use_ngram")
    backend.predict("warm up")
    load_s = time.perf_counter() - t0
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        backend.predict(MESSAGES[i % len(MESSAGES)])
        times.append((time.perf_counter() - t0) * 1000)
    return [
        {"name": "text emotion: model load + first call", "p50_ms": load_s * 1000},
        {
            "name": "text emotion: per message",
            "repeats": repeats,
            "p50_ms": statistics.median(times),
            "p95_ms": _pct(times, 0.95),
        },
    ]


def catalog_rows() -> list[dict[str, Any]]:
    from moodtune.catalog.default import open_default_catalog

    with tempfile.TemporaryDirectory() as home:
        os.environ["MOODTUNE_HOME"] = home
        t0 = time.perf_counter()
        catalog = open_default_catalog()
        install = time.perf_counter() - t0
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            table = catalog.load_table()
            times.append((time.perf_counter() - t0) * 1000)
        catalog.close()
    return [
        {
            "name": f"default catalog: first-use install ({len(table):,} tracks)",
            "p50_ms": install * 1000,
        },
        {
            "name": "default catalog: load_table",
            "repeats": 5,
            "p50_ms": statistics.median(times),
            "p95_ms": max(times),
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="10k tracks, few repeats")
    parser.add_argument("--text-only", action="store_true", help="only the text-emotion rows")
    args = parser.parse_args()
    if args.quick:
        args.tracks, args.repeats = 10_000, 20
    rows = text_rows(max(20, args.repeats // 4))
    if not args.text_only:
        rows += catalog_rows()
        rows += run_recommend_bench(args.tracks, args.repeats)
    print(f"moodtune benchmark — {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"{'measurement':<68} {'n':>6} {'p50 ms':>9} {'p95 ms':>9}")
    for r in rows:
        p95 = r.get("p95_ms")
        print(
            f"{r['name']:<68} {r.get('repeats', 1):>6} {r['p50_ms']:>9.2f} "
            f"{(f'{p95:9.2f}' if p95 is not None else ' ' * 9)}"
        )


if __name__ == "__main__":
    main()
