"""Music under a voice: envelope, limiter, fitting, and the mixed files themselves."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from moodtune.audio.decode import decode
from moodtune.audio.encode import encode_audio, encode_video_only
from moodtune.errors import (
    CatalogError,
    MoodtuneError,
    NoSpeechError,
    ParameterError,
    UnsupportedMediaError,
)
from moodtune.mix import DuckingParams, MixResult
from moodtune.mix.envelope import ducking_gain_db, segments_to_activity
from moodtune.mix.render import (
    fit_music,
    integrated_loudness,
    limit_true_peak,
    true_peak_db,
)

SR = 48000
SPEECH = Path(__file__).parent / "data" / "speech"
TONE_HZ = 14000.0  # above anything the 16-22 kHz synthesized voices hold


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mix")


@pytest.fixture(scope="module")
def voice_file(workdir: Path) -> tuple[Path, list[tuple[float, float]]]:
    """Three spoken phrases with 4 s pauses around them; returns (wav path, speech spans s)."""
    parts: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    pos = 0
    for name in ("en_happy", "ru_sad", "en_angry"):
        pause = np.zeros(4 * SR, dtype=np.float32)
        y = decode(SPEECH / f"{name}.ogg", sr=SR).y
        parts += [pause, y]
        spans.append(((pos + pause.size) / SR, (pos + pause.size + y.size) / SR))
        pos += pause.size + y.size
    parts.append(np.zeros(4 * SR, dtype=np.float32))
    path = workdir / "voice.wav"
    path.write_bytes(encode_audio(np.concatenate(parts), sr=SR, fmt="wav"))
    return path, spans


@pytest.fixture(scope="module")
def tone_file(workdir: Path) -> Path:
    """Steady music stand-in: a 14 kHz tone, 7 s (shorter than the voice, so it loops)."""
    t = np.arange(7 * SR) / SR
    path = workdir / "tone.wav"
    path.write_bytes(encode_audio(0.3 * np.sin(2 * np.pi * TONE_HZ * t), sr=SR, fmt="wav"))
    return path


def _mix(src: Path, **kw: object) -> MixResult:
    """Mix with a music file as the track: no catalog is opened and no model runs."""
    from moodtune.service import Moodtune

    return Moodtune().mix(src, **kw)  # type: ignore[arg-type]


def _read(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole file's first audio stream to (channels, n) float at its own rate."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        rs = av.AudioResampler(format="fltp", layout="stereo", rate=SR)
        blocks = [o.to_ndarray() for f in c.decode(s) for o in rs.resample(f)]
        blocks += [o.to_ndarray() for o in rs.resample(None)]
    return np.concatenate(blocks, axis=1), SR


def _band_level_db(y: np.ndarray, spans: list[tuple[float, float]]) -> list[float]:
    """Median 50 ms RMS level (dB) of the 14 kHz band inside each span."""
    sos = butter(6, [TONE_HZ - 1000, TONE_HZ + 1000], btype="band", fs=SR, output="sos")
    band = sosfiltfilt(sos, y.mean(axis=0))
    hop = SR // 20
    out = []
    for a, b in spans:
        seg = band[int(a * SR) : int(b * SR)]
        n = seg.size // hop
        rms = np.sqrt(np.mean(seg[: n * hop].reshape(n, hop) ** 2, axis=1))
        out.append(float(np.median(20 * np.log10(rms + 1e-12))))
    return out


# ----------------------------------------------------------------------------- envelope
def test_envelope_attack_hold_release() -> None:
    p = DuckingParams(depth_db=12, attack_s=0.2, hold_s=0.3, release_s=0.5, hop_s=0.01)
    active = segments_to_activity([(SR, 2 * SR)], n_samples=5 * SR, sr=SR, hop_s=0.01)
    g = ducking_gain_db(active, p)
    t = np.arange(g.size) * 0.01
    assert np.all(g[(t >= 1.0) & (t <= 2.0)] == -12.0)  # fully down through speech
    assert g[np.searchsorted(t, 0.79)] == 0.0 and g[np.searchsorted(t, 0.9)] < -5  # look-ahead
    assert np.all(g[(t > 2.0) & (t <= 2.3)] == -12.0)  # hold
    rel = g[(t > 2.3) & (t <= 2.81)]
    assert np.all(np.diff(rel) >= 0) and np.count_nonzero(np.diff(rel) > 0) >= 45
    assert rel[-1] == 0.0  # release rises to 0 dB over 0.5 s
    assert np.all(g[t > 2.85] == 0.0) and np.all(g[t < 0.75] == 0.0)
    assert np.all((g <= 0) & (g >= -12))


def test_envelope_short_gap_stays_down() -> None:
    p = DuckingParams(depth_db=10, hold_s=0.4)
    active = segments_to_activity([(0, SR), (int(1.2 * SR), 2 * SR)], n_samples=3 * SR, sr=SR)
    g = ducking_gain_db(active, p)
    assert np.all(g[:200] == -10.0)  # a 0.2 s breath does not pump the music


def test_ducking_params_validated() -> None:
    with pytest.raises(ParameterError, match="depth_db"):
        DuckingParams(depth_db=0)
    with pytest.raises(ParameterError, match="release_s"):
        DuckingParams(release_s=-1)


# ----------------------------------------------------------------------------- limiter
def test_limiter_holds_inter_sample_peaks() -> None:
    t = np.arange(2 * SR) / SR
    # fs/4 sine at 45 degrees: every sample is at 0.707 of the true peak
    y = np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)
    y = np.vstack([y, 0.5 * y]) * 1.3
    assert true_peak_db(y) > 2.0
    assert 20 * np.log10(np.abs(y).max()) < true_peak_db(y) - 2.5  # sample peaks miss it
    out = limit_true_peak(y, sr=SR, ceiling_db=-1.0)
    assert true_peak_db(out) <= -1.0
    quiet = 0.1 * np.sin(2 * np.pi * 440 * t)[None, :]
    assert np.allclose(limit_true_peak(quiet, sr=SR), quiet, atol=1e-6)  # below: untouched


# ----------------------------------------------------------------------------- fitting
def test_fit_music_loops_on_the_beat_and_fades() -> None:
    bpm, beats_n = 120.0, 16  # 8 s of clicks every 0.5 s
    m = np.zeros((2, int(beats_n * 0.5 * SR)), dtype=np.float32)
    click = np.hanning(480).astype(np.float32)
    beats = np.arange(beats_n) * 60 / bpm
    for b in beats:
        i = int(b * SR)
        m[:, i : i + 480] += click
    out = fit_music(m, sr=SR, n_samples=30 * SR, beats_s=beats, crossfade_s=0.2)
    assert out.shape == (2, 30 * SR)
    assert abs(out[:, 0]).max() < 1e-3 and abs(out[:, -1]).max() < 1e-3  # fade in/out
    # clicks keep falling every 0.5 s across the seams (loop of whole bars)
    env = np.abs(out[0, 3 * SR : 25 * SR])
    peaks = np.flatnonzero((env[1:-1] > 0.5) & (env[1:-1] >= env[:-2]) & (env[1:-1] > env[2:]))
    gaps = np.diff(peaks) / SR
    assert np.allclose(gaps, 0.5, atol=0.01), sorted(set(np.round(gaps, 3)))
    trimmed = fit_music(m, sr=SR, n_samples=3 * SR)
    assert trimmed.shape == (2, 3 * SR)


# ----------------------------------------------------------------------------- the files
@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_wav_mix_loudness_peak_ducking_duration(
    voice_file: tuple[Path, list[tuple[float, float]]],
    tone_file: Path,
    workdir: Path,
    target: float,
) -> None:
    voice, spans = voice_file
    out = workdir / f"mix{int(-target)}.wav"
    res = _mix(voice, track=str(tone_file), output=out, loudness=target)
    y, sr = _read(out)
    assert y.shape[1] == decode(voice, sr=SR).y.shape[0]  # same duration, to the sample
    assert abs(integrated_loudness(y, sr=sr) - target) <= 1.0
    assert true_peak_db(y, oversample=4) <= -1.0
    # music (the 14 kHz band) during speech vs in the middle of the pauses
    speech = [(a + 0.3, b - 0.3) for a, b in spans]
    pauses = [(b + 1.6, b + 3.4) for _, b in spans[:-1]] + [(spans[0][0] - 2.5, spans[0][0] - 1)]
    s_db, p_db = _band_level_db(y, speech), _band_level_db(y, pauses)
    assert min(p_db) - max(s_db) >= 8.0, (p_db, s_db)
    assert res.duck_depth_db >= 8.0 and res.video is False
    assert not [p for p in workdir.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("ext", [".mp3", ".m4a"])
def test_lossy_outputs(
    voice_file: tuple[Path, list[tuple[float, float]]], tone_file: Path, workdir: Path, ext: str
) -> None:
    voice, _ = voice_file
    out = workdir / f"mix{ext}"
    _mix(voice, track=str(tone_file), output=out)
    y, sr = _read(out)
    n = decode(voice, sr=SR).y.shape[0]
    assert abs(y.shape[1] - n) / SR < 0.05  # codec frames: within 50 ms
    assert abs(integrated_loudness(y, sr=sr) + 16.0) <= 1.0
    assert true_peak_db(y) <= -1.0


def _tiny_video(path: Path, *, seconds: float = 4.0, codec: str = "libx264") -> int:
    """A 160x120 25 fps video with speech audio (AAC); returns its frame count."""
    speech = decode(SPEECH / "en_happy.ogg", sr=SR).y[: int(seconds * SR)]
    n_frames = int(seconds * 25)
    with av.open(str(path), mode="w") as out:
        v = out.add_stream(codec, rate=25)
        assert isinstance(v, av.VideoStream)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        a = out.add_stream("aac", rate=SR, layout="mono")
        rng = np.random.default_rng(1)
        for i in range(n_frames):
            img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        af = av.AudioFrame.from_ndarray(
            (speech * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        af.sample_rate, af.pts, af.time_base = SR, 0, Fraction(1, SR)
        out.mux(a.encode(af))
        out.mux(a.encode(None))
    return n_frames


def _video_facts(path: Path) -> tuple[str, int, float, list[bytes]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.time_base is not None
        packets = [bytes(p) for p in c.demux(s) if p.size]
        dur = float(s.duration * s.time_base) if s.duration else float("nan")
        return s.codec_context.name, len(packets), dur, packets


def test_video_stream_copied_unchanged(tone_file: Path, workdir: Path) -> None:
    src = workdir / "clip.mp4"
    n_frames = _tiny_video(src)
    out = workdir / "clip.mix.mp4"
    res = _mix(src, track=str(tone_file), output=out)
    codec0, frames0, dur0, pk0 = _video_facts(src)
    codec1, frames1, dur1, pk1 = _video_facts(out)
    assert (codec1, frames1) == (codec0, frames0) == ("h264", n_frames)
    assert dur1 == pytest.approx(dur0, abs=1e-3)
    assert pk1 == pk0  # the very same compressed frames: no re-encode
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    y, _ = _read(out)
    assert abs(y.shape[1] / SR - decode(src, sr=SR).duration_s) < 0.05
    assert true_peak_db(y) <= -1.0 and res.video


def test_mix_upload_hook(tone_file: Path, workdir: Path) -> None:
    from moodtune.catalog.repository import Catalog
    from moodtune.service import Moodtune

    db = workdir / "upload.sqlite"
    with Catalog.open(db) as cat:  # uploads name catalog tracks only: one with a scanned file
        cat.upsert_tracks([{"id": "tone", "name": "tone", "artists": ["a"], "valence": 0.5}])
        cat.add_library_root(tone_file.parent)
        cat.record_file(tone_file.resolve(), track_id="tone", size=1, mtime_ns=1, sha256="t" * 8)
    service = Moodtune(catalog_path=db)
    src = workdir / "hook.mp4"
    _tiny_video(src, seconds=2.0, codec="mpeg4")
    data, res = service.mix_upload(src.read_bytes(), filename="clip.mp4", track="tone")
    assert data[4:8] == b"ftyp" and res.video and res.media_type == "video/mp4"
    with av.open(io.BytesIO(data)) as c:
        assert c.streams.video[0].codec_context.name == "mpeg4" and c.streams.audio
    audio, res = service.mix_upload(
        src.read_bytes(),
        filename="clip.mp4",
        output_ext="mp3",
        track="tone",
    )
    assert not res.video and decode(audio).duration_s == pytest.approx(2.0, abs=0.1)


# ----------------------------------------------------------------------------- bad input
def _leftovers(folder: Path, before: set[str]) -> set[str]:
    return {p.name for p in folder.iterdir()} - before


def test_bad_inputs_one_line_errors_and_no_files(
    voice_file: tuple[Path, list[tuple[float, float]]],
    tone_file: Path,
    tmp_path: Path,
    workdir: Path,
) -> None:
    from moodtune.service import Moodtune

    service = Moodtune(catalog_path=workdir / "empty.sqlite")
    voice, _ = voice_file
    before = {p.name for p in tmp_path.iterdir()}
    t = np.arange(3 * SR) / SR
    no_speech = tmp_path / "tone_only.wav"
    no_speech.write_bytes(encode_audio(0.2 * np.sin(2 * np.pi * 220 * t), sr=SR, fmt="wav"))
    silent_video = tmp_path / "silent.mp4"
    silent_video.write_bytes(encode_video_only(seconds=1.0))
    clip = tmp_path / "clip.mp4"
    _tiny_video(clip, seconds=2.0)
    before = {p.name for p in tmp_path.iterdir()}
    cases: list[tuple[Path, dict[str, object], type[MoodtuneError], str]] = [
        (no_speech, {"output": tmp_path / "a.wav"}, NoSpeechError, "no speech"),
        (silent_video, {"output": tmp_path / "b.mp4"}, UnsupportedMediaError, "no audio"),
        (voice, {"output": tmp_path / "nowhere" / "c.wav"}, ParameterError, "does not exist"),
        (voice, {"output": no_speech / "d.wav"}, ParameterError, "does not exist"),
        (voice, {"output": tmp_path / "e.ogg"}, ParameterError, "unknown extension"),
        (voice, {"output": tmp_path / "f.mp4"}, ParameterError, "no video stream"),
        (voice, {"output": tmp_path / "g.wav", "loudness": 3.0}, ParameterError, "loudness"),
        (voice, {"output": tmp_path / "h.wav", "strategy": "x"}, ParameterError, "strategy"),
        # h264 cannot go into WebM: fails while writing, after the temp file exists
        (clip, {"output": tmp_path / "i.webm"}, UnsupportedMediaError, "cannot go into"),
        (voice, {"output": tmp_path / "j.wav", "track": "no-such"}, ParameterError, "neither"),
    ]
    for src, kw, err, words in cases:
        kw.setdefault("track", str(tone_file))
        with pytest.raises(err, match=words) as info:
            service.mix(src, **kw)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)
        assert _leftovers(tmp_path, before) == set(), (kw, _leftovers(tmp_path, before))


def test_catalog_without_local_audio(
    voice_file: tuple[Path, list[tuple[float, float]]], tmp_path: Path
) -> None:
    from moodtune.catalog.repository import Catalog
    from moodtune.service import Moodtune

    db = tmp_path / "c.sqlite"
    with Catalog.open(db) as cat:
        cat.upsert_tracks([{"id": "t1", "name": "remote only", "artists": ["a"], "valence": 0.5}])
    service = Moodtune(catalog_path=db)
    out = tmp_path / "out.m4a"
    with pytest.raises(CatalogError, match="no track with a local audio file"):
        service.mix(voice_file[0], output=out)
    with pytest.raises(ParameterError, match="no local audio file"):
        service.mix(voice_file[0], output=out, track="t1")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "out" in p.name]


def test_recommended_track_from_catalog(
    voice_file: tuple[Path, list[tuple[float, float]]],
    tone_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --track, the track comes from the catalog rows that have a local file."""
    from moodtune.catalog.repository import Catalog
    from moodtune.service import EmotionResult, Moodtune
    from moodtune.types import LABELS, EmotionEstimate

    db = tmp_path / "c.sqlite"
    base = {"artists": ["a"], "energy": 0.5, "danceability": 0.5, "tempo": 100.0, "mode": 1}
    with Catalog.open(db) as cat:
        cat.upsert_tracks(
            [
                {"id": "sad", "name": "sad", "valence": 0.1, "local_path": str(tone_file), **base},
                {"id": "joy", "name": "joy", "valence": 0.95, "local_path": str(tone_file), **base},
                {"id": "far", "name": "no file", "valence": 0.95, **base},
            ]
        )
        # only files a scan recorded under a library root are played
        cat.add_library_root(tone_file.parent)
        for tid in ("sad", "joy"):
            copy = tone_file.with_name(f"{tid}.wav")
            copy.write_bytes(tone_file.read_bytes())
            cat.record_file(copy.resolve(), track_id=tid, size=1, mtime_ns=1, sha256=tid * 8)
    service = Moodtune(catalog_path=db)
    probs = np.full(len(LABELS), 0.01)
    probs[list(LABELS).index("happiness")] = 1.0
    happy = EmotionResult(EmotionEstimate.from_probabilities(probs / probs.sum()), "en")
    heard: list[object] = []

    def fake_emotion(**kw: object) -> EmotionResult:
        heard.append(kw.get("audio"))
        return happy

    monkeypatch.setattr(service, "emotion_of", fake_emotion)
    res = service.mix(voice_file[0], output=tmp_path / "out.wav")
    # the voice is heard as decoded for the mix (16 kHz), never encoded again
    assert res.track["id"] == "joy" and len(heard) == 1 and isinstance(heard[0], np.ndarray)
    assert len(heard[0]) / 16000 == pytest.approx(decode(voice_file[0]).duration_s, abs=0.01)
    assert res.to_dict()["emotion"]["emotion"]["label"] == "happiness"


def test_recommended_track_is_a_song_not_a_jingle(
    voice_file: tuple[Path, list[tuple[float, float]]],
    tone_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A jingle that fits best is passed over for a song; with jingles only, it says so."""
    from moodtune.catalog.repository import Catalog
    from moodtune.service import EmotionResult, Moodtune
    from moodtune.types import LABELS, EmotionEstimate

    base = {"artists": ["a"], "energy": 0.5, "danceability": 0.5, "tempo": 100.0, "mode": 1}
    rows = {
        "jingle": {"valence": 0.95, "duration_ms": 8_500.0},  # the best fit, 8.5 s
        "song": {"valence": 0.8, "duration_ms": 180_000.0},
    }
    probs = np.full(len(LABELS), 0.01)
    probs[list(LABELS).index("happiness")] = 1.0
    happy = EmotionResult(EmotionEstimate.from_probabilities(probs / probs.sum()), "en")
    for case, ids in (("both", ("jingle", "song")), ("jingles", ("jingle",))):
        db = tmp_path / f"{case}.sqlite"
        with Catalog.open(db) as cat:
            cat.upsert_tracks([{"id": t, "name": t, **base, **rows[t]} for t in ids])
            cat.add_library_root(tone_file.parent)
            for tid in ids:
                copy = tone_file.with_name(f"{case}-{tid}.wav")
                copy.write_bytes(tone_file.read_bytes())
                cat.record_file(copy.resolve(), track_id=tid, size=1, mtime_ns=1, sha256=tid * 8)
        service = Moodtune(catalog_path=db)
        monkeypatch.setattr(service, "emotion_of", lambda **kw: happy)
        res = service.mix(voice_file[0], output=tmp_path / f"{case}.wav")
        if case == "both":
            assert res.track["id"] == "song" and "note" not in res.track
        else:
            assert res.track["id"] == "jingle"
            assert "no local track is a song of 60 s or more" in res.track["note"]
            # issue 16: a short track loops only when it is made to loop (a tone is not)
            assert "is not made to loop, so it plays once" in res.track["note"]


def test_cli_command(
    voice_file: tuple[Path, list[tuple[float, float]]], tone_file: Path, tmp_path: Path
) -> None:
    """The typer command the lead registers as ``moodtune mix``."""
    import json

    import typer
    from typer.testing import CliRunner

    from moodtune.cli import mix

    app = typer.Typer()
    app.command()(mix)
    app.command("noop")(lambda: None)  # a second command keeps `mix` a subcommand
    out = tmp_path / "o.wav"
    args = ["mix", str(voice_file[0]), "--track", str(tone_file), "-o", str(out), "--json"]
    result = CliRunner().invoke(app, [*args, "--loudness", "-14"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["target_lufs"] == -14.0 and abs(data["loudness_lufs"] + 14.0) <= 1.0
    assert out.is_file() and data["duck_depth_db"] >= 8.0
    bad = CliRunner().invoke(app, ["mix", str(voice_file[0]), "-o", str(tmp_path / "x.aiff")])
    assert isinstance(bad.exception, ParameterError)
