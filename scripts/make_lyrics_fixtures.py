"""Regenerate tests/data/lyrics/: short songs (vocals over a synthesized band) for lyrics tests.

Every clip is made here from scratch, so the tests know exactly what is sung:

* ``en_happy`` / ``en_sad``: English lines *spoken rhythmically* (espeak-ng, one line per
  bar slot, the pitch moving line to line) over a major, 120 BPM band / a minor, 72 BPM band.
  No English singing voice is installed (festival has only the Russian voice).
* ``ru_happy`` / ``ru_sad``: Russian lines *sung* with festival's singing mode and the
  ``msu_ru_nsh_clunits`` voice (one note per word, the melody in the band's key).
* ``instrumental``: the band alone, with a lead synth melody, no voice.
* ``sidecar_song``: a short band clip with ``sidecar_song.lrc`` next to it (timestamps and
  ID tags), for the "sidecar wins" path.

The band is plain numpy: additive chord pads, a bass, a kick on every beat and (for the
happy songs) a hi-hat on the off-beats. Vocals sit about 4 dB above the band (RMS), as
in a pop mix. Clips are Ogg Opus (mono, 32 kbit/s) to keep the fixtures small.
``transcripts.tsv`` lists name, language, delivery, intended mood and the lyrics.

Needs: apt-get install -y espeak-ng festival festvox-ru ; the project venv.
Usage: .venv/bin/python scripts/make_lyrics_fixtures.py [OUT_DIR]
       .venv/bin/python scripts/make_lyrics_fixtures.py --measure [OUT_DIR]   (the numbers)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from moodtune.audio.decode import decode
from moodtune.audio.encode import encode_audio

SR = 16000
VOCAL_OVER_BAND_DB = 4.0
BITRATE = 32000
NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

SONGS: list[dict[str, object]] = [
    {
        "name": "en_happy",
        "language": "en",
        "delivery": "spoken",
        "mood": "happy",
        "bpm": 120,
        "chords": ["C", "G", "Am", "F"],
        "lines": [
            "I am so happy, the sun is shining bright",
            "We dance together all through the night",
            "Everything is wonderful, I love my life",
            "Smiling all day, my heart is full of joy",
        ],
    },
    {
        "name": "en_sad",
        "language": "en",
        "delivery": "spoken",
        "mood": "sad",
        "bpm": 72,
        "chords": ["Am", "Dm", "Em", "Am"],
        "lines": [
            "I am so lonely, my heart is broken",
            "Tears keep falling every night",
            "I miss you so much, I cry alone",
            "Nothing is left now that you are gone",
        ],
    },
    {
        "name": "ru_happy",
        "language": "ru",
        "delivery": "sung",
        "mood": "happy",
        "bpm": 110,
        "chords": ["C", "G", "Am", "F"],
        "lines": [
            "Я так счастлив сегодня",
            "Солнце светит ярко",
            "Мы танцуем вместе",
            "Всё прекрасно и весело",
        ],
    },
    {
        "name": "ru_sad",
        "language": "ru",
        "delivery": "sung",
        "mood": "sad",
        "bpm": 80,
        "chords": ["Am", "Dm", "Em", "Am"],
        "lines": [
            "Мне так грустно и одиноко",
            "Я плачу каждую ночь",
            "Ты ушла навсегда",
            "И сердце моё разбито",
        ],
    },
]

SIDECAR_LRC = """\ufeff[ar:moodtune tests]
[ti:Sidecar song]
[offset:+250]
[length:00:06]

[00:00.50]I feel so happy <00:01.20>and free today
[00:02.10]The sun is shining, <00:03.00>I love this day
[00:02.10]The sun is shining, <00:03.00>I love this day
[00:04.00]
[00:04.20]Everything is wonderful
"""
#: What :func:`moodtune.music.lyrics.read_lyrics_file` should make of ``SIDECAR_LRC``.
SIDECAR_TEXT = (
    "I feel so happy and free today / The sun is shining, I love this day / Everything is wonderful"
)


def midi_to_hz(midi: float) -> float:
    """Frequency of a MIDI note number, Hz."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def chord_midis(name: str, *, octave: int = 4) -> list[int]:
    """MIDI notes of a major (``C``) or minor (``Am``) triad."""
    root = 12 * (octave + 1) + NOTE_NAMES[name[0]]
    third = 3 if name.endswith("m") else 4
    return [root, root + third, root + 7]


def tone(freq: float, n: int, *, harmonics: int = 6, decay: float = 0.6) -> np.ndarray:
    """A saw-like tone of ``n`` samples with an attack/release envelope."""
    t = np.arange(n) / SR
    y = sum((decay**k) * np.sin(2 * np.pi * freq * (k + 1) * t) for k in range(harmonics))
    env = np.minimum(1.0, t / 0.02) * np.minimum(1.0, (n - np.arange(n)) / (0.08 * SR))
    return np.asarray(y * env, dtype=np.float64)


def band(seconds: float, *, bpm: float, chords: list[str], happy: bool, lead: bool = False,
         seed: int = 0) -> np.ndarray:  # fmt: skip
    """Chord pads, bass, kick (and hi-hat when ``happy``) for ``seconds``, 16 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = np.zeros(n)
    beat = 60.0 / bpm
    bar_n = int(4 * beat * SR)
    for b, start in enumerate(range(0, n, bar_n)):
        chord = chords[b % len(chords)]
        seg = min(bar_n, n - start)
        for m in chord_midis(chord, octave=3 if not happy else 4):
            y[start : start + seg] += 0.12 * tone(midi_to_hz(m), seg, decay=0.5)
        y[start : start + seg] += 0.25 * tone(
            midi_to_hz(chord_midis(chord, octave=2)[0]), seg, harmonics=3
        )
        if lead:
            scale = chord_midis(chord, octave=5)
            for k in range(4):
                s0 = start + int(k * beat * SR)
                ln = min(int(beat * SR), n - s0)
                if ln > 0:
                    y[s0 : s0 + ln] += 0.1 * tone(midi_to_hz(scale[(k + b) % 3]), ln, decay=0.3)
    k_n = int(0.15 * SR)
    kt = np.arange(k_n) / SR
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-kt * 30)) * kt) * np.exp(-kt * 25)
    hat = rng.standard_normal(int(0.04 * SR)) * np.exp(-np.arange(int(0.04 * SR)) / (0.008 * SR))
    hat = np.diff(hat, prepend=0.0)  # crude high-pass
    t_beat = 0.0
    while t_beat < seconds:
        i = int(t_beat * SR)
        y[i : i + k_n] += 0.6 * kick[: max(0, min(k_n, n - i))]
        j = int((t_beat + beat / 2) * SR)
        if happy and j < n:
            y[j : j + hat.size] += 0.15 * hat[: max(0, min(hat.size, n - j))]
        t_beat += beat
    return y / max(1e-9, float(np.max(np.abs(y))))


def read_wav(path: Path) -> np.ndarray:
    """Decode a synthesized WAV to 16 kHz mono float64."""
    return np.asarray(decode(path, sr=SR).y, dtype=np.float64)


def espeak_lines(lines: list[str], *, bpm: float, tmp: Path) -> np.ndarray:
    """Speak each line with espeak-ng, each starting on a bar, the pitch moving per line."""
    bar_s = 4 * 60.0 / bpm
    pitches = [55, 65, 50, 60]
    rate = 150 if bpm >= 100 else 125
    parts: list[tuple[int, np.ndarray]] = []
    t = bar_s  # one bar of intro
    for i, line in enumerate(lines):
        wav = tmp / f"line{i}.wav"
        cmd = ["espeak-ng", "-v", "en-us", "-s", str(rate), "-p", str(pitches[i % 4]), "-w"]
        subprocess.run([*cmd, str(wav), line], check=True)
        y = read_wav(wav)
        parts.append((int(t * SR), y))
        t += np.ceil((y.size / SR + 0.3) / bar_s) * bar_s
    out = np.zeros(int((t + bar_s) * SR))
    for start, y in parts:
        out[start : start + y.size] += y
    return out


def syllables(word: str) -> int:
    """Vowel groups in a word (at least one)."""
    return max(1, len(re.findall(r"[аеёиоуыэюяaeiouy]+", word.lower())))


def festival_song(lines: list[str], *, bpm: float, chords: list[str], tmp: Path) -> np.ndarray:
    """Sing ``lines`` with festival's singing mode (Russian voice), one bar of rest between."""
    notes = []
    for b, line in enumerate(lines):
        triad = chord_midis(chords[b % len(chords)], octave=3)
        melody = [triad[0], triad[1], triad[2], triad[1], triad[0]]
        for i, word in enumerate(line.split()):
            midi = melody[i % len(melody)]
            name = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"][midi % 12]
            octave = midi // 12 - 1
            beats = syllables(word)
            notes.append(
                f'<PITCH NOTE="{name}{octave}"><DURATION BEATS="{beats}">{word}</DURATION></PITCH>'
            )
        notes.append('<REST BEATS="2"></REST>')
    xml = (
        '<?xml version="1.0"?>\n<!DOCTYPE SINGING PUBLIC "-//SINGING//DTD SINGING mark up//EN" '
        '"Singing.v0_1.dtd" []>\n'
        f'<SINGING BPM="{bpm}">\n' + "\n".join(notes) + "\n</SINGING>\n"
    )
    src = tmp / "song.xml"
    src.write_text(xml, encoding="utf-8")
    wav = tmp / "song.wav"
    subprocess.run(
        ["text2wave", "-mode", "singing", "-eval", "(voice_msu_ru_nsh_clunits)", str(src), "-o",
         str(wav)],
        check=True,
    )  # fmt: skip
    y = read_wav(wav)
    bar_s = 4 * 60.0 / bpm
    lead = np.zeros(int(bar_s * SR))
    return np.concatenate([lead, y, lead])


def mix(vocal: np.ndarray, bed: np.ndarray) -> np.ndarray:
    """Vocal about :data:`VOCAL_OVER_BAND_DB` dB (RMS) above the band, peak -1 dBFS."""
    n = min(vocal.size, bed.size)
    v, b = vocal[:n], bed[:n]
    v_rms = float(np.sqrt(np.mean(v[np.abs(v) > 1e-4] ** 2)))
    b_rms = float(np.sqrt(np.mean(b**2)))
    v = v / v_rms * b_rms * 10 ** (VOCAL_OVER_BAND_DB / 20)
    y = v + b
    return y / float(np.max(np.abs(y))) * 0.89


def write_ogg(y: np.ndarray, path: Path) -> None:
    """Encode 16 kHz mono audio as Ogg Opus."""
    data = encode_audio(y.astype(np.float32), sr=SR, fmt="ogg", bitrate=BITRATE)
    path.write_bytes(data)
    print(f"{path.name}: {y.size / SR:.1f} s, {len(data)} bytes")


def main(out: Path) -> None:
    """Write every clip, the sidecar and ``transcripts.tsv`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = ["name\tlanguage\tdelivery\tmood\ttext"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for i, song in enumerate(SONGS):
            lines = list(song["lines"])  # type: ignore[call-overload]
            bpm = float(song["bpm"])  # type: ignore[arg-type]
            chords = list(song["chords"])  # type: ignore[call-overload]
            if song["delivery"] == "sung":
                vocal = festival_song(lines, bpm=bpm, chords=chords, tmp=tmp)
            else:
                vocal = espeak_lines(lines, bpm=bpm, tmp=tmp)
            bed = band(vocal.size / SR, bpm=bpm, chords=chords, happy=song["mood"] == "happy",
                       seed=i)  # fmt: skip
            write_ogg(mix(vocal, bed), out / f"{song['name']}.ogg")
            text = " / ".join(lines)
            rows.append(f"{song['name']}\t{song['language']}\t{song['delivery']}\t"
                        f"{song['mood']}\t{text}")  # fmt: skip
    inst = band(20.0, bpm=100, chords=["C", "Am", "F", "G"], happy=True, lead=True, seed=7)
    write_ogg(inst * 0.89, out / "instrumental.ogg")
    rows.append("instrumental\t\tinstrumental\t\t")
    side = band(6.0, bpm=120, chords=["C", "G"], happy=True, seed=8)
    write_ogg(side * 0.89, out / "sidecar_song.ogg")
    (out / "sidecar_song.lrc").write_text(SIDECAR_LRC, encoding="utf-8")
    rows.append("sidecar_song\ten\tsidecar\thappy\t" + SIDECAR_TEXT)
    (out / "transcripts.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def measure(out: Path) -> None:
    """Print, per clip: vibenet features, voice found, lyrics source, WER, emotion, time."""
    import csv
    import time

    import jiwer

    from moodtune.music.features import analyze_signal, load_music
    from moodtune.music.lyrics import has_vocals, lyrics_emotion, vocal_seconds
    from moodtune.speech.whisper import get_whisper
    from moodtune.text import get_backend

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("ё", "е")).split())

    asr, backend = get_whisper(), get_backend()
    backend.predict("warm up")
    with (out / "transcripts.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    errors = words = 0.0
    for row in rows:
        path = out / f"{row['name']}.ogg"
        y = load_music(path)
        f = analyze_signal(y, sr=SR).features
        vocal_s = vocal_seconds(y)
        t0 = time.perf_counter()
        result = lyrics_emotion(path, f, y=y, asr=asr, text_backend=backend)
        seconds = time.perf_counter() - t0
        line = (
            f"{row['name']:13s} instr={f['instrumentalness']:.3f} speech={f['speechiness']:.3f} "
            f"voice={vocal_s:5.1f}s has_vocals={has_vocals(f, vocal_s=vocal_s)!s:5s} "
            f"time={seconds:.2f}s"
        )
        if result is not None:
            e = result.emotion
            line += (
                f" source={result.source} lang={result.language} label={e.label}"
                f" valence={e.valence:+.3f} conf={e.confidence:.2f}"
            )
            if row["text"] and result.source == "whisper":
                ref = norm(row["text"])
                wer = jiwer.wer(ref, norm(result.text))
                errors += wer * len(ref.split())
                words += len(ref.split())
                line += f" wer={wer:.3f} text={result.text!r}"
        print(line)
    if words:
        print(f"pooled WER {errors / words:.3f} over {int(words)} words")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    args = [a for a in sys.argv[1:] if a != "--measure"]
    target = Path(args[0]) if args else root / "tests" / "data" / "lyrics"
    if "--measure" in sys.argv[1:]:
        measure(target)
    else:
        main(target)
