"""Benchmark music analysis throughput (multiple of real time) and peak memory.

Usage: python bench/bench_music.py [--dir /usr/share/games/wesnoth/1.16/data/core/music]
       [--workers 2] [--track NAME.ogg] [--json OUT]

Needs real music: Debian's wesnoth-1.16-music (41 ogg tracks, 128 min, GPL-2). When the
default folder is missing and we are root, the benchmark installs it with
``apt-get install -y wesnoth-1.16-music`` first.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/music")


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def ensure_wesnoth() -> None:
    """Install Debian's wesnoth-1.16-music when the default folder is missing (root only)."""
    import os
    import subprocess

    if WESNOTH.is_dir() or os.geteuid() != 0:
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wesnoth-1.16-music"], check=True, env=env)


def main() -> int:
    ensure_wesnoth()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, default=WESNOTH)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--track", default="battle-epic.ogg")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engine", default="local")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.dir.is_dir():
        print(f"{args.dir} missing: apt-get install -y wesnoth-1.16-music", file=sys.stderr)
        return 2

    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.scan import scan_library
    from moodtune.music.features import analyze_file, load_music

    track = args.dir / args.track
    t0 = time.perf_counter()
    res = analyze_file(track)
    cold = time.perf_counter() - t0
    duration = float(res.features["duration_s"] or 0.0)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        analyze_file(track)
        times.append(time.perf_counter() - t0)
    warm = min(times)
    t0 = time.perf_counter()
    load_music(track)
    decode_s = time.perf_counter() - t0
    single = {
        "track": track.name,
        "duration_s": round(duration, 1),
        "cold_s": round(cold, 2),
        "warm_s": round(warm, 3),
        "decode_s": round(decode_s, 3),
        "realtime_factor_warm": round(duration / warm, 1),
        "peak_rss_mb": round(_rss_mb(resource.RUSAGE_SELF), 0),
    }
    print(json.dumps({"single_track": single}))

    with tempfile.TemporaryDirectory() as tmp, Catalog.open(Path(tmp) / "bench.sqlite") as cat:
        rep = scan_library(cat, args.dir, workers=args.workers, engine=args.engine)
        rerun = scan_library(cat, args.dir, workers=args.workers, engine=args.engine)
    scan = {
        "files": rep.found,
        "analysed": rep.analysed,
        "failed": len(rep.failed),
        "audio_min": round(rep.audio_seconds / 60, 1),
        "wall_s": round(rep.seconds, 1),
        "workers": args.workers,
        "engine": args.engine,
        "realtime_factor": round(rep.realtime_factor, 1),
        "rerun_s": round(rerun.seconds, 2),
        "rerun_unchanged": rerun.unchanged,
        "peak_rss_parent_mb": round(_rss_mb(resource.RUSAGE_SELF), 0),
        "peak_rss_worker_mb": round(_rss_mb(resource.RUSAGE_CHILDREN), 0),
    }
    print(json.dumps({"scan": scan}))
    import os

    load = os.getloadavg()
    print()
    print("| measure | value |")
    print("|---|---|")
    rows = [
        ("track", f"{single['track']} ({single['duration_s']} s)"),
        (
            "single track, warm",
            f"{single['warm_s']} s = {single['realtime_factor_warm']}x real time",
        ),
        ("single track, cold (model load)", f"{single['cold_s']} s"),
        ("decode alone", f"{single['decode_s']} s"),
        ("scan", f"{scan['analysed']}/{scan['files']} files, {scan['audio_min']} min of audio"),
        ("scan wall time", f"{scan['wall_s']} s with {scan['workers']} workers"),
        ("scan speed", f"{scan['realtime_factor']}x real time"),
        ("rescan (unchanged)", f"{scan['rerun_s']} s"),
        (
            "peak RSS parent / worker",
            f"{scan['peak_rss_parent_mb']} / {scan['peak_rss_worker_mb']} MB",
        ),
        ("load average (1/5/15 min) at the end", " / ".join(f"{x:.2f}" for x in load)),
        ("CPU cores", str(os.cpu_count())),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    scan["loadavg"] = [round(x, 2) for x in load]
    if args.json:
        args.json.write_text(json.dumps({"single_track": single, "scan": scan}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
