"""Benchmark: voice message -> playlist, end to end, beside the seed system's pipeline.

    .venv/bin/python bench/bench_voice.py [--repeats 3] [--no-seed]

Messages of about 5, 10 and 30 s are built from the committed synthesized voice notes
(``tests/data/speech``: espeak-ng English, festival Russian), joined with short pauses and
encoded as Telegram-style Ogg/Opus at 24 kbit/s. Each side runs in its own fresh process,
so cold start and peak RSS are its own:

* moodtune: decode, VAD, one Whisper-base encoder pass (int8, CTranslate2) feeding both
  the transcript and the speech-emotion head, text emotion, fusion, recommendation.
* seed: hubert-large-superb-er + Whisper base + rubert-tiny2 in transformers, fp32, built
  from their configs with random weights (``bench/seed_pipeline.py``; needs
  ``moodtune[hf]``). The compute is the same as with the real weights.

Latency is the median of ``--repeats`` runs after one warm-up; the ratio is
moodtune / seed in the same run. Timings on a shared machine are noisy: the load average
is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "speech"
LENGTHS_S = (5.0, 10.0, 30.0)


def build_message(seconds: float, *, lang: str = "en") -> np.ndarray:
    """Whole fixture sentences of one language, 0.4 s apart, padded with silence to ``seconds``.

    Sentences are never cut: a word cut off at the end makes greedy decoding loop, which
    a real voice message (it ends where the speaker stops) does not do.
    """
    from moodtune.audio.decode import load_audio

    clips = [load_audio(p) for p in sorted(FIXTURES.glob(f"{lang}_*.ogg"))]
    pause = np.zeros(int(0.4 * 16000), dtype=np.float32)
    target = int(seconds * 16000)
    parts: list[np.ndarray] = []
    total = 0
    i = 0
    while total + len(clips[i % len(clips)]) <= target:
        parts += [clips[i % len(clips)], pause]
        total += len(clips[i % len(clips)]) + len(pause)
        i += 1
    y = np.concatenate(parts) if parts else clips[0][:target]
    return np.concatenate([y, np.zeros(max(0, target - len(y)), dtype=np.float32)])[:target]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_moodtune(repeats: int) -> dict[str, Any]:
    """One process: cold start (first message), then warm medians per length."""
    from moodtune.audio.encode import encode_audio
    from moodtune.catalog.default import open_default_catalog
    from moodtune.service import Moodtune

    messages = {s: encode_audio(build_message(s), sr=16000, fmt="ogg") for s in LENGTHS_S}
    open_default_catalog().close()  # the one-time install of the catalog is not a cold start
    service = Moodtune()
    t0 = time.perf_counter()
    service.recommend_for(audio=messages[5.0], strategy="uplift", n=10)
    cold = time.perf_counter() - t0
    out: dict[str, Any] = {"cold_start_s": cold, "latency_s": {}}
    for seconds, data in messages.items():
        service.recommend_for(audio=data, n=10)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            service.recommend_for(audio=data, strategy="uplift", n=10)
            times.append(time.perf_counter() - t0)
        out["latency_s"][str(seconds)] = statistics.median(times)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def run_seed(repeats: int) -> dict[str, Any]:
    """One process: the seed pipeline on the same messages (decoded, 16 kHz)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from seed_pipeline import run_seed_pipeline  # type: ignore[import-not-found]

    t0 = time.perf_counter()
    run_seed_pipeline(build_message(5.0))
    cold = time.perf_counter() - t0
    out: dict[str, Any] = {"cold_start_s": cold, "latency_s": {}}
    for seconds in LENGTHS_S:
        y = build_message(seconds)
        run_seed_pipeline(y)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run_seed_pipeline(y)
            times.append(time.perf_counter() - t0)
        out["latency_s"][str(seconds)] = statistics.median(times)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _side(name: str, repeats: int) -> dict[str, Any] | str:
    proc = subprocess.run(
        [sys.executable, __file__, "--side", name, "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT / "src")},
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return f"not run: {tail}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="voice -> playlist benchmark")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-seed", action="store_true", help="skip the seed pipeline")
    parser.add_argument("--side", choices=["moodtune", "seed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run = run_moodtune if args.side == "moodtune" else run_seed
        print(json.dumps(run(args.repeats)))
        return
    mood = _side("moodtune", args.repeats)
    seed = "skipped (--no-seed)" if args.no_seed else _side("seed", args.repeats)
    print(f"voice -> playlist — {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"{'measurement':<36} {'moodtune':>10} {'seed':>10} {'ratio':>7}")
    if isinstance(mood, str):
        print(f"moodtune {mood}")
        return
    rows = [("cold start, first 5 s message (s)", "cold_start_s")]
    for label, key in rows:
        s = seed[key] if isinstance(seed, dict) else float("nan")
        print(f"{label:<36} {mood[key]:>10.2f} {s:>10.2f} {mood[key] / s:>7.2f}")
    for seconds in LENGTHS_S:
        m = mood["latency_s"][str(seconds)]
        s = seed["latency_s"][str(seconds)] if isinstance(seed, dict) else float("nan")
        print(f"{f'{seconds:.0f} s message, median (s)':<36} {m:>10.2f} {s:>10.2f} {m / s:>7.2f}")
    s_rss = seed["peak_rss_mb"] if isinstance(seed, dict) else float("nan")
    print(f"{'peak RSS (MB)':<36} {mood['peak_rss_mb']:>10.0f} {s_rss:>10.0f}")
    if isinstance(seed, str):
        print(f"seed pipeline {seed}")


if __name__ == "__main__":
    main()
