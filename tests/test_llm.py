"""The optional LLM (moodtune.llm) against a scripted OpenAI-compatible server (fake_llm)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

pytest.importorskip("openai")
pytest.importorskip("jsonschema")

from fake_llm import FakeLLM, closed_port_url  # noqa: E402
from moodtune.errors import MoodtuneError, ParameterError  # noqa: E402
from moodtune.llm import (  # noqa: E402
    LLMClient,
    LLMConfig,
    LLMError,
    TargetProposal,
    describe_with_llm,
    extract_json,
    propose_targets,
)
from moodtune.llm.describe import check_description, curve_summary  # noqa: E402
from moodtune.music.describe import describe_arc  # noqa: E402
from moodtune.recommend import TARGET_FEATURES, end_point, va_to_feature_targets  # noqa: E402
from moodtune.recommend.targets import FEATURE_RANGES  # noqa: E402

TIMEOUT = 0.6
SAD = (-0.71, -0.37)
TRANSCRIPT = "I failed my exam today and I just want to lie in bed with the lights off."
GOOD: dict[str, Any] = {
    "valence": 0.25,
    "energy": 0.3,
    "tempo": 78,
    "loudness": -14,
    "acousticness": 0.8,
    "danceability": 0.35,
    "mode": 0.3,
    "why": "Soft, slow acoustic songs meet a sad, tired listener.",
}
DESCRIPTION = (
    "A slow minor-key piece that opens hushed and swells to a bright climax at 1:39. "
    "It then settles back into a calm, warm close."
)


@pytest.fixture
def llm():
    with FakeLLM() as server:
        yield server


def client_for(url: str, **kw: Any) -> LLMClient:
    opts: dict[str, Any] = {"model": "fake-1", "key": "sk-test-123", "timeout": TIMEOUT} | kw
    return LLMClient(LLMConfig(url=url, **opts))


def arch_curve():
    a = np.concatenate([np.linspace(-0.7, 0.8, 100), np.linspace(0.8, -0.6, 60)])
    v = np.concatenate([np.linspace(-0.6, 0.6, 100), np.full(60, 0.6)])
    return {"tempo": 92.0, "mode": 0, "energy": 0.4, "valence": 0.3, "duration_s": 160.0}, a, v


# --------------------------------------------------------------------------- config


def test_config_from_env():
    assert LLMConfig.from_env({}) is None
    assert LLMConfig.from_env({"MOODTUNE_LLM_URL": "  "}) is None
    cfg = LLMConfig.from_env(
        {
            "MOODTUNE_LLM_URL": "http://127.0.0.1:11434/v1/",
            "MOODTUNE_LLM_MODEL": "qwen2.5:3b",
            "MOODTUNE_LLM_KEY": "secret",
            "MOODTUNE_LLM_TIMEOUT": "2.5",
        }
    )
    assert cfg == LLMConfig(
        url="http://127.0.0.1:11434/v1", model="qwen2.5:3b", key="secret", timeout=2.5
    )
    assert "secret" not in cfg.describe()
    default = LLMConfig.from_env({"MOODTUNE_LLM_URL": "http://x/v1", "MOODTUNE_LLM_KEY": ""})
    assert default is not None
    assert default.timeout == 8.0 and default.key is None and default.model is None
    assert default.json_mode is True and default.max_retries == 0
    off = LLMConfig.from_env({"MOODTUNE_LLM_URL": "http://x/v1", "MOODTUNE_LLM_JSON_MODE": "0"})
    assert off is not None
    assert off.json_mode is False


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"MOODTUNE_LLM_URL": "localhost:11434"}, "http"),
        ({"MOODTUNE_LLM_URL": "http://x/v1", "MOODTUNE_LLM_TIMEOUT": "fast"}, "TIMEOUT"),
        ({"MOODTUNE_LLM_URL": "http://x/v1", "MOODTUNE_LLM_TIMEOUT": "0"}, "timeout"),
        ({"MOODTUNE_LLM_URL": "http://x/v1", "MOODTUNE_LLM_TIMEOUT": "nan"}, "timeout"),
        ({"MOODTUNE_LLM_URL": "http://x/v1", "MOODTUNE_LLM_JSON_MODE": "maybe"}, "JSON_MODE"),
    ],
)
def test_bad_env_is_a_parameter_error(env, match):
    with pytest.raises(ParameterError, match=match):
        LLMConfig.from_env(env)


def test_bad_env_falls_back_with_a_note(monkeypatch):
    monkeypatch.setenv("MOODTUNE_LLM_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MOODTUNE_LLM_TIMEOUT", "soon")
    p = propose_targets(*SAD, "sadness")
    assert p.note is not None
    assert p.source == "builtin" and "MOODTUNE_LLM_TIMEOUT" in p.note


def test_no_llm_configured(monkeypatch):
    monkeypatch.delenv("MOODTUNE_LLM_URL", raising=False)
    p = propose_targets(*SAD, "sadness", transcript=TRANSCRIPT)
    assert p.source == "builtin" and p.model is None
    assert p.note is not None
    assert p.note.startswith("no LLM configured")
    assert p.targets == va_to_feature_targets(*SAD)
    d = describe_with_llm(*arch_curve())
    assert d.note is not None
    assert d.source == "template" and d.note.startswith("no LLM configured")
    assert d.text == describe_arc(*arch_curve())


def test_llm_error_is_a_moodtune_error():
    assert issubclass(LLMError, MoodtuneError)
    assert LLMError("x").http_status == 502


# --------------------------------------------------------------------------- extract_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Sure! ```\n{"a": {"b": [1, 2]}}\n``` hope it helps', {"a": {"b": [1, 2]}}),
        ('<think>maybe {"a": 0}</think>\n{"a": 2}', {"a": 2}),
        ('[1, 2] then {"a": 3} and {"a": 4}', {"a": 3}),
        ('{broken {"a": 5}', {"a": 5}),
    ],
)
def test_extract_json(text, expected):
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "no json here", "[1, 2]", '{"a": NaN}'])
def test_extract_json_refuses(text):
    with pytest.raises(LLMError):
        extract_json(text)


# --------------------------------------------------------------------------- propose_targets


def test_valid_reply_is_used_and_the_prompt_carries_the_emotion(llm):
    llm.script("json", GOOD)
    p = propose_targets(
        *SAD,
        "sadness",
        probabilities={"sadness": 0.7, "neutral": 0.2, "fear": 0.1},
        transcript=TRANSCRIPT,
        client=client_for(llm.url),
    )
    assert isinstance(p, TargetProposal)
    assert p.source == "llm" and p.model == "fake-1" and p.note is None
    assert p.targets == {k: float(GOOD[k]) for k in TARGET_FEATURES}
    assert p.why is not None
    assert p.why.startswith("Soft, slow")
    (req,) = llm.chats()
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer sk-test-123"
    body = req["json"]
    assert body["model"] == "fake-1"
    assert body["response_format"] == {"type": "json_object"}
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert TRANSCRIPT in prompt
    assert '"sadness"' in prompt and "valence -0.71" in prompt and "arousal -0.37" in prompt
    assert "sadness 0.70" in prompt and '"match"' in prompt
    d = p.to_dict()
    assert d["source"] == "llm" and d["targets"]["tempo"] == 78.0


def test_fenced_reply(llm):
    llm.script("fenced", GOOD)
    p = propose_targets(*SAD, "sadness", client=client_for(llm.url))
    assert p.source == "llm" and p.targets["tempo"] == 78.0


def test_uplift_asks_for_the_end_point(llm):
    llm.script("json", GOOD)
    p = propose_targets(*SAD, "sadness", strategy="uplift", client=client_for(llm.url))
    goal = end_point(*SAD, strategy="uplift")
    assert p.point == pytest.approx(goal)
    prompt = llm.chats()[0]["json"]["messages"][1]["content"]
    assert f"end near valence {goal[0]:+.2f}" in prompt and "END of the playlist" in prompt


def test_long_transcript_is_truncated(llm):
    llm.script("json", GOOD)
    long = "word " * 1000
    propose_targets(*SAD, "sadness", transcript=long, client=client_for(llm.url))
    prompt = llm.chats()[0]["json"]["messages"][1]["content"]
    assert prompt.count("word") < 150 and "…" in prompt


def test_out_of_range_values_are_clamped(llm):
    llm.script(
        "json",
        {"valence": 1.7, "energy": -0.2, "tempo": 300, "loudness": 5, "mode": "minor"},
    )
    p = propose_targets(*SAD, "sadness", client=client_for(llm.url))
    assert p.source == "llm"
    assert p.targets["valence"] == 1.0 and p.targets["energy"] == 0.0
    assert p.targets["tempo"] == 220.0 and p.targets["loudness"] == 0.0 and p.targets["mode"] == 0
    for k, (lo, hi) in FEATURE_RANGES.items():
        assert lo <= p.targets[k] <= hi
    assert p.note is not None
    assert "clamped" in p.note and "tempo 300 -> 220" in p.note
    # what it left out comes from the built-in mapping, and the note says so
    builtin = va_to_feature_targets(*SAD)
    assert p.targets["acousticness"] == builtin["acousticness"]
    assert "LLM gave no acousticness, danceability" in p.note


@pytest.mark.parametrize(
    ("kind", "payload", "opts", "reason"),
    [
        ("json", {"valence": "low", "energy": 0.3}, {}, "breaks the schema"),
        ("json", {"energy": 0.3}, {}, "breaks the schema"),
        ("text", "I think sad music would help, maybe around 80 BPM.", {}, "not JSON"),
        ("empty", None, {}, "empty reply"),
        ("status", None, {"status": 500}, "HTTP 500: fake error 500"),
        ("status", None, {"status": 401}, "HTTP 401 (check MOODTUNE_LLM_KEY): fake error 401"),
        ("garbage", None, {}, "not an OpenAI chat reply"),
        ("slow", GOOD, {"delay": 3.0}, f"timed out after {TIMEOUT:g} s"),
    ],
    ids=[
        "schema-type",
        "schema-missing",
        "text",
        "empty",
        "http500",
        "http401",
        "garbage",
        "slow",
    ],  # fmt: skip
)
def test_failures_fall_back_to_the_builtin_mapping(llm, kind, payload, opts, reason):
    llm.script(kind, payload, **opts)
    started = time.monotonic()
    p = propose_targets(*SAD, "sadness", transcript=TRANSCRIPT, client=client_for(llm.url))
    elapsed = time.monotonic() - started
    assert p.source == "builtin" and p.model is None
    assert p.note is not None
    assert reason in p.note and p.note.endswith("built-in mapping used")
    assert p.targets == va_to_feature_targets(*SAD)
    assert elapsed < TIMEOUT + 0.5  # bounded by the timeout, whatever happens


def test_unreachable_falls_back_fast():
    url = closed_port_url()
    started = time.monotonic()
    p = propose_targets(*SAD, "sadness", client=client_for(url))
    assert time.monotonic() - started < TIMEOUT + 0.5
    assert p.note is not None
    assert p.source == "builtin" and "cannot connect to" in p.note


def test_retries_without_json_mode_when_the_server_rejects_it(llm):
    llm.script("no_json_mode", GOOD)
    client = client_for(llm.url)
    p = propose_targets(*SAD, "sadness", client=client)
    assert p.source == "llm"
    chats = llm.chats()
    assert "response_format" in chats[0]["json"] and "response_format" not in chats[1]["json"]
    propose_targets(*SAD, "sadness", client=client)  # remembered: one request next time
    assert len(llm.chats()) == 3


def test_model_comes_from_the_server_when_not_configured(llm):
    llm.script("json", GOOD)
    p = propose_targets(*SAD, "sadness", client=client_for(llm.url, model=None))
    assert p.model == "fake-1"
    assert [r["path"] for r in llm.requests] == ["/v1/models", "/v1/chat/completions"]


def test_env_client(llm, monkeypatch):
    llm.script("json", GOOD)
    monkeypatch.setenv("MOODTUNE_LLM_URL", llm.url)
    monkeypatch.setenv("MOODTUNE_LLM_MODEL", "fake-2")
    monkeypatch.setenv("MOODTUNE_LLM_KEY", "env-key")
    monkeypatch.setenv("MOODTUNE_LLM_TIMEOUT", "1")
    p = propose_targets(*SAD, "sadness")
    assert p.source == "llm" and p.model == "fake-2"
    assert llm.chats()[0]["headers"]["authorization"] == "Bearer env-key"


def test_bad_input_is_still_an_error(llm):
    with pytest.raises(ParameterError):
        propose_targets(2.0, 0.0, "sadness", client=client_for(llm.url))
    with pytest.raises(ParameterError):
        propose_targets(0.0, 0.0, "sadness", strategy="party", client=client_for(llm.url))
    assert llm.chats() == []


def test_proposal_drives_the_recommender(llm):
    """The LLM's targets change the playlist the way they say (energy up -> energetic picks)."""
    from moodtune.recommend import Recommender
    from test_recommend_feature_targets import grid_table

    rec = Recommender(grid_table())
    llm.script("json", {"valence": 0.2, "energy": 0.95, "tempo": 170, "loudness": -4,
                        "acousticness": 0.02})  # fmt: skip
    p = propose_targets(*SAD, "sadness", client=client_for(llm.url))
    assert p.source == "llm"
    picks = rec.recommend(*SAD, n=5, feature_targets=p.targets)
    plain = rec.recommend(*SAD, n=5)
    energy = [rec.table.energy[r.index] for r in picks]
    assert min(energy) > 0.8 > max(rec.table.energy[r.index] for r in plain)


# --------------------------------------------------------------------------- describe_with_llm


def test_description_from_the_llm(llm):
    llm.script("json", {"description": DESCRIPTION})
    features, a, v = arch_curve()
    d = describe_with_llm(features, a, v, genre="ambient", client=client_for(llm.url))
    text, source = d
    assert (text, source) == (DESCRIPTION, "llm") and d.model == "fake-1" and d.note is None
    body = llm.chats()[0]["json"]
    prompt = body["messages"][1]["content"]
    assert '"genre":"ambient"' in prompt and '"tempo":92.0' in prompt
    assert '"peak_arousal_at":"1:39"' in prompt and '"duration":"2:40"' in prompt
    assert prompt.count('"t":') == 16  # the curve, downsampled


def test_curve_summary_short_and_nan():
    s = curve_summary({"tempo": float("nan"), "mode": 1}, np.array([0.2, np.nan, 0.4]),
                      np.zeros(3))  # fmt: skip
    assert s["features"] == {"mode": "major"} and len(s["curve"]) == 3
    assert s["curve"][1]["arousal"] == 0.3


@pytest.mark.parametrize(
    ("kind", "payload", "opts", "reason"),
    [
        ("json", {"description": "Nice."}, {}, "characters"),
        ("json", {"description": "x" * 700}, {}, "characters"),
        (
            "json",
            {"description": "One. Two. Three. Four. Five. Six sentences here."},
            {},
            "sentences",
        ),
        ("json", {"text": DESCRIPTION}, {}, "breaks the schema"),
        ("json", {"description": 42}, {}, "breaks the schema"),
        ("fenced", {"description": DESCRIPTION}, {}, None),
        ("text", "This track is lovely and calm.", {}, "not JSON"),
        ("status", None, {"status": 500}, "HTTP 500"),
        ("slow", {"description": DESCRIPTION}, {"delay": 3.0}, "timed out"),
    ],
    ids=[
        "short",
        "long",
        "sentences",
        "schema-key",
        "schema-type",
        "fenced",
        "text",
        "http500",
        "slow",
    ],  # fmt: skip
)
def test_description_failures_use_the_template(llm, kind, payload, opts, reason):
    llm.script(kind, payload, **opts)
    features, a, v = arch_curve()
    started = time.monotonic()
    d = describe_with_llm(features, a, v, client=client_for(llm.url))
    assert time.monotonic() - started < TIMEOUT + 0.5
    if reason is None:  # fenced JSON is fine
        assert d.source == "llm" and d.text == DESCRIPTION
        return
    assert d.note is not None
    assert d.source == "template" and reason in d.note and d.note.endswith("template used")
    assert d.text == describe_arc(features, a, v)


def test_description_unreachable():
    features, a, v = arch_curve()
    d = describe_with_llm(features, a, v, client=client_for(closed_port_url()))
    assert d.note is not None
    assert d.source == "template" and "cannot connect" in d.note


def test_check_description():
    assert check_description("  A calm song.\n It ends softly. ") == "A calm song. It ends softly."
    with pytest.raises(LLMError):
        check_description("")
