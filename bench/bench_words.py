"""Benchmark the words about music: lyrics, genre, descriptions and the LLM fallback.

Usage: python bench/bench_words.py [--seconds 240] [--repeat 3] [--json OUT]

Timed, each as the median of ``--repeat`` warm runs after one cold run:

* ``Moodtune.analyze_track`` on a song with vocals (the sung/spoken lyrics fixtures of
  ``tests/data/lyrics`` strung together to ``--seconds``), with lyrics on (VAD + Whisper on
  the 60 s with most voice + text emotion) and off;
* the same on an instrumental track (a Wesnoth track when Debian's wesnoth-1.16-music is
  installed, else the instrumental fixture looped): only the VAD check is added;
* the genre classifier over the whole default catalog (28,356 tracks, one vectorised call);
* the description template on a 4-minute curve;
* the LLM fallback when the endpoint refuses connections (nothing listens on the port).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LYRICS = ROOT / "tests" / "data" / "lyrics"
WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/music/frantic.ogg")
SR = 16000


def build_song(seconds: float, names: list[str]) -> np.ndarray:
    """The named lyrics fixtures, each followed by 1 s of its band, repeated to ``seconds``."""
    from moodtune.music.features import load_music

    clips = [load_music(LYRICS / f"{n}.ogg") for n in names]
    out: list[np.ndarray] = []
    total, i = 0, 0
    while total < seconds * SR:
        piece = clips[i % len(clips)]
        out.append(piece)
        total += piece.size
        i += 1
    return np.concatenate(out)[: int(seconds * SR)].astype(np.float32)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(cold s, median warm s, last result)."""
    t0 = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm), result


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from moodtune.audio.encode import encode_audio
    from moodtune.music.describe import describe_arc
    from moodtune.music.genre import default_genre_model
    from moodtune.service import Moodtune

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="moodtune-bench-words-") as tmp:
        os.environ["MOODTUNE_HOME"] = tmp  # a fresh home: the embedded default catalog
        os.environ.pop("MOODTUNE_CATALOG", None)
        svc = Moodtune()
        song = Path(tmp) / "song.ogg"
        y = build_song(args.seconds, ["en_happy", "en_sad", "ru_sad", "instrumental"])
        song.write_bytes(encode_audio(y, sr=SR, fmt="ogg"))
        if WESNOTH.is_file():
            plain = WESNOTH
        else:
            plain = Path(tmp) / "instrumental.ogg"
            plain.write_bytes(encode_audio(build_song(120, ["instrumental"]), sr=SR, fmt="ogg"))

        for label, path, lyrics in [
            ("analyze, song with vocals, lyrics on", song, True),
            ("analyze, song with vocals, --no-lyrics", song, False),
            (f"analyze, instrumental ({plain.name}), lyrics on", plain, True),
        ]:
            cold, warm, report = timed(
                lambda p=path, ly=lyrics: svc.analyze_track(p, lyrics=ly, llm=False), args.repeat
            )
            seconds = float(report.analysis.features["duration_s"] or 0.0)
            lyr = report.lyrics
            rows.append(
                {
                    "what": label,
                    "audio_s": round(seconds, 1),
                    "cold_s": round(cold, 2),
                    "warm_s": round(warm, 2),
                    "x_realtime": round(seconds / warm, 1),
                    "result": "no lyrics"
                    if lyr is None
                    else f"{lyr['source']} {lyr['language']}: {lyr['label']} "
                    f"({len(lyr['text'].split())} words)",
                }
            )

        table = svc.catalog().load_table()
        model = default_genre_model()
        cold, warm, probs = timed(lambda: model.predict_table(table), args.repeat)
        rows.append(
            {
                "what": f"genre of the whole catalog ({len(table)} tracks)",
                "cold_s": round(cold, 3),
                "warm_s": round(warm, 3),
                "result": f"{1e6 * warm / len(table):.1f} µs per track",
            }
        )
        t = np.arange(240.0)
        curve_a, curve_v = np.sin(t / 30.0) * 0.6, np.cos(t / 50.0) * 0.4
        cold, warm, text = timed(
            lambda: describe_arc({"tempo": 120.0, "mode": 1}, curve_a, curve_v), args.repeat
        )
        rows.append(
            {
                "what": "description template, 4-minute curve",
                "cold_s": round(cold, 4),
                "warm_s": round(warm, 4),
                "result": f"{len(text.split())} words",
            }
        )
        os.environ["MOODTUNE_LLM_URL"] = closed_port_url()
        emotion = svc.emotion_given(valence=-0.6, arousal=-0.3)
        try:
            cold, warm, proposal = timed(
                lambda: svc.music_targets(emotion, strategy="uplift", llm=True), args.repeat
            )
            rows.append(
                {
                    "what": "LLM targets, endpoint refuses connections",
                    "cold_s": round(cold, 3),
                    "warm_s": round(warm, 3),
                    "result": f"{proposal.source}: {proposal.note}",
                }
            )
        finally:
            del os.environ["MOODTUNE_LLM_URL"]

    width = max(len(r["what"]) for r in rows)
    print(f"{'what':<{width}}  {'audio s':>7}  {'cold s':>7}  {'warm s':>7}  {'x RT':>6}  result")
    for r in rows:
        print(
            f"{r['what']:<{width}}  {r.get('audio_s', ''):>7}  {r['cold_s']:>7}  {r['warm_s']:>7}"
            f"  {r.get('x_realtime', ''):>6}  {r['result']}"
        )
    print(f"(load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
