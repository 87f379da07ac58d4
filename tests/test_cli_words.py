"""Issue 7 through the console script: genre, lyrics, descriptions and the optional LLM.

The LLM is a scripted OpenAI-compatible server on 127.0.0.1 (tests/fake_llm.py), reached
through the same MOODTUNE_LLM_* settings a user sets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fake_llm import FakeLLM, closed_port_url
from test_genre import write_synthetic

SCRIPT = Path(sys.executable).parent / "moodtune"
LYRICS = Path(__file__).parent / "data" / "lyrics"
TEXT = "Мне очень грустно и одиноко, я плачу весь вечер"

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MOODTUNE_LLM_")}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=base | env, timeout=300
    )


def words(text: str) -> str:
    """The console output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MOODTUNE_CATALOG": str(tmp_path / "catalog.sqlite")}


def test_analyze_sung_track_shows_lyrics_genre_and_description(env: dict[str, str]) -> None:
    res = run("analyze", str(LYRICS / "en_sad.ogg"), env=env)
    assert res.returncode == 0, res.stderr
    out = words(res.stdout)
    assert "genre:" in out and "lyrics (heard by Whisper, en): sadness" in out
    assert "lonely" in out and "emotion point" in out
    res = run("analyze", str(LYRICS / "en_sad.ogg"), "--json", env=env)
    data = json.loads(res.stdout)
    assert data["lyrics"]["source"] == "whisper" and data["lyrics"]["valence"] < 0
    point = data["emotion_point"]
    assert 0 < point["lyrics_share"] <= 0.4
    assert point["valence"] < point["audio"]["valence"]  # the sad words pull it down
    assert data["description"]["source"] == "template"
    assert data["description"]["note"] is None and len(data["description"]["text"]) > 40
    assert set(data["genre"]["probabilities"]) == {"edm", "latin", "pop", "r&b", "rap", "rock"}


def test_analyze_reads_a_sidecar_and_no_lyrics_skips_whisper(
    env: dict[str, str], tmp_path: Path
) -> None:
    res = run("analyze", str(LYRICS / "sidecar_song.ogg"), "--json", "--no-lyrics", env=env)
    assert res.returncode == 0, res.stderr
    lyr = json.loads(res.stdout)["lyrics"]
    assert lyr["source"] == "lrc" and lyr["label"] == "happiness" and lyr["valence"] > 0
    shutil.copy(LYRICS / "en_happy.ogg", tmp_path / "song.ogg")
    res = run("analyze", str(tmp_path / "song.ogg"), "--json", "--no-lyrics", env=env)
    assert json.loads(res.stdout)["lyrics"] is None
    (tmp_path / "song.txt").write_text("I cry alone tonight, my heart is broken and cold")
    res = run("analyze", str(tmp_path / "song.ogg"), "--json", "--no-lyrics", env=env)
    lyr = json.loads(res.stdout)["lyrics"]
    assert lyr["source"] == "txt" and lyr["valence"] < 0  # the file wins over the singing


def test_recommend_with_an_llm_and_every_fallback(env: dict[str, str]) -> None:
    with FakeLLM() as llm:
        answer = {
            "valence": 0.2,
            "energy": 0.25,
            "tempo": 300,
            "acousticness": 0.8,
            "danceability": 0.3,
            "loudness": -14,
            "mode": 0.2,
            "why": "soft and slow",
        }
        llm.script("json", answer)
        llm_env = env | {
            "MOODTUNE_LLM_URL": llm.url,
            "MOODTUNE_LLM_MODEL": "fake-1",
            "MOODTUNE_LLM_KEY": "secret",
            "MOODTUNE_LLM_TIMEOUT": "2",
        }
        res = run("recommend", "--text", TEXT, "--json", "-n", "5", env=llm_env)
        assert res.returncode == 0, res.stderr
        data = json.loads(res.stdout)
        targets = data["targets"]
        assert targets["source"] == "llm" and targets["model"] == "fake-1"
        assert targets["targets"]["tempo"] == 220.0  # 300 clamped
        assert "clamped tempo 300 -> 220" in targets["note"]
        assert targets["why"] == "soft and slow"
        chat = llm.chats()[-1]
        assert TEXT in json.dumps(chat["json"], ensure_ascii=False)
        assert chat["headers"]["authorization"] == "Bearer secret"
        assert len(data["tracks"]) == 5
        res = run("recommend", "--text", TEXT, env=llm_env)
        assert "targets (llm)" in words(res.stdout) and "soft and slow" in words(res.stdout)
        # --no-llm never calls it
        before = len(llm.chats())
        res = run("recommend", "--text", TEXT, "--json", "--no-llm", env=llm_env)
        assert json.loads(res.stdout)["targets"]["source"] == "builtin"
        assert len(llm.chats()) == before
        # a 500, bad JSON and a slow reply fall back to the built-in mapping, and say so
        cases: list[tuple[str, Any, dict[str, Any], str]] = [
            ("status", None, {"status": 500}, "HTTP 500"),
            ("text", "maybe 80 BPM, something gentle", {}, "not JSON"),
            ("slow", answer, {"delay": 5.0}, "timed out"),
        ]
        for kind, payload, opts, said in cases:
            llm.script(kind, payload, **opts)
            res = run(
                "recommend", "--text", TEXT, "--json", env=llm_env | {"MOODTUNE_LLM_TIMEOUT": "1"}
            )
            assert res.returncode == 0, res.stderr
            t = json.loads(res.stdout)["targets"]
            assert t["source"] == "builtin" and said in t["note"], t
    closed = env | {"MOODTUNE_LLM_URL": closed_port_url()}
    res = run("recommend", "--text", TEXT, "--json", env=closed)
    t = json.loads(res.stdout)["targets"]
    assert t["source"] == "builtin" and "connect" in t["note"]
    res = run("recommend", "--text", TEXT, "--json", "--llm", env=env)
    assert json.loads(res.stdout)["targets"]["note"].startswith("no LLM configured")
    res = run("recommend", "--text", TEXT, env=closed)
    assert "targets (builtin)" in words(res.stdout)
    assert "built-in mapping used" in words(res.stdout)


def test_analyze_with_an_llm_description_and_its_fallback(env: dict[str, str]) -> None:
    text = ("A slow, heavy opening gives way to a hopeful middle. "
            "It closes softly, like a sigh of relief.")  # fmt: skip
    with FakeLLM() as llm:
        llm.script("json", {"description": text})
        llm_env = env | {"MOODTUNE_LLM_URL": llm.url, "MOODTUNE_LLM_TIMEOUT": "2"}
        args = ("analyze", str(LYRICS / "instrumental.ogg"), "--json")
        desc = json.loads(run(*args, env=llm_env).stdout)["description"]
        assert desc == {**desc, "text": text, "source": "llm", "model": "fake-1"}
        llm.script("json", {"summary": "no description field"})
        desc = json.loads(run(*args, env=llm_env).stdout)["description"]
        assert desc["source"] == "template" and "schema" in desc["note"]
        res = run("analyze", str(LYRICS / "instrumental.ogg"), env=llm_env)
        assert "template used" in words(res.stdout)


def test_similar_genre_filter_and_genre_evaluation(env: dict[str, str], tmp_path: Path) -> None:
    res = run("similar", "--help", env=env)
    assert "--genre" in res.stdout
    stats = json.loads(run("catalog", "stats", "--json", env=env).stdout)
    assert stats["tracks"] > 1000
    table = json.loads(run("recommend", "--text", "happy", "--json", "-n", "1", env=env).stdout)
    tid = table["tracks"][0]["id"]
    res = run("similar", tid, "--genre", "latin", "--json", "-n", "5", env=env)
    assert res.returncode == 0, res.stderr
    found = json.loads(res.stdout)["tracks"]
    assert len(found) == 5
    res = run("similar", tid, "--genre", "polka", env=env)
    assert res.returncode == 2 and "known genres" in res.stderr
    data = write_synthetic(tmp_path / "tt")
    res = run("train", "genre", "--data", str(data), "--out", str(tmp_path / "model"), env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "model" / "genre_model.npz").is_file()
    res = run("evaluate", "genre", "--data", str(data), "--out", str(tmp_path / "rep"),
              "--model", str(tmp_path / "model" / "genre_model.npz"), env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "majority" in res.stdout.lower() and (tmp_path / "rep" / "genre_confusion.png").is_file()


def test_text_backend_by_name_and_former_name(env: dict[str, str]) -> None:
    """``MOODTUNE_TEXT_BACKEND`` takes the new name, the former ``e5``, and refuses others."""
    results = {}
    for name in ("use_ngram", "e5"):
        res = run("emotion", "--text", "I am furious", "--json",
                  env=env | {"MOODTUNE_TEXT_BACKEND": name})  # fmt: skip
        assert res.returncode == 0, res.stderr
        results[name] = json.loads(res.stdout)["emotion"]
    assert results["e5"] == results["use_ngram"]
    assert results["e5"]["label"] == "anger"
    res = run("emotion", "--text", "I am furious", env=env | {"MOODTUNE_TEXT_BACKEND": "e6"})
    assert res.returncode != 0 and "use_ngram" in res.stderr
