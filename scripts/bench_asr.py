"""Measure moodtune's Whisper path: cold start, encoder time, transcription time and WER.

Compares the two encoder modes side by side in one run: ``full`` pads every window to
30 s as Whisper was trained, ``short`` (moodtune's default) encodes only the real frames
rounded up to 1 s. Clips of about 5, 10 and 30 s are built from distinct sentences
synthesized here (espeak-ng for English, festival + festvox-ru for Russian) and
encoded as Opus voice notes at 24 kbit/s.

Usage::

    .venv/bin/python scripts/bench_asr.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SR = 16000

logger = logging.getLogger("bench_asr")

COLD = r"""
import os, time, json
t0 = time.perf_counter()
from moodtune.speech.whisper import WhisperASR, ensure_model_files
t1 = time.perf_counter()
path = ensure_model_files()
t2 = time.perf_counter()
asr = WhisperASR(path)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "join_s": t2 - t1, "load_s": t3 - t2}))
"""


def normalize(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("i'm", "i am")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def cold_start() -> dict[str, float]:
    """Join + load in a fresh process with an empty model dir, then load again (joined)."""
    import os

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MOODTUNE_MODEL_DIR": tmp}
        for key in ("first", "second"):
            t0 = time.perf_counter()
            res = subprocess.run(
                [sys.executable, "-c", COLD], env=env, capture_output=True, text=True, check=True
            )
            wall = time.perf_counter() - t0
            data = json.loads(res.stdout.strip().splitlines()[-1])
            out.update({f"{key}_{k}": v for k, v in data.items()})
            out[f"{key}_process_wall_s"] = wall
    return out


SENTENCES = {
    "en": [
        "I am so happy today, everything is wonderful.",
        "I feel very sad and lonely, nothing is going right.",
        "This makes me really angry, I am furious about it.",
        "The weather was cold this morning, so I stayed at home.",
        "My friends invited me to a concert on Saturday evening.",
        "I could not sleep last night because the neighbours were so loud.",
        "We walked along the river and talked about our plans for the summer.",
        "Please play some calm music, I need to relax after work.",
        "I was afraid that the train would leave without me.",
        "Thank you for the lovely dinner, it was delicious.",
        "The meeting took three hours and nobody agreed on anything.",
        "Tomorrow I will start a new job and I am a little nervous.",
    ],
    "ru": [
        "Мне очень грустно и одиноко.",
        "Я сегодня очень счастлив, всё просто замечательно.",
        "Меня это очень злит, я просто в ярости.",
        "Утром было холодно, поэтому я остался дома.",
        "Друзья пригласили меня на концерт в субботу вечером.",
        "Я не мог уснуть всю ночь, потому что соседи шумели.",
        "Мы гуляли вдоль реки и говорили о планах на лето.",
        "Включи спокойную музыку, мне нужно отдохнуть после работы.",
        "Я боялся, что поезд уедет без меня.",
        "Спасибо за прекрасный ужин, было очень вкусно.",
        "Совещание длилось три часа, и никто ни о чём не договорился.",
        "Завтра я начинаю новую работу и немного волнуюсь.",
    ],
}


def synthesize(lang: str, text: str, tmp: Path) -> np.ndarray:
    """Speak ``text`` (espeak-ng for en, festival + festvox-ru for ru) as an Opus voice note."""
    from moodtune.audio.decode import load_audio
    from moodtune.audio.encode import encode_audio

    wav = tmp / "s.wav"
    if lang == "en":
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
    else:
        (tmp / "s.txt").write_text(text + "\n", encoding="utf-8")
        voice = "(voice_msu_ru_nsh_clunits)"
        subprocess.run(
            ["text2wave", "-eval", voice, str(tmp / "s.txt"), "-o", str(wav)], check=True
        )
    y48 = load_audio(wav, sr=48000)
    y48 = y48 / max(1e-6, float(np.max(np.abs(y48)))) * 0.7
    return load_audio(encode_audio(y48, sr=48000, fmt="ogg", bitrate=24000))


def build_clips() -> list[tuple[str, int, np.ndarray, str]]:
    """Return (language, target seconds, audio, reference) for ~5, 10 and 30 s clips.

    Each clip joins distinct synthesized sentences with 0.3 s pauses.
    """
    pause = np.zeros(int(0.3 * SR), dtype=np.float32)
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang, texts in SENTENCES.items():
            items = [(synthesize(lang, text, Path(tmp)), text) for text in texts]
            lengths = [(y.size + pause.size) / SR for y, _ in items]
            for target in (5, 10, 30):
                # the run of consecutive sentences whose length is closest to the target
                runs = [(i, j) for i in range(len(items)) for j in range(i + 1, len(items) + 1)]
                i, j = min(runs, key=lambda r: abs(sum(lengths[r[0] : r[1]]) - target))
                audio = np.concatenate([part for y, _ in items[i:j] for part in (y, pause)])
                clips.append((lang, target, audio, " ".join(text for _, text in items[i:j])))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per clip (median)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start runs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import jiwer

    from moodtune.speech import get_whisper

    results: dict[str, object] = {}
    if not args.no_cold:
        results["cold"] = cold_start()
        logger.info("cold start: %s", {k: round(v, 2) for k, v in results["cold"].items()})

    asr = get_whisper()
    clips = build_clips()
    asr.analyze(clips[0][2])  # warm-up
    rows = []
    for lang, target, y, ref in clips:
        for mode, full in (("full", True), ("short", False)):
            enc, ana, hyp = [], [], ""
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                asr.encode(y, full_window=full)
                enc.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                hyp = asr.analyze(y, full_window=full).text
                ana.append(time.perf_counter() - t0)
            row = {
                "lang": lang,
                "target_s": target,
                "seconds": round(y.size / SR, 2),
                "mode": mode,
                "encode_s": statistics.median(enc),
                "analyze_s": statistics.median(ana),
                "wer": jiwer.wer(normalize(ref), normalize(hyp)),
                "words": len(normalize(ref).split()),
            }
            rows.append(row)
            logger.info(
                "%s %5.1f s %-5s encode %.3f s  analyze %.3f s  WER %.3f",
                lang,
                row["seconds"],
                mode,
                row["encode_s"],
                row["analyze_s"],
                row["wer"],
            )
    results["clips"] = rows
    for mode in ("full", "short"):
        sel = [r for r in rows if r["mode"] == mode]
        words = sum(int(r["words"]) for r in sel)
        results[f"wer_{mode}"] = sum(float(r["wer"]) * int(r["words"]) for r in sel) / words
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["cpu_threads"] = asr.cpu_threads
    with open("/proc/loadavg") as fh:
        results["loadavg_end"] = fh.read().split()[:3]
    logger.info(
        "word-weighted WER: full %.3f, short %.3f; peak RSS %.0f MB",
        results["wer_full"],
        results["wer_short"],
        results["peak_rss_mb"],
    )
    print("| lang | clip s | mode | encode s | analyze s | WER |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['lang']} | {r['seconds']} | {r['mode']} | {r['encode_s']:.3f} | "
            f"{r['analyze_s']:.3f} | {r['wer']:.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
