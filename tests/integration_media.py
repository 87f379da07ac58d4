"""Small tagged audio files for the integration tests (generated, never committed)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from moodtune.audio.encode import encode_audio

SR = 16000


def clip(seconds: float, bpm: float, seed: int, *, tone: bool = True) -> np.ndarray:
    """Clicks at ``bpm`` over quiet noise (and a steady tone), mono float32 at :data:`SR`."""
    rng = np.random.default_rng(seed)
    y = 0.02 * rng.standard_normal(int(seconds * SR))
    n = int(0.01 * SR)
    for start in np.arange(0.0, seconds - 0.02, 60.0 / bpm):
        i = int(start * SR)
        y[i : i + n] += 0.6 * np.hanning(n)
    if tone:
        t = np.arange(y.size) / SR
        y += 0.1 * np.sin(2 * np.pi * (220 + 40 * seed) * t)
    return y.astype(np.float32)


def ogg_vorbis(y: np.ndarray, sr: int = SR) -> bytes:
    """Ogg Vorbis bytes (libsndfile), beside encode_audio's Ogg Opus."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sr, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def write_song(
    path: Path,
    *,
    title: str,
    artist: str,
    album: str = "Test Album",
    seconds: float = 4.0,
    bpm: float = 100,
    seed: int = 0,
) -> Path:
    """Write an audio file (format by ending: mp3, flac, ogg = Vorbis, opus, m4a, wav) with tags."""
    import mutagen

    y = clip(seconds, bpm, seed)
    ext = path.suffix.lower().lstrip(".")
    data = ogg_vorbis(y) if ext == "ogg" else encode_audio(y, sr=SR, fmt=ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if ext != "wav":
        f = mutagen.File(path, easy=True)
        if f.tags is None:
            f.add_tags()
        f["title"], f["artist"], f["album"] = title, artist, album
        f.save()
    return path
