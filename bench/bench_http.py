"""Loopback load test of the HTTP API: throughput, latency, errors, 503 shedding, RSS.

Starts ``moodtune serve`` (the real uvicorn server) in a subprocess on a free 127.0.0.1
port, then runs N concurrent clients for T seconds, each sending text or 10 s voice
``/v1/recommend`` requests at random. A client that gets a 503 waits ``--backoff``
seconds (less than the server's Retry-After, to keep the pressure on). The server's RSS
is sampled every second from ``/proc``. After the load the script checks that the server
recovers (answers a request with 200 once idle).

``--hostile`` adds a hostile-upload phase (``--duration 0`` runs it alone): tiny FLAC files
of silence at absurd sample rates (FLAC's highest, 655,350 Hz, which moodtune refuses,
and the highest it accepts, 384 kHz), uploaded ``--hostile-concurrency`` at a time to
``/v1/emotion`` (299 s) and ``/v1/tracks/analyze`` (600 s). The server's RSS is sampled
every 0.1 s; the phase reports the idle RSS (after normal voice, text and music
requests, as many at once as the hostile ones), the peak (sampled, and the kernel's
high-water mark ``VmHWM``), the RSS 5 s after the last answer, and each upload's status.
Goals: peak <= 1.5 GB, after within 10 % of idle.

Example::

    nice -n 10 .venv/bin/python bench/bench_http.py --clients 20 --duration 60 \
        --out reports/bench_http.json
    nice -n 10 .venv/bin/python bench/bench_http.py --duration 0 --hostile
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


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def silent_flac(seconds: float, rate: int) -> bytes:
    """A FLAC file of ``seconds`` of mono silence at ``rate`` Hz (tiny: a few hundred KB)."""
    import io

    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        stream.format = "s16"
        total, done, block = int(seconds * rate), 0, 65536
        zeros = np.zeros((1, block), np.int16)
        while done < total:
            k = min(block, total - done)
            frame = av.AudioFrame.from_ndarray(zeros[:, :k], format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, done
            for packet in stream.encode(frame):
                out.mux(packet)
            done += k
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def music_clip(seconds: float = 20.0, sr: int = 16000) -> bytes:
    """A short Ogg/Opus music-like clip (a beat over a chord), to warm the analysis."""
    from moodtune.audio.encode import encode_audio

    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    beat = (np.sin(2 * np.pi * 2.0 * t) > 0.95).astype(np.float64)
    return encode_audio(0.3 * chord + 0.3 * beat, sr=sr, fmt="ogg")


#: Hostile uploads: (name, route, seconds of silence, sample rate).
HOSTILE = (
    ("emotion-655k-299s", "/v1/emotion", 299.0, 655_350),
    ("analyze-655k-600s", "/v1/tracks/analyze", 600.0, 655_350),
    ("emotion-384k-299s", "/v1/emotion", 299.0, 384_000),
    ("analyze-384k-600s", "/v1/tracks/analyze", 600.0, 384_000),
)


async def run_hostile(args: argparse.Namespace, base: str, pid: int) -> dict[str, Any]:
    """Upload tiny files of silence at absurd rates, ``--hostile-concurrency`` at once."""
    files = {name: silent_flac(sec, rate) for name, _, sec, rate in HOSTILE}
    voices = voice_clips(args.voice_seconds)
    timeout = httpx.Timeout(600.0)
    samples: list[tuple[float, float]] = []
    results: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        # warm every lazy model (and the per-thread heaps) with normal requests of each
        # kind, as many at once as the hostile uploads will be, then measure idle
        song = music_clip()
        for _ in range(2):
            await asyncio.gather(
                *(
                    client.post("/v1/emotion", files={"audio": ("v.ogg", voice, "audio/ogg")})
                    for voice in voices[: args.hostile_concurrency]
                )
            )
            await asyncio.gather(
                *(
                    client.post(
                        "/v1/tracks/analyze", files={"audio": ("song.ogg", song, "audio/ogg")}
                    )
                    for _ in range(args.hostile_concurrency)
                )
            )
        await client.post("/v1/recommend", json={"text": "calm evening", "n": 5})
        await asyncio.sleep(2.0)
        idle = _rss_mb(pid)
        t0 = time.perf_counter()
        running = True

        async def sample() -> None:
            while running:
                samples.append((round(time.perf_counter() - t0, 2), round(_rss_mb(pid), 1)))
                await asyncio.sleep(0.1)

        async def upload(name: str, route: str) -> None:
            t = time.perf_counter()
            try:
                resp = await client.post(
                    route, files={"audio": (f"{name}.flac", files[name], "audio/flac")}
                )
                status, detail = resp.status_code, resp.text[:200]
            except httpx.HTTPError as exc:
                status, detail = 0, str(exc)
            results.append(
                {
                    "file": name,
                    "bytes": len(files[name]),
                    "status": status,
                    "s": round(time.perf_counter() - t, 2),
                    "detail": detail,
                }
            )

        sampler = asyncio.create_task(sample())
        for name, route, _, _ in HOSTILE:
            await asyncio.gather(*(upload(name, route) for _ in range(args.hostile_concurrency)))
        running = False
        await sampler
        await asyncio.sleep(5.0)
        after = _rss_mb(pid)
        ok = await client.post("/v1/recommend", json={"text": "calm evening", "n": 5})
    peak = max((m for _, m in samples), default=float("nan"))
    return {
        "concurrency": args.hostile_concurrency,
        "idle_rss_mb": round(idle, 1),
        "peak_rss_mb": round(peak, 1),
        "hwm_rss_mb": round(_rss_mb(pid, "VmHWM"), 1),
        "after_rss_mb": round(after, 1),
        "after_vs_idle": round(after / idle - 1.0, 3),
        "uploads": results,
        "healthy_after": ok.status_code == 200,
        "rss_mb": samples,
    }


def hostile_table(report: dict[str, Any]) -> str:
    """The hostile phase as a Markdown table."""
    lines = ["| upload | bytes | status | seconds |", "|---|---|---|---|"]
    for r in report["uploads"]:
        lines.append(f"| {r['file']} | {r['bytes']:,} | {r['status']} | {r['s']} |")
    lines.append("")
    lines.append(
        f"hostile x{report['concurrency']}: RSS MB idle {report['idle_rss_mb']}, "
        f"peak {report['peak_rss_mb']} (VmHWM {report['hwm_rss_mb']}), "
        f"after {report['after_rss_mb']} ({report['after_vs_idle'] * 100:+.1f} % of idle); "
        f"healthy after: {report['healthy_after']}"
    )
    return "\n".join(lines)


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
    *,
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
                voice_share=args.voice_share,
                backoff=args.backoff,
                rng=random.Random(args.seed + i),
                out=records,
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
    p.add_argument("--hostile", action="store_true", help="add the hostile-upload phase")
    p.add_argument("--hostile-concurrency", type=int, default=4)
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
        report: dict[str, Any] = {}
        if args.duration > 0:
            report = asyncio.run(run_load(args, base, server.pid))
        if args.hostile:
            report["hostile"] = asyncio.run(run_hostile(args, base, server.pid))
    finally:
        server.terminate()
        server.wait(30)
    if args.duration > 0:
        sys.stdout.write(table(report) + "\n")
    if args.hostile:
        sys.stdout.write(hostile_table(report["hostile"]) + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    healthy = report.get("recovered", True) and report.get("hostile", {}).get("healthy_after", True)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
