"""Hostile audio files: absurd sample rates and channel counts, lying lengths, memory.

The files are generated here (tiny FLAC files of silence at rates a real recording never
has, a WAV header with 32 channels), never committed.
"""

from __future__ import annotations

import io
import struct
import tracemalloc

import numpy as np
import pytest

from moodtune.audio.decode import decode
from moodtune.config import MAX_CHANNELS, MAX_SAMPLE_RATE
from moodtune.errors import InputTooLargeError, UnsupportedMediaError


def silent_flac(seconds: float, rate: int, *, declare_length: bool = True) -> bytes:
    """Mono FLAC silence; without ``declare_length`` the STREAMINFO total is 0 (unknown)."""
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
    data = bytearray(buf.getvalue())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO comes first
    if not declare_length:
        # bytes 18..25: 20 bits rate, 3 channels, 5 bits/sample, 36 bits total samples
        packed = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)
        data[18:26] = packed.to_bytes(8, "big")
    return bytes(data)


def many_channel_wav(channels: int, *, rate: int = 8000, seconds: float = 0.1) -> bytes:
    """A valid 16-bit PCM WAV of silence with ``channels`` channels."""
    n = int(rate * seconds)
    body = bytes(2 * channels * n)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body))
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + len(body)) + b"WAVE" + chunks + body


def test_an_absurd_sample_rate_is_refused_before_decoding_with_the_limit():
    data = silent_flac(299.0, 655_350)
    assert len(data) < 400_000  # tiny file, 196 million samples inside
    tracemalloc.start()
    try:
        with pytest.raises(UnsupportedMediaError) as info:
            decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(info.value)
    assert "655,350 Hz" in msg and f"{MAX_SAMPLE_RATE:,} Hz" in msg, msg
    assert peak < 5_000_000  # nothing was decoded (the old decoder held gigabytes)


def test_too_many_channels_are_refused_with_the_limit():
    with pytest.raises(UnsupportedMediaError, match=rf"32 audio channels.*limit of {MAX_CHANNELS}"):
        decode(many_channel_wav(32))
    # the limit itself is accepted
    audio = decode(many_channel_wav(MAX_CHANNELS))
    assert audio.channels == MAX_CHANNELS and audio.y.shape == (1600,)


def test_the_highest_accepted_rate_is_resampled_while_decoding():
    """60 s at 384 kHz: only the 16 kHz output is ever held (not 23 million samples)."""
    data = silent_flac(60.0, MAX_SAMPLE_RATE)
    tracemalloc.start()
    try:
        audio = decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert audio.source_sr == MAX_SAMPLE_RATE and audio.sr == 16000
    assert abs(audio.y.shape[0] - 60 * 16000) <= 16
    output = audio.y.nbytes  # 3.84 MB
    # blocks + their concatenation + one decoded frame; the source at 384 kHz is 92 MB
    assert peak < 3 * output + 4_000_000, (peak, output)


def test_a_file_that_hides_its_length_stops_decoding_at_the_limit():
    data = silent_flac(40.0, 192_000, declare_length=False)
    tracemalloc.start()
    try:
        with pytest.raises(InputTooLargeError, match=r"over the limit of 10 s for a voice message"):
            decode(data, max_seconds=10.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 10.5 * 16000 * 4 + 4_000_000


def test_a_declared_length_over_the_music_limit_is_refused_up_front():
    with pytest.raises(InputTooLargeError, match=r"limit of 20 s for a music file"):
        decode(silent_flac(30.0, 8000), max_seconds=20.0, kind="music")


def test_streamed_resampling_matches_whole_signal_soxr():
    import soxr

    from moodtune.audio.encode import encode_audio

    sr = 44100
    t = np.arange(3 * sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = decode(encode_audio(tone, sr=sr, fmt="wav")).y
    ref = soxr.resample(tone, sr, 16000, quality="HQ")
    assert y.shape == ref.shape
    assert np.max(np.abs(y - ref)) < 1e-3


def test_music_errors_speak_of_music_files(tmp_path):
    from moodtune.music.features import load_music

    notes = tmp_path / "notes.mp3"
    notes.write_text("these are not sounds\n" * 20)
    with pytest.raises(UnsupportedMediaError) as info:
        load_music(notes)
    assert "music file" in str(info.value) and "voice" not in str(info.value)
    with pytest.raises(UnsupportedMediaError) as info:
        decode(notes.read_bytes())
    assert "voice message" in str(info.value)


def test_messages_name_no_setting_and_no_ffmpeg_jargon():
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x04\x08\x00\x00\x00"
        b"\x00j\xb3\n\xe6\x00\x00\x00\x0bIDATx\x9cc`@\x05\x00\x00\x10\x00\x019\xbd\x8fe\x00\x00"
        b"\x00\x00IEND\xaeB`\x82"
    )
    with pytest.raises(UnsupportedMediaError) as info:
        decode(png)
    assert "picture" in str(info.value) and "_pipe" not in str(info.value)
    with pytest.raises(InputTooLargeError) as too_big:
        decode(silent_flac(30.0, 8000), max_seconds=20.0)
    assert "max_seconds" not in str(too_big.value)
    with pytest.raises(InputTooLargeError) as too_big:
        decode(silent_flac(1.0, 8000), max_bytes=100)
    assert "max_bytes" not in str(too_big.value) and "100 bytes" in str(too_big.value)


def test_the_api_refuses_a_hostile_upload_with_415_naming_the_limit(tmp_path, monkeypatch):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from moodtune.api.app import create_app
    from moodtune.service import Moodtune

    monkeypatch.setenv("MOODTUNE_HOME", str(tmp_path))
    data = silent_flac(299.0, 655_350)
    with TestClient(create_app(Moodtune(), warm_up=False, api_key="")) as client:
        for route in ("/v1/emotion", "/v1/tracks/analyze"):
            resp = client.post(route, files={"audio": ("quiet.flac", data, "audio/flac")})
            assert resp.status_code == 415, resp.text
            detail = resp.json()["detail"]
            assert f"{MAX_SAMPLE_RATE:,} Hz" in detail and "655,350 Hz" in detail
