from __future__ import annotations

import contextlib
import io
import struct
import wave
import zlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodtune.audio.decode import decode, load_audio
from moodtune.audio.encode import FORMATS, encode_audio, encode_video_only
from moodtune.errors import (
    CorruptMediaError,
    InputTooLargeError,
    MoodtuneError,
    ParameterError,
    UnsupportedMediaError,
)

SR_IN = 22050
SECONDS = 3.0


def _tone(freq: float = 440.0, *, sr: int = SR_IN, seconds: float = SECONDS) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)])


@pytest.fixture(scope="module")
def encoded() -> dict[tuple[str, bool], bytes]:
    """Every format encoded once from a 3 s, 440 Hz tone at 22.05 kHz."""
    y = _tone()
    out = {(fmt, False): encode_audio(y, sr=SR_IN, fmt=fmt) for fmt in FORMATS}
    for fmt in ("mp4", "mov", "webm"):
        out[(fmt, True)] = encode_audio(y, sr=SR_IN, fmt=fmt, video=True)
    return out


CASES = [(fmt, False) for fmt in FORMATS] + [("mp4", True), ("mov", True), ("webm", True)]


@pytest.mark.parametrize(("fmt", "video"), CASES)
def test_each_container_decodes_to_16k_mono_with_right_duration(encoded, fmt, video):
    data = encoded[(fmt, video)]
    audio = decode(data)
    assert audio.sr == 16000
    assert audio.y.dtype == np.float32 and audio.y.ndim == 1
    assert np.all(np.isfinite(audio.y))
    assert audio.duration_s == pytest.approx(SECONDS, rel=0.02)
    assert audio.has_video is video
    # the tone survives decoding and resampling
    assert _peak_hz(audio.y, 16000) == pytest.approx(440.0, abs=3.0)
    assert 0.2 < float(np.max(np.abs(audio.y))) < 0.45


def test_decode_reads_paths_and_reports_source(tmp_path, encoded):
    path = tmp_path / "voice.ogg"
    path.write_bytes(encoded[("ogg", False)])
    audio = decode(path)
    assert audio.container == "ogg" and audio.codec == "opus"
    assert audio.source_sr == 48000 and audio.channels == 1
    np.testing.assert_allclose(load_audio(str(path)), audio.y)


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_output_rate_is_configurable(encoded, sr):
    y = load_audio(encoded[("flac", False)], sr=sr)
    assert y.shape[0] == pytest.approx(SECONDS * sr, rel=0.01)
    assert _peak_hz(y, sr) == pytest.approx(440.0, abs=3.0)


def test_stereo_is_downmixed(tmp_path):
    left, right = _tone(440.0, sr=44100), _tone(1000.0, sr=44100)
    pcm = (np.stack([left, right], axis=1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(pcm.tobytes())
    audio = decode(buf.getvalue())
    assert audio.channels == 2 and audio.source_sr == 44100
    spectrum = np.abs(np.fft.rfft(audio.y))
    freqs = np.fft.rfftfreq(audio.y.size, 1 / 16000)
    for f in (440.0, 1000.0):  # both channels are heard
        assert spectrum[np.argmin(np.abs(freqs - f))] > 0.2 * spectrum.max()


# -- bad input: each case has its own error type and a one-line message ---------------------


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    raw = b"\x00\x00\x00\x00" * 4  # 4 rows: filter byte + 1 grey pixel... padded
    ihdr = struct.pack(">IIBBBBB", 1, 4, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _raises(exc_type, source, *, match: str, **kwargs) -> str:
    with pytest.raises(exc_type, match=match) as info:
        decode(source, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_empty_bytes_and_empty_file(tmp_path):
    _raises(ParameterError, b"", match="empty")
    empty = tmp_path / "empty.ogg"
    empty.touch()
    msg = _raises(ParameterError, empty, match="empty")
    assert str(empty) in msg


def test_missing_path_and_directory(tmp_path):
    _raises(ParameterError, tmp_path / "nope.ogg", match="no such file")
    _raises(ParameterError, tmp_path, match="not a regular file")


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Dear diary, today I felt great.\n" * 20)
    exc = _raises(UnsupportedMediaError, path, match="not an audio or video file")
    assert str(path) in exc


def test_picture_is_not_audio():
    _raises(UnsupportedMediaError, _png(), match="not an audio or video file.*picture")


def test_video_without_audio_track():
    _raises(UnsupportedMediaError, encode_video_only(seconds=1.0), match="no audio stream")


@pytest.mark.parametrize("fmt", ["ogg", "wav", "mp3", "flac", "webm", "m4a", "mp4"])
def test_truncated_file_is_reported(encoded, fmt):
    data = encoded[(fmt, fmt == "mp4")]
    _raises(CorruptMediaError, data[: int(len(data) * 0.6)], match="truncated|damaged")


def test_damaged_file_is_reported(encoded, rng):
    data = bytearray(encoded[("flac", False)])
    for i in rng.integers(len(data) // 4, len(data), 200):
        data[i] = int(rng.integers(0, 256))
    _raises(CorruptMediaError, bytes(data), match="truncated|damaged")


def test_size_limit(encoded):
    data = encoded[("ogg", False)]
    msg = _raises(InputTooLargeError, data, match="over the limit", max_bytes=1000)
    assert f"{len(data):,} bytes" in msg


def test_duration_limit_default_and_configurable():
    long_note = encode_audio(np.zeros(16000 * 12, dtype=np.float32), sr=16000, fmt="ogg")
    msg = _raises(InputTooLargeError, long_note, match="over the limit of 10 s", max_seconds=10)
    assert "12.0 s" in msg
    assert load_audio(long_note, max_seconds=20).shape[0] == pytest.approx(12 * 16000, rel=0.01)


def test_default_limit_is_five_minutes():
    six_minutes = encode_audio(np.zeros(8000 * 360, dtype=np.float32), sr=8000, fmt="flac")
    _raises(InputTooLargeError, six_minutes, match="over the limit of 300 s")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sr": 0}, "sr=0"),
        ({"sr": 16000.5}, "sr=16000.5"),
        ({"max_seconds": -1.0}, "max_seconds=-1.0"),
        ({"max_bytes": 0}, "max_bytes=0"),
    ],
)
def test_bad_parameters(encoded, kwargs, match):
    _raises(ParameterError, encoded[("wav", False)], match=match, **kwargs)


def test_bad_source_type():
    with pytest.raises(ParameterError, match="int"):
        decode(12345)  # type: ignore[arg-type]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=20),
)
def test_any_damage_gives_audio_or_a_moodtune_error(encoded, fmt, cut, flips):
    data = bytearray(encoded[(fmt, False)])
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    data = data[: int(len(data) * cut)]
    error: MoodtuneError | None = None
    try:
        y = load_audio(bytes(data))
    except MoodtuneError as exc:
        error = exc
    if error is not None:
        assert "\n" not in str(error)
    else:
        assert y.dtype == np.float32 and y.size > 0 and np.all(np.isfinite(y))


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data):
    with contextlib.suppress(MoodtuneError):
        load_audio(data)


def test_live_webm_without_duration_decodes():
    # browsers' MediaRecorder writes WebM with no duration and no cues
    import av

    sr = 48000
    pcm = (_tone(sr=sr) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm", options={"live": "1"}) as out:
        stream = out.add_stream("libopus", rate=sr, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
        frame.sample_rate, frame.pts = sr, 0
        frame.time_base = Fraction(1, sr)
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with av.open(io.BytesIO(buf.getvalue())) as probe:
        assert isinstance(probe, av.container.InputContainer)
        assert probe.duration is None
    audio = decode(buf.getvalue())
    assert audio.duration_s == pytest.approx(SECONDS, rel=0.02)
    assert audio.codec == "opus"
