"""Loopback load test of the HTTP API: throughput, latency, errors, 503 shedding, RSS.

Starts ``moodtune serve`` (the real uvicorn server) in a subprocess on a free 127.0.0.1
port, then runs N concurrent clients for T seconds, each sending text or 10 s voice
``/v1/recommend`` requests at random. A client that gets a 503 waits ``--backoff``
seconds (less than the server's Retry-After, to keep the pressure on). The server's RSS
is sampled every second from ``/proc``. After the load the script checks that the server
recovers (answers a request with 200 once idle).

Example::

    nice -n 10 .venv/bin/python bench/bench_http.py --clients 20 --duration 60 \
        --out reports/bench_http.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

log = logging.getLogger("bench_http")
ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech"
TEXTS = [
    "I feel so sad and lonely tonight",
    "I am furious, nothing works!",
    "What a wonderful sunny day, I am so happy",
    "I'm tired and want to relax",
    "Мне грустно и одиноко",
    "Я так рад, всё получилось!",
    "I'm nervous about tomorrow's exam",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def voice_clips(seconds: float = 10.0) -> list[bytes]:
    """10 s Ogg/Opus voice messages: each test recording looped to ``seconds``."""
    from moodtune.audio.decode import decode
    from moodtune.audio.encode import encode_audio

    clips = []
    for path in sorted(SPEECH.glob("*.ogg")):
        audio = decode(path)
        n = int(seconds * audio.sr)
        y = np.tile(audio.y, int(np.ceil(n / audio.y.size)))[:n]
        clips.append(encode_audio(y, sr=audio.sr, fmt="ogg"))
    return clips


async def client_loop(
    client: httpx.AsyncClient,
    stop_at: float,
    voices: list[bytes],
    voice_share: float,
    backoff: float,
    rng: random.Random,
    out: list[dict[str, Any]],
) -> None:
    """Send requests until ``stop_at``; append one record per request to ``out``."""
    while time.perf_counter() < stop_at:
        voice = rng.random() < voice_share
        t0 = time.perf_counter()
        try:
            if voice:
                resp = await client.post(
                    "/v1/recommend",
                    files={"audio": ("v.ogg", rng.choice(voices), "audio/ogg")},
                    data={"n": "10", "strategy": rng.choice(["match", "uplift"])},
                )
            else:
                resp = await client.post("/v1/recommend", json={"text": rng.choice(TEXTS), "n": 10})
            status = resp.status_code
        except httpx.HTTPError as exc:
            status = 0
            log.debug("transport error: %s", exc)
        dt = time.perf_counter() - t0
        out.append({"t": t0, "kind": "voice" if voice else "text", "status": status, "s": dt})
        if status == 503:
            await asyncio.sleep(backoff)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(values, q))


def summarise(records: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """Throughput, latency percentiles and error counts, overall and per kind."""
    out: dict[str, Any] = {}
    for kind in ("all", "text", "voice"):
        rows = [r for r in records if kind == "all" or r["kind"] == kind]
        ok = [r["s"] for r in rows if r["status"] == 200]
        shed = sum(r["status"] == 503 for r in rows)
        other = sum(r["status"] not in (200, 503) for r in rows)
        out[kind] = {
            "requests": len(rows),
            "ok": len(ok),
            "ok_per_s": round(len(ok) / duration, 2),
            "p50_s": None if not ok else round(statistics.median(ok), 3),
            "p95_s": None if not ok else round(_pct(ok, 95) or 0.0, 3),
            "shed_503": shed,
            "shed_rate": round(shed / len(rows), 3) if rows else None,
            "errors_other": other,
            "error_rate_other": round(other / len(rows), 4) if rows else None,
        }
    codes: dict[str, int] = {}
    for r in records:
        codes[str(r["status"])] = codes.get(str(r["status"]), 0) + 1
    out["status_codes"] = codes
    return out


async def run_load(args: argparse.Namespace, base: str, pid: int) -> dict[str, Any]:
    """Drive the load and sample RSS; return the report."""
    voices = voice_clips(args.voice_seconds)
    records: list[dict[str, Any]] = []
    rss: list[tuple[float, float]] = []
    limits = httpx.Limits(max_connections=args.clients + 4)
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        t_start = time.perf_counter()
        stop_at = t_start + args.duration

        async def sample() -> None:
            while time.perf_counter() < stop_at + 1:
                rss.append((round(time.perf_counter() - t_start, 1), round(_rss_mb(pid), 1)))
                await asyncio.sleep(1.0)

        tasks = [
            client_loop(
                client,
                stop_at,
                voices,
                args.voice_share,
                args.backoff,
                random.Random(args.seed + i),
                records,
            )
            for i in range(args.clients)
        ]
        await asyncio.gather(sample(), *tasks)
        wall = time.perf_counter() - t_start
        # recovery: wait until idle, then one text and one voice request must succeed
        t_idle = time.perf_counter()
        while (await client.get("/healthz")).json()[
            "in_flight"
        ] and time.perf_counter() - t_idle < 60:
            await asyncio.sleep(0.2)
        idle_after = time.perf_counter() - t_idle
        r_text = await client.post("/v1/recommend", json={"text": "calm evening", "n": 5})
        r_voice = await client.post(
            "/v1/recommend", files={"audio": ("v.ogg", voices[0], "audio/ogg")}
        )
        health = (await client.get("/healthz")).json()
    return {
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "wall_s": round(wall, 1),
        "summary": summarise([r for r in records if r["t"] < stop_at], args.duration),
        "rss_mb": rss,
        "rss_mb_max": max((m for _, m in rss), default=None),
        "recovered": r_text.status_code == 200 and r_voice.status_code == 200,
        "idle_after_s": round(idle_after, 2),
        "health_after": health,
    }


def table(report: dict[str, Any]) -> str:
    """The report's summary as a Markdown table."""
    lines = [
        "| kind | requests | ok/s | p50 s | p95 s | 503 shed | other errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("text", "voice", "all"):
        s = report["summary"][kind]
        lines.append(
            f"| {kind} | {s['requests']} | {s['ok_per_s']} | {s['p50_s']} | {s['p95_s']} | "
            f"{s['shed_503']} ({(s['shed_rate'] or 0) * 100:.0f}%) | {s['errors_other']} |"
        )
    rss = [m for _, m in report["rss_mb"]]
    lines.append("")
    lines.append(
        f"RSS MB: start {rss[0] if rss else '?'}, max {report['rss_mb_max']}, "
        f"end {rss[-1] if rss else '?'}; recovered after load: {report['recovered']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the server, run the load, print and save the report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    p.add_argument("--voice-share", type=float, default=0.3)
    p.add_argument("--voice-seconds", type=float, default=10.0)
    p.add_argument("--backoff", type=float, default=0.5, help="client wait after a 503 (s)")
    p.add_argument("--workers", type=int, default=2, help="server inference threads")
    p.add_argument("--queue", type=int, default=2, help="server queue beyond the threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    port = _free_port()
    home = tempfile.mkdtemp(prefix="moodtune-bench-")
    env = dict(os.environ, MOODTUNE_HOME=home)
    env.pop("MOODTUNE_API_KEY", None)
    cmd = [
        sys.executable,
        "-m",
        "moodtune.api.cli",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--queue",
        str(args.queue),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"server exited with {server.returncode}")
            try:
                if httpx.get(base + "/healthz", timeout=1).json()["ready"]:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.perf_counter() - t0 > 180:
                raise SystemExit("server not ready after 180 s")
            time.sleep(0.5)
        log.info(
            "server warm after %.1f s, RSS %.0f MB", time.perf_counter() - t0, _rss_mb(server.pid)
        )
        report = asyncio.run(run_load(args, base, server.pid))
    finally:
        server.terminate()
        server.wait(30)
    sys.stdout.write(table(report) + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return 0 if report["recovered"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
