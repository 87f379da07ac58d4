"""Voice messages through the service and the console script, as a user sends them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moodtune.audio.decode import load_audio
from moodtune.audio.encode import encode_audio, encode_video_only
from moodtune.errors import ParameterError
from moodtune.service import Moodtune
from moodtune.types import LABELS

SPEECH = Path(__file__).parent / "data" / "speech"
SCRIPT = Path(sys.executable).parent / "moodtune"

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, pattern: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert pattern in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def service() -> Moodtune:
    return Moodtune()


@pytest.mark.parametrize(
    ("name", "lang", "words"),
    [
        ("en_sad", "en", {"sad", "lonely"}),
        ("en_happy", "en", {"happy", "wonderful"}),
        ("ru_sad", "ru", {"грустно"}),
        ("ru_happy", "ru", {"счастлив", "замечательно"}),
    ],
)
def test_voice_note_parts_and_fusion(service, name, lang, words):
    result = service.emotion_from_audio(SPEECH / f"{name}.ogg")
    assert result.language == lang
    said = result.transcript.lower()
    assert all(w in said for w in words), said
    assert set(result.parts) == {"voice", "text"}
    fused = result.emotion
    assert fused.source == "fused"
    np.testing.assert_allclose(fused.probabilities.sum(), 1.0)
    # the fused distribution lies between its parts: every label's probability is bounded
    # by the parts' geometric pooling, so the fused label is one a part ranks highly
    top_parts = {est.label for est in result.parts.values()}
    second = {LABELS[int(np.argsort(est.probabilities)[-2])] for est in result.parts.values()}
    assert fused.label in top_parts | second
    lo = min(est.valence for est in result.parts.values()) - 1e-6
    hi = max(est.valence for est in result.parts.values()) + 1e-6
    assert lo <= fused.valence <= hi or abs(fused.valence) < 0.8


WORDS = {
    "en_sad": "sadness",
    "en_happy": "happiness",
    "en_angry": "anger",
    "ru_sad": "sadness",
    "ru_happy": "happiness",
    "ru_angry": "anger",
}


@pytest.mark.parametrize(("name", "label"), sorted(WORDS.items()))
def test_flat_synthetic_voice_lets_the_words_decide(service, name, label):
    # espeak/festival voices carry no emotion and sound like no training voice: the
    # voice must not be sure of a label the words contradict, and the words decide
    result = service.emotion_from_audio(SPEECH / f"{name}.ogg")
    voice = result.parts["voice"].probability_dict()
    contradicted = {lab: p for lab, p in voice.items() if lab != label}
    assert max(contradicted.values()) <= 0.8, contradicted
    assert result.parts["text"].label == label
    assert result.emotion.label == label


def test_one_user_sending_all_notes_still_lets_the_words_decide(service):
    # from the second message on the head uses the user's own statistics and the
    # history prior: the synthetic voices must still not overrule clear words
    for name, label in sorted(WORDS.items()):
        result = service.emotion_from_audio(SPEECH / f"{name}.ogg", user="one-user-six-notes")
        voice = result.parts["voice"].probability_dict()
        assert max(p for lab, p in voice.items() if lab != label) <= 0.8, (name, voice)
        assert result.emotion.label == label, name


def test_unsure_voice_is_reported_as_such(service):
    from moodtune.fusion import is_unsure

    result = service.emotion_from_audio(SPEECH / "en_angry.ogg")
    data = result.to_dict()
    assert set(data["unsure"]) <= {"voice", "fused"}
    assert ("voice" in data["unsure"]) == is_unsure(result.parts["voice"])


def test_wordless_sound_falls_back_to_voice(service):
    t = np.arange(0, 3.0, 1 / 16000)
    hum = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    data = encode_audio(hum.astype(np.float32), sr=16000, fmt="ogg")
    error: ParameterError | None = None
    try:
        result = service.emotion_from_audio(data)
    except ParameterError as exc:  # the VAD may call a pure tone "no speech": also fine
        error = exc
    if error is not None:
        assert "no speech" in str(error)
        return
    assert "voice" in result.parts
    if not result.transcript:
        assert set(result.parts) == {"voice"}
        np.testing.assert_allclose(
            result.emotion.probabilities, result.parts["voice"].probabilities
        )


def test_language_can_be_forced(service):
    result = service.emotion_from_audio(SPEECH / "en_happy.ogg", language="en")
    assert result.language == "en"
    with pytest.raises(ParameterError, match="language 'de' is not supported"):
        service.emotion_from_audio(SPEECH / "en_happy.ogg", language="de")


def test_cli_recommend_voice_json():
    proc = run("recommend", str(SPEECH / "ru_sad.ogg"), "--json", "--n", "5")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["language"] == "ru"
    assert "грустно" in data["transcript"].lower()
    assert set(data["parts"]) == {"voice", "text"}
    for part in data["parts"].values():
        assert set(part) == {"label", "probabilities", "valence", "arousal", "confidence"}
    assert len(data["tracks"]) == 5


def test_cli_emotion_human_output():
    proc = run("emotion", str(SPEECH / "en_happy.ogg"))
    assert proc.returncode == 0, proc.stderr
    for word in ("Transcript", "voice", "text", "fused", "happy"):
        assert word in proc.stdout


@pytest.fixture
def bad_files(tmp_path):
    sr = 16000
    speech = load_audio(SPEECH / "en_sad.ogg")
    files = {}
    files["empty"] = tmp_path / "empty.ogg"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "notes.ogg"
    files["text"].write_text("this is not audio at all\n" * 50)
    ogg = encode_audio(speech, sr=sr, fmt="ogg")
    files["truncated"] = tmp_path / "cut.ogg"
    files["truncated"].write_bytes(ogg[: len(ogg) // 2])
    files["video"] = tmp_path / "silent_film.mp4"
    files["video"].write_bytes(encode_video_only(seconds=1.0, fmt="mp4"))
    files["silence"] = tmp_path / "silence.ogg"
    files["silence"].write_bytes(encode_audio(np.zeros(3 * sr, np.float32), sr=sr, fmt="ogg"))
    files["long"] = tmp_path / "long.ogg"
    files["long"].write_bytes(encode_audio(np.zeros(301 * sr, np.float32), sr=sr, fmt="ogg"))
    return files


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("empty", "empty"),
        ("text", "not an audio"),
        ("truncated", "truncated"),
        ("video", "no audio"),
        ("silence", "no speech"),
        ("long", "limit"),
    ],
)
def test_cli_bad_voice_input(bad_files, kind, pattern):
    one_line_error(run("emotion", str(bad_files[kind])), 2, pattern)


def test_cli_missing_file():
    one_line_error(run("recommend", "/no/such/voice.ogg"), 2, "")


def test_cli_file_and_text_together():
    one_line_error(run("emotion", str(SPEECH / "en_sad.ogg"), "--text", "hi"), 2, "not both")
