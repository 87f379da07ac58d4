"""Benchmark ``moodtune mix``: a 60 s voice track and a 60 s 720p video, as multiples of real time.

Usage: python bench/bench_mix.py [--seconds 60] [--music FILE] [--repeat 2] [--json OUT]

Inputs are built here: the voice track from the speech fixtures (``tests/data/speech``)
with pauses between phrases, the video as 1280x720 25 fps H.264 (moving gradient) with
that voice as its AAC soundtrack. The music is a Wesnoth track when Debian's
``wesnoth-1.16-music`` is installed, else a synthetic chord loop (then the beat-aligned
loop path is timed too). The track is passed with ``--track`` so the emotion models are
not timed (they have their own benchmark, bench_voice.py). Timed: decode, VAD, music
decode and fit, loudness, ducking, limiting, encoding and (video) stream copy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/music/battle-epic.ogg")
SPEECH = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech"
SR = 48000


def build_voice(seconds: float) -> np.ndarray:
    """Speech fixtures with 2 s pauses, repeated to ``seconds``."""
    from moodtune.audio.decode import decode

    phrases = [decode(p, sr=SR).y for p in sorted(SPEECH.glob("*.ogg"))]
    out: list[np.ndarray] = []
    total, i = 0, 0
    while total < seconds * SR:
        for piece in (np.zeros(2 * SR, dtype=np.float32), phrases[i % len(phrases)]):
            out.append(piece)
            total += piece.size
        i += 1
    return np.concatenate(out)[: int(seconds * SR)]


def build_video(path: Path, voice: np.ndarray, *, width: int = 1280, height: int = 720) -> None:
    """Write an H.264 720p 25 fps video with ``voice`` as its AAC soundtrack."""
    import av

    seconds = voice.size / SR
    with av.open(str(path), mode="w") as out:
        v = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        a = out.add_stream("aac", rate=SR, layout="mono")
        x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
        yy = np.linspace(0, 255, height, dtype=np.float32)[:, None]
        for i in range(int(seconds * 25)):
            img = np.empty((height, width, 3), dtype=np.uint8)
            img[..., 0] = ((x + 4 * i) % 256).astype(np.uint8)
            img[..., 1] = ((yy + 2 * i) % 256).astype(np.uint8)
            img[..., 2] = 128
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        pcm = (np.clip(voice, -1, 1) * 32767).astype(np.int16)[None, :]
        af = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        af.sample_rate, af.pts, af.time_base = SR, 0, Fraction(1, SR)
        out.mux(a.encode(af))
        out.mux(a.encode(None))


def synthetic_music(path: Path, seconds: float = 20.0) -> None:
    """A 100 BPM chord-and-kick loop, for machines without the Wesnoth music."""
    from moodtune.audio.encode import encode_audio

    t = np.arange(int(seconds * SR)) / SR
    y = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    beat = (t % 0.6) < 0.05
    y = y + 0.3 * beat * np.sin(2 * np.pi * 60 * t)
    path.write_bytes(encode_audio(y, sr=SR, fmt="wav"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--music", type=Path, default=WESNOTH if WESNOTH.is_file() else None)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from moodtune.audio.encode import encode_audio
    from moodtune.service import Moodtune

    service = Moodtune()  # a music file as the track: no catalog, no model

    with tempfile.TemporaryDirectory(prefix="bench-mix-") as tmp:
        folder = Path(tmp)
        music = args.music
        if music is None:
            music = folder / "music.wav"
            synthetic_music(music)
        voice = build_voice(args.seconds)
        voice_path = folder / "voice.wav"
        voice_path.write_bytes(encode_audio(voice, sr=SR, fmt="wav"))
        t0 = time.perf_counter()
        video_path = folder / "video.mp4"
        build_video(video_path, voice)
        build_s = time.perf_counter() - t0
        rows = {}
        for label, src, out in (
            ("voice 60 s -> m4a", voice_path, folder / "out.m4a"),
            ("voice 60 s -> mp3", voice_path, folder / "out.mp3"),
            ("video 60 s 720p -> mp4", video_path, folder / "out.mp4"),
        ):
            times, result = [], None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                result = service.mix(src, track=str(music), output=out)
                times.append(time.perf_counter() - t0)
            assert result is not None
            best = min(times)
            rows[label] = {
                "seconds": round(best, 2),
                "median_s": round(statistics.median(times), 2),
                "x_realtime": round(result.duration_s / best, 1),
                "loudness_lufs": round(result.loudness_lufs, 2),
                "true_peak_dbtp": round(result.true_peak_dbtp, 2),
                "duck_depth_db": round(result.duck_depth_db, 1),
                "input_mb": round(src.stat().st_size / 1e6, 1),
            }
        report = {
            "music": str(args.music or "synthetic chord loop"),
            "input_seconds": args.seconds,
            "video_build_s": round(build_s, 1),
            "cpu_count": os.cpu_count(),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "rows": rows,
        }
    for label, row in rows.items():
        print(
            f"{label:24s} {row['seconds']:6.2f} s  {row['x_realtime']:6.1f}x real time  "
            f"{row['loudness_lufs']:6.2f} LUFS  {row['true_peak_dbtp']:5.2f} dBTP  "
            f"duck {row['duck_depth_db']:4.1f} dB"
        )
    print(f"music: {report['music']}; load average {report['loadavg']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
