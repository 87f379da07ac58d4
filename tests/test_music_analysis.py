"""Known-answer tests of music analysis on synthetic signals (no files from outside the repo)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodtune.audio.encode import encode_audio
from moodtune.errors import MoodtuneError, ParameterError
from moodtune.music import FEATURE_NAMES, analyze_file, analyze_signal
from moodtune.music.emotion import EmotionModel, default_model
from moodtune.music.features import parse_key

SR = 16000


def clicks(bpm: float, seconds: float, *, sr: int = SR, amp: float = 0.8) -> np.ndarray:
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    n = int(0.01 * sr)
    burst = amp * np.hanning(n) * np.sin(2 * np.pi * 1500 * np.arange(n) / sr)
    for start in np.arange(0.0, seconds - 0.02, 60.0 / bpm):
        i = int(start * sr)
        y[i : i + n] += burst
    return y


def chord(freqs: list[float], seconds: float, *, amp: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = sum(
        (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) for f in freqs),
        start=np.zeros_like(t),
    )
    return (amp * y / len(freqs)).astype(np.float32)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_click_track_tempo_120() -> None:
    res = analyze_signal(clicks(120, 20), sr=SR)
    assert abs(res.features["tempo"] - 120) <= 2  # type: ignore[operator]


def test_c_major_chord_is_major_c() -> None:
    res = analyze_signal(chord([261.63, 329.63, 392.0], 8), sr=SR)
    assert res.features["mode"] == 1
    assert res.features["key"] == 0


def test_a_minor_chord_is_minor() -> None:
    res = analyze_signal(chord([220.0, 261.63, 329.63], 8), sr=SR)
    assert res.features["mode"] == 0


def test_sine_at_minus_20_dbfs_loudness() -> None:
    t = np.arange(10 * SR) / SR
    y = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)  # peak -20 dBFS
    res = analyze_signal(y, sr=SR)
    # BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LUFS
    assert res.features["loudness"] == pytest.approx(-23.0, abs=0.3)
    louder = analyze_signal(y * 4, sr=SR)
    assert louder.features["loudness"] > res.features["loudness"] + 11  # type: ignore[operator]


def test_curve_shape_ranges_and_json(rng: np.random.Generator) -> None:
    y = (0.1 * rng.standard_normal(int(12.4 * SR))).astype(np.float32)
    res = analyze_signal(y, sr=SR)
    d = res.to_dict()
    assert list(d["features"]) == list(FEATURE_NAMES)
    assert d["curve"]["hop_s"] == 1.0
    assert len(d["curve"]["arousal"]) == len(d["curve"]["valence"]) == 12
    for name in ("energy", "valence", "danceability", "acousticness", "instrumentalness"):
        assert 0.0 <= d["features"][name] <= 1.0
    assert all(-1 <= x <= 1 for x in d["curve"]["arousal"] + d["curve"]["valence"])
    assert d["features"]["duration_s"] == pytest.approx(12.4, abs=0.01)
    assert {"arousal_mean", "arousal_std", "valence_mean", "valence_std", "quadrant"} <= set(
        d["summary"]
    )
    json.dumps(d)


def test_loud_fast_noise_has_higher_arousal_than_quiet_slow_pad(rng: np.random.Generator) -> None:
    seconds = 12
    noise = (0.5 * rng.standard_normal(seconds * SR)).astype(np.float32)
    gate = (np.sin(2 * np.pi * 8 * np.arange(seconds * SR) / SR) > 0).astype(np.float32)
    burst = noise * gate + clicks(180, seconds, amp=0.9)
    t = np.arange(seconds * SR) / SR
    pad = chord([130.81, 164.81, 196.0], seconds, amp=0.03) * (
        0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t)
    )
    a_burst = analyze_signal(burst, sr=SR).summary["arousal_mean"]
    a_pad = analyze_signal(pad.astype(np.float32), sr=SR).summary["arousal_mean"]
    assert a_burst > a_pad  # pure synthetic tones are far from any training clip: order only


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg", "opus", "m4a"])
def test_every_format_decodes(tmp_path: Path, fmt: str) -> None:
    y = clicks(120, 6, sr=44100)
    path = tmp_path / f"clip.{fmt}"
    path.write_bytes(encode_audio(y, sr=44100, fmt=fmt))
    res = analyze_file(path)
    assert res.features["duration_s"] == pytest.approx(6.0, abs=0.15)
    assert res.arousal.shape[0] in (6, 7)


def test_ogg_vorbis_decodes(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    path = tmp_path / "clip.ogg"
    sf.write(path, clicks(120, 5, sr=22050), 22050, format="OGG", subtype="VORBIS")
    assert analyze_file(path).features["duration_s"] == pytest.approx(5.0, abs=0.1)


def test_plot_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    src = tmp_path / "c.wav"
    src.write_bytes(encode_audio(clicks(100, 5), sr=SR, fmt="wav"))
    out = tmp_path / "sub" / "curve.png"
    from moodtune.music.plot import plot_analysis

    plot_analysis(analyze_file(src), out, title=src.stem)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="too short"):
        analyze_signal(np.zeros(SR, dtype=np.float32), sr=SR)
    with pytest.raises(ParameterError, match="mono"):
        analyze_signal(np.zeros((2, 5 * SR), dtype=np.float32), sr=SR)
    with pytest.raises(ParameterError, match="no such file"):
        analyze_file(tmp_path / "missing.mp3")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio at all " * 40)
    with pytest.raises(MoodtuneError):
        analyze_file(text)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(encode_audio(clicks(120, 6), sr=SR, fmt="flac")[:3000])
    with pytest.raises(MoodtuneError):
        analyze_file(cut)


def test_parse_key() -> None:
    assert parse_key("D minor") == (2, 0)
    assert parse_key("F# major") == (6, 1)
    assert parse_key("Bb minor") == (10, 0)
    assert parse_key(None) == (-1, None)


def test_model_round_trip(tmp_path: Path) -> None:
    m = default_model()
    m2 = EmotionModel.load(m.save(tmp_path / "m.npz"))
    x = np.random.default_rng(0).normal(size=(9, m.coef.shape[1])) * m.scale + m.mean
    np.testing.assert_allclose(m.predict_windows(x), m2.predict_windows(x), atol=1e-5)
    assert np.all(np.abs(m.predict_windows(x)) <= 1.0)


def test_model_of_another_format_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "old.npz"
    np.savez(bad, mean=np.zeros(10), scale=np.ones(10), coef=np.zeros((2, 10)),
             intercept=np.zeros(2), smooth_s=np.array(5))  # fmt: skip
    with pytest.raises(MoodtuneError, match="retrain"):
        EmotionModel.load(bad)


def test_stereo_loudness_is_bs1770_over_both_channels(tmp_path: Path) -> None:
    """Known answer: pyloudnorm on the full-rate stereo signal, not on a mono downmix."""
    sf = pytest.importorskip("soundfile")
    import pyloudnorm

    from moodtune.music.features import file_loudness

    sr = 44100
    t = np.arange(10 * sr) / sr
    # different content per channel (partly uncorrelated), all below 6 kHz
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 2500 * t)
    right = 0.3 * np.sin(2 * np.pi * 660 * t + 1.0) + 0.1 * np.sin(2 * np.pi * 1800 * t)
    stereo = np.stack([left, right], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo, sr)
    want = pyloudnorm.Meter(sr).integrated_loudness(stereo)
    assert file_loudness(path) == pytest.approx(want, abs=0.15)
    res = analyze_file(path)
    assert res.features["loudness"] == pytest.approx(want, abs=0.15)
    # a long file: the decoder's mono plus the channel correction of its central minute
    from moodtune.music.features import load_music

    long = np.tile(stereo, (8, 1))  # 80 s
    long_path = tmp_path / "long.flac"
    sf.write(long_path, long, sr)
    y16 = load_music(long_path)
    assert file_loudness(long_path, y16=y16) == pytest.approx(want, abs=0.2)
    # the mono downmix this replaces read about 3 dB low
    mono = analyze_signal(stereo.mean(axis=1).astype(np.float32), sr=sr)
    assert mono.features["loudness"] < want - 2.5


def test_digital_silence_is_silent(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    path.write_bytes(encode_audio(np.zeros(20 * SR, dtype=np.float32), sr=SR, fmt="wav"))
    res = analyze_file(path)
    assert res.silent
    d = res.to_dict()
    assert d["silent"] is True
    for name in ("tempo", "key", "mode", "energy", "valence"):
        assert d["features"][name] is None
    assert d["summary"]["quadrant"] is None and d["summary"]["arousal_mean"] is None
    json.dumps(d)


def test_near_silence_hiss_is_silent(rng: np.random.Generator) -> None:
    hiss = (0.0005 * rng.standard_normal(15 * SR)).astype(np.float32)  # about -66 dBFS
    assert analyze_signal(hiss, sr=SR).silent


def test_a_silent_stretch_is_marked_and_left_out_of_the_means(rng: np.random.Generator) -> None:
    music = clicks(150, 10, amp=0.8) + (0.1 * rng.standard_normal(10 * SR)).astype(np.float32)
    y = np.concatenate([music, np.zeros(10 * SR, dtype=np.float32), music])
    res = analyze_signal(y, sr=SR)
    assert not res.silent
    d = res.to_dict()
    (span,) = d["curve"]["silent_spans"]
    assert span[0] == pytest.approx(10, abs=1) and span[1] == pytest.approx(20, abs=1)
    assert d["summary"]["silent_seconds"] == pytest.approx(10, abs=1)
    sounding = ~res.silent_seconds  # type: ignore[operator]
    assert d["summary"]["arousal_mean"] == pytest.approx(
        float(np.mean(res.arousal[sounding])), abs=1e-3
    )
    # the pause carries the music around it, not a dip into "sad"
    assert np.min(res.valence[12:18]) >= np.min(res.valence[sounding]) - 0.05


def test_plot_marks_the_lyrics_and_blended_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from moodtune.music.lyrics import LyricsEmotion, track_emotion_point
    from moodtune.music.plot import plot_analysis
    from moodtune.types import LABELS, EmotionEstimate

    legends: list[list[str]] = []
    save = Figure.savefig

    def spy(self: Figure, *args: Any, **kwargs: Any) -> None:
        legends.append(
            [
                t.get_text()
                for ax in self.axes
                if (legend := ax.get_legend()) is not None
                for t in legend.get_texts()
            ]
        )
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    src = tmp_path / "c.wav"
    src.write_bytes(encode_audio(clicks(100, 5), sr=SR, fmt="wav"))
    analysis = analyze_file(src)
    sad = EmotionEstimate.from_probabilities([0.95 if lab == "sadness" else 0.01 for lab in LABELS])
    lyrics = LyricsEmotion(source="lrc", language="en", text="I cry alone", emotion=sad)
    point = track_emotion_point(0.0, 0.0, lyrics)
    plot_analysis(analysis, tmp_path / "plain.png")
    plot_analysis(analysis, tmp_path / "words.png", emotion_point=point)
    plain, words = legends
    assert "sound (mean)" in plain and not any("lyrics" in t for t in plain)
    assert "lyrics (sadness)" in words
    assert f"sound + lyrics ({point['lyrics_share']:.0%} words)" in words


MUSIC = Path(__file__).parent / "data" / "music"


@pytest.fixture(scope="module")
def wesnoth() -> dict[str, object]:
    return {
        name: analyze_file(MUSIC / f"wesnoth_{name}.ogg")
        for name in ("battle_loud", "sad_quiet", "silence")
    }


def test_real_silence_is_silent(wesnoth: dict[str, object]) -> None:
    res = wesnoth["silence"]
    assert res.silent  # type: ignore[attr-defined]
    assert res.features["tempo"] is None  # type: ignore[attr-defined]


def test_loud_battle_reads_more_aroused_than_a_quiet_passage(wesnoth: dict[str, object]) -> None:
    loud = wesnoth["battle_loud"].summary  # type: ignore[attr-defined]
    quiet = wesnoth["sad_quiet"].summary  # type: ignore[attr-defined]
    assert quiet["arousal_mean"] < 0.0  # the quiet passage sits in the low-arousal half
    assert loud["arousal_mean"] > quiet["arousal_mean"] + 0.2


@pytest.mark.xfail(
    strict=True,
    reason="known miss: the 4Q-trained heads put orchestral music in the low-arousal half "
    "(4Q's classical and new-age clips are almost all low arousal); see the model card",
)
def test_loud_battle_sits_in_the_high_arousal_half(wesnoth: dict[str, object]) -> None:
    assert wesnoth["battle_loud"].summary["arousal_mean"] > 0.0  # type: ignore[attr-defined]
