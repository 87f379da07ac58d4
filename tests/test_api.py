"""HTTP API: every route, every error status, load shedding, API key, feedback.

Plumbing (parsing, status codes, problem documents, pools, keys) runs against the fake
facade (``tests/fakes.py``, no model: the fast lane); what the models conclude runs against
the real facade (``real_client``) and is marked ``slow``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from fakes import FakeMoodtune  # noqa: E402
from moodtune.api.app import create_app  # noqa: E402
from moodtune.service import Moodtune  # noqa: E402

SPEECH = Path(__file__).parent / "data" / "speech"
SR = 16000


@pytest.fixture(scope="module")
def real_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moodtune]:
    """One real facade over the default catalog (in its own home) for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOODTUNE_HOME", str(tmp_path_factory.mktemp("api_home")))
        svc = Moodtune()
        svc.catalog()
        yield svc


@pytest.fixture(scope="module")
def real_client(real_service: Moodtune) -> Iterator[TestClient]:
    with TestClient(create_app(real_service, warm_up=False, api_key="")) as c:
        yield c


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def service(request: pytest.FixtureRequest) -> Moodtune | FakeMoodtune:
    """Plumbing tests run twice: on the fake facade (no model, the fast lane) and on the
    real one (``slow``), with the same assertions."""
    if request.param == "fake":
        return FakeMoodtune()
    real: Moodtune = request.getfixturevalue("real_service")
    return real


@pytest.fixture
def client(service: Moodtune | FakeMoodtune) -> Iterator[TestClient]:
    with TestClient(create_app(service, warm_up=False, api_key="")) as c:  # type: ignore[arg-type]
        yield c


def assert_problem(resp, status: int, pattern: str = "") -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["type"]
    assert pattern.lower() in body["detail"].lower(), body
    return body


def test_healthz_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["capacity"] == 4
    schema = client.get("/openapi.json").json()
    for path in (
        "/v1/emotion",
        "/v1/recommend",
        "/v1/tracks/analyze",
        "/v1/tracks/{track_id}",
        "/v1/tracks/{track_id}/similar",
        "/v1/tracks/{track_id}/audio",
        "/v1/feedback",
        "/healthz",
    ):
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN
    body = schema["paths"]["/v1/recommend"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}


@pytest.mark.slow
def test_emotion_text_is_the_cli_json(real_client: TestClient, real_service: Moodtune) -> None:
    resp = real_client.post("/v1/emotion", json={"text": "I feel so sad and lonely today"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == real_service.emotion_of(text="I feel so sad and lonely today").to_dict()
    assert resp.json()["emotion"]["label"] == "sadness"


@pytest.mark.slow
def test_recommend_text_filters_and_seed(real_client: TestClient) -> None:
    req = {"text": "I am furious!", "strategy": "calm", "n": 5, "seed": 3, "year_min": 1990}
    first = real_client.post("/v1/recommend", json=req)
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["strategy"] == "calm" and len(data["tracks"]) == 5
    assert data["emotion"]["label"] == "anger"
    for t in data["tracks"]:
        assert t["reason"] and "audio_url" in t
    assert real_client.post("/v1/recommend", json=req).json() == data  # same seed, same playlist
    uplift = real_client.post(
        "/v1/recommend", json={"text": "I am so sad", "strategy": "uplift", "n": 8}
    ).json()
    vals = [t["target"]["valence"] for t in uplift["tracks"]]
    assert vals[-1] > vals[0]  # the uplift path rises


def session(client: TestClient) -> tuple[str, dict[str, str]]:
    """A new listener id and the header that proves it."""
    resp = client.post("/v1/session")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return body["user"], {"Authorization": f"Bearer {body['token']}"}


@pytest.mark.slow
def test_feedback_changes_the_next_playlist(real_client: TestClient) -> None:
    user1, auth1 = session(real_client)
    _, auth2 = session(real_client)
    # with a seed the lists are reproducible (listener memory is off), so users compare
    req = {"text": "I feel so sad and lonely", "n": 5, "user": user1, "seed": 5}
    first = [
        t["id"] for t in real_client.post("/v1/recommend", json=req, headers=auth1).json()["tracks"]
    ]
    resp = real_client.post(
        "/v1/feedback", json={"track_id": first[0], "kind": "skip"}, headers=auth1
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["skipped"] == 1 and resp.json()["user"] == user1
    resp = real_client.post(
        "/v1/feedback", json={"user": user1, "track_id": first[1], "kind": "like"}, headers=auth1
    )
    assert resp.json()["liked"] == 1
    second = [
        t["id"] for t in real_client.post("/v1/recommend", json=req, headers=auth1).json()["tracks"]
    ]
    assert first[0] not in second and second != first
    other = real_client.post(
        "/v1/recommend", json={k: v for k, v in req.items() if k != "user"}, headers=auth2
    ).json()
    assert [t["id"] for t in other["tracks"]] == first  # another user is not affected
    assert not any(t["liked"] for t in other["tracks"])


@pytest.mark.slow
def test_feedback_revises_the_playlist_in_place(real_client: TestClient) -> None:
    user, auth = session(real_client)
    req = {"text": "I feel so sad and lonely", "n": 8, "user": user}
    data = real_client.post("/v1/recommend", json=req, headers=auth).json()
    first = [t["id"] for t in data["tracks"]]
    emotion = {"probabilities": data["emotion"]["probabilities"]}
    real_client.post("/v1/feedback", json={"track_id": first[1], "kind": "like"}, headers=auth)
    revise = {"emotion": emotion, "n": 8}
    liked = real_client.post("/v1/recommend", json=revise | {"current": first}, headers=auth).json()
    assert [t["id"] for t in liked["tracks"]] == first  # a like keeps the playlist
    assert [t["liked"] for t in liked["tracks"]] == [i == 1 for i in range(8)]
    real_client.post("/v1/feedback", json={"track_id": first[3], "kind": "skip"}, headers=auth)
    skipped = real_client.post(
        "/v1/recommend", json=revise | {"current": first}, headers=auth
    ).json()["tracks"]
    ids = [t["id"] for t in skipped]
    assert first[3] not in ids and len(ids) == 8
    assert [ids[i] for i in range(8) if i != 3] == [first[i] for i in range(8) if i != 3]
    assert skipped[1]["liked"]
    bad = real_client.post("/v1/recommend", json={"text": "sad", "current": first}, headers=auth)
    assert bad.status_code in (400, 422) and "emotion" in bad.text


@pytest.mark.slow
def test_same_message_same_listener_gets_fresh_tracks(real_client: TestClient) -> None:
    _, auth = session(real_client)
    req = {"text": "I feel so sad and lonely", "n": 10}
    seen: list[str] = []
    for _ in range(5):
        data = real_client.post("/v1/recommend", json=req, headers=auth).json()
        ids = [t["id"] for t in data["tracks"]]
        assert data["emotion"]["label"] == "sadness" and len(ids) == 10
        seen += ids
        for t in data["tracks"]:
            assert t["duration_s"] is None or t["duration_s"] >= 60
    assert len(set(seen)) == len(seen)  # no track twice across five playlists


@pytest.mark.slow
def test_journey_between_two_moods(real_client: TestClient) -> None:
    resp = real_client.post("/v1/journey", json={"from": "sad", "to": "happy", "n": 8, "seed": 1})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["strategy"] == "journey" and len(data["tracks"]) == 8
    vals = [t["valence"] for t in data["tracks"]]
    assert sum(vals[-3:]) > sum(vals[:3]) + 0.5  # from sad music to happy music
    assert all({"id", "reason", "target", "audio_url"} <= set(t) for t in data["tracks"])
    again = real_client.post("/v1/journey", json={"from": "sad", "to": "happy", "n": 8, "seed": 1})
    assert again.json()["tracks"] == data["tracks"]
    tid = data["tracks"][2]["id"]
    by_track = real_client.post("/v1/journey", json={"from": tid, "to": "0.8,0.6", "n": 4}).json()
    assert by_track["tracks"][0]["id"] == tid
    bad = real_client.post("/v1/journey", json={"from": "nope", "to": "happy"})
    assert bad.status_code in (400, 422) and "not in the catalog" in bad.text


@pytest.mark.slow
def test_track_and_similar_on_default_catalog(real_client: TestClient) -> None:
    tid = real_client.post("/v1/recommend", json={"text": "happy!", "n": 1}).json()["tracks"][0][
        "id"
    ]
    track = real_client.get(f"/v1/tracks/{tid}").json()
    assert track["id"] == tid and "valence" in track and "local_path" not in track
    assert track["curve"] is None and track["audio_url"] is None
    sim = real_client.get(f"/v1/tracks/{tid}/similar", params={"n": 3}).json()
    assert sim["query"]["id"] == tid and len(sim["tracks"]) == 3
    assert tid not in {t["id"] for t in sim["tracks"]}
    assert_problem(real_client.get(f"/v1/tracks/{tid}/audio"), 404, "no local audio")


@pytest.mark.slow
def test_catalog_track_words_and_the_llm(
    real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openai")
    from fake_llm import FakeLLM

    tid = real_client.post("/v1/recommend", json={"text": "happy!", "n": 1}).json()["tracks"][0][
        "id"
    ]
    track = real_client.get(f"/v1/tracks/{tid}").json()
    info = track["genre_info"]
    assert info["source"] == "catalog" and info["label"] == track["genre"]
    assert set(info["probabilities"]) == {"edm", "latin", "pop", "r&b", "rap", "rock"}
    assert track["description"]["source"] == "template" and track["lyrics"] is None
    with FakeLLM() as llm:
        monkeypatch.setenv("MOODTUNE_LLM_URL", llm.url)
        monkeypatch.setenv("MOODTUNE_LLM_TIMEOUT", "2")
        llm.script("json", {"valence": 0.9, "energy": 0.9, "tempo": 150, "why": "party"})
        body = real_client.post("/v1/recommend", json={"text": "I feel great!", "n": 3}).json()
        assert body["targets"]["source"] == "llm" and body["targets"]["why"] == "party"
        assert body["targets"]["targets"]["tempo"] == 150.0
        body = real_client.post(
            "/v1/recommend", json={"text": "I feel great!", "llm": False}
        ).json()
        assert body["targets"]["source"] == "builtin"
        llm.script("status", None, status=500)
        body = real_client.post("/v1/recommend", json={"text": "I feel great!", "n": 3}).json()
        assert body["targets"]["source"] == "builtin" and "500" in body["targets"]["note"]
        assert len(body["tracks"]) == 3
        text = "Bright and bouncy from start to end. A feel-good tune for a sunny day."
        llm.script("json", {"description": text})
        desc = real_client.get(f"/v1/tracks/{tid}").json()["description"]
        assert desc["text"] == text and desc["source"] == "llm"
        desc = real_client.get(f"/v1/tracks/{tid}", params={"llm": "false"}).json()["description"]
        assert desc["source"] == "template"


@pytest.mark.parametrize(
    ("kwargs", "status", "pattern"),
    [
        ({"json": {"text": ""}}, 422, "empty"),
        ({"json": {"text": "hi", "extra": 1}}, 422, "extra"),
        ({"json": {"text": "a" * 6000}}, 413, "5000"),
        ({"json": {}}, 422, "either"),
        ({"json": ["text"]}, 400, "object"),
        ({"content": b"{bad", "headers": {"content-type": "application/json"}}, 400, "json"),
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "text/plain"),
        ({"content": b"hello"}, 415, "none"),
        ({"files": {"audio": ("a.ogg", b"not audio at all " * 20)}}, 415, "audio"),
        ({"files": {"audio": ("a.ogg", b"")}}, 422, "empty"),
        ({"files": {"other": ("a.ogg", b"x")}}, 422, "audio"),
        ({"data": {"text": "hi"}, "files": {"audio": ("a.ogg", b"x")}}, 422, "either"),
        ({"data": {"language": "de"}, "files": {"audio": ("a.ogg", b"x")}}, 422, "language"),
        (
            {
                "content": b"garbage",
                "headers": {"content-type": "multipart/form-data; boundary=zz"},
            },
            400,
            "multipart",
        ),
    ],
)
def test_emotion_bad_input(client: TestClient, kwargs: dict, status: int, pattern: str) -> None:
    assert_problem(client.post("/v1/emotion", **kwargs), status, pattern)


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ({"text": "hi", "strategy": "loud"}, "strategy"),
        ({"text": "hi", "n": 0}, "n"),
        ({"text": "hi", "n": 101}, "n"),
        ({"text": "hi", "year_min": "x"}, "year_min"),
        ({"text": "hi", "max_duration_s": -1}, "max_duration_s"),
        ({"text": "hi", "user": ""}, "user"),
        ({"text": "hi", "n": True}, "n"),
        ({"text": "hi", "seed": False}, "seed"),
        ({"emotion": {"probabilities": {"sadness": 1e308}}}, "probabilities"),
        ({"emotion": {"probabilities": {"sadness": -0.5}}}, "probabilities"),
        ({"emotion": {"probabilities": {"sadness": 0}}}, "at least one above 0"),
    ],
)
def test_recommend_bad_parameters(client: TestClient, body: dict, pattern: str) -> None:
    assert_problem(client.post("/v1/recommend", json=body), 422, pattern)


def test_other_routes_bad_input(client: TestClient) -> None:
    assert_problem(client.get("/v1/tracks/nope"), 404, "not in the catalog")
    assert_problem(client.get("/v1/tracks/nope/similar"), 404, "not in the catalog")
    assert_problem(client.get("/v1/tracks/x/similar", params={"n": 0}), 422, "n=0")
    assert_problem(client.get("/v1/tracks/x/similar", params={"n": "a"}), 422, "n")
    assert_problem(client.get("/v1/tracks/%2Fetc%2Fpasswd/similar"), 404, "not found")
    user, auth = session(client)
    fb = {"track_id": "nope", "kind": "like"}
    assert_problem(client.post("/v1/feedback", json=fb, headers=auth), 404, "not in the catalog")
    assert_problem(
        client.post("/v1/feedback", json=fb | {"kind": "love"}, headers=auth), 422, "kind"
    )
    assert_problem(client.post("/v1/feedback", json={}, headers=auth), 422, "track_id")
    assert_problem(client.post("/v1/tracks/analyze", json={"x": 1}), 415, "multipart")
    bad = assert_problem(
        client.post("/v1/tracks/analyze", files={"audio": ("x.mp3", b"\x00" * 5000)}),
        415,
        "the uploaded file",
    )
    assert "moodtune-upload" not in bad["detail"]  # no server temp path in the answer
    assert_problem(client.get("/v1/nothing"), 404, "")


def test_upload_size_limit(service: Moodtune | FakeMoodtune) -> None:
    app = create_app(service, warm_up=False, api_key="", max_upload_bytes=2000)  # type: ignore[arg-type]
    with TestClient(app) as c:
        big = {"audio": ("a.ogg", b"\x00" * 5000)}
        assert_problem(c.post("/v1/emotion", files=big), 413, "limit")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"text": "'
            for _ in range(10):
                yield b"a" * 500
            yield b'"}'

        resp = c.post("/v1/emotion", content=chunks(), headers={"content-type": "application/json"})
        assert_problem(resp, 413, "limit")


def test_api_key(service: Moodtune | FakeMoodtune, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODTUNE_API_KEY", "s3cret")
    with TestClient(create_app(service, warm_up=False)) as c:  # type: ignore[arg-type]
        assert_problem(c.post("/v1/emotion", json={"text": "hi"}), 401, "X-API-Key")
        resp = c.post("/v1/emotion", json={"text": "hi"}, headers={"X-API-Key": "wrong"})
        assert_problem(resp, 401, "")
        resp = c.post("/v1/emotion", json={"text": "hi"}, headers={"X-API-Key": "s3cret"})
        assert resp.status_code == 200
        assert c.get("/healthz").status_code == 200  # health and the page stay open
        assert c.get("/").status_code == 200


class _Blocking(FakeMoodtune):
    """A facade whose text emotion waits for a gate: fills the pool on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def emotion_of(self, **kwargs):
        if kwargs.get("text") == "block":
            self.entered.set()
            assert self.gate.wait(30)
        return super().emotion_of(**kwargs)


def test_full_pool_answers_503_and_recovers() -> None:
    svc = _Blocking()
    with TestClient(
        create_app(svc, warm_up=False, api_key="", light_workers=1, light_queue=0)  # type: ignore[arg-type]
    ) as c:
        results: dict[str, int] = {}
        worker = threading.Thread(
            target=lambda: results.setdefault(
                "blocked", c.post("/v1/emotion", json={"text": "block"}).status_code
            )
        )
        worker.start()
        assert svc.entered.wait(30)
        resp = c.post("/v1/recommend", json={"text": "happy"})
        body = assert_problem(resp, 503, "busy")
        assert resp.headers["Retry-After"] == "2" and body["type"].endswith("busy-error")
        health = c.get("/healthz").json()
        assert health["refused"] == 1 and health["pools"]["text"]["refused"] == 1
        assert health["pools"]["audio"]["in_flight"] == 0  # voice has its own lane
        svc.gate.set()
        worker.join(30)
        assert results["blocked"] == 200
        deadline = time.time() + 5
        while c.get("/healthz").json()["in_flight"] and time.time() < deadline:
            time.sleep(0.01)
        assert c.post("/v1/emotion", json={"text": "happy"}).status_code == 200


def test_index_page_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert "moodtune" in page.text.lower()
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


@pytest.mark.slow
def test_voice_upload_emotion_and_recommend(real_client: TestClient) -> None:
    audio = (SPEECH / "en_sad.ogg").read_bytes()
    resp = real_client.post("/v1/emotion", files={"audio": ("en_sad.ogg", audio, "audio/ogg")})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert set(data["parts"]) == {"voice", "text"} and data["transcript"]
    assert data["language"] == "en"
    resp = real_client.post(
        "/v1/recommend",
        files={"audio": ("en_sad.ogg", audio, "audio/ogg")},
        data={"strategy": "uplift", "n": "4", "genres": "rock,pop"},
        headers=session(real_client)[1],
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["strategy"] == "uplift" and len(resp.json()["tracks"]) == 4


@pytest.mark.slow
def test_scanned_library_track_curve_audio_and_analyze(tmp_path: Path) -> None:
    from moodtune.audio.encode import encode_audio

    lib = tmp_path / "lib"
    lib.mkdir()
    t = np.arange(8 * SR) / SR
    rng = np.random.default_rng(7)
    for name, f0 in [("pad1", 220.0), ("pad2", 196.0), ("pad3", 330.0)]:
        y = 0.05 * np.sin(2 * np.pi * f0 * t) + 1e-3 * rng.standard_normal(t.size)
        (lib / f"{name}.wav").write_bytes(encode_audio(y, sr=SR, fmt="wav"))
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    assert svc.scan(lib, workers=1).analysed == 3
    with TestClient(create_app(svc, warm_up=False, api_key="")) as c:
        info, _ = svc.similar(lib / "pad1.wav", n=1)
        tid = info["id"]
        track = c.get(f"/v1/tracks/{tid}").json()
        assert track["audio_url"].startswith(f"/v1/tracks/{tid}/audio?exp=")
        assert len(track["curve"]["arousal"]) == len(track["curve"]["valence"]) >= 7
        audio = c.get(track["audio_url"])
        assert audio.status_code == 200 and audio.content == (lib / "pad1.wav").read_bytes()
        assert audio.headers["content-type"].startswith("audio/")
        sim = c.get(f"/v1/tracks/{tid}/similar", params={"n": 2}).json()
        assert len(sim["tracks"]) == 2 and all(t["audio_url"] for t in sim["tracks"])
        resp = c.post(
            "/v1/tracks/analyze", files={"audio": ("pad2.wav", (lib / "pad2.wav").read_bytes())}
        )
        assert resp.status_code == 200, resp.text
        data = resp.json()
        assert set(data) == {
            "silent", "features", "curve", "summary", "genre", "lyrics", "emotion_point",
            "description",
        }  # fmt: skip
        assert data["features"]["duration_s"] == pytest.approx(8.0, abs=0.1)
        # the classifier's genre, or "other" when it abstains (probabilities kept)
        assert data["genre"]["label"] in {*data["genre"]["probabilities"], "other"}
        assert sum(data["genre"]["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert data["lyrics"] is None and data["emotion_point"]["lyrics_share"] == 0.0
        assert data["description"]["source"] == "template"
        assert "0:0" in data["description"]["text"]  # the template reads the 8 s curve
        # the track view: genre, lyrics, emotion point and description too
        assert track["genre"] in {*track["genre_info"]["probabilities"], "other"}
        assert track["genre_info"]["source"] == "classifier"
        assert track["lyrics"] is None
        assert track["emotion_point"]["audio"]["valence"] == pytest.approx(
            np.mean(track["curve"]["valence"]), abs=1e-3
        )
        assert track["description"]["source"] == "template" and track["description"]["text"]
        # similar with a genre filter: only that genre, or a 422 naming the known ones
        g = track["genre"]
        only = c.get(f"/v1/tracks/{tid}/similar", params={"n": 5, "genre": g}).json()
        rows = [svc.catalog().get_track(t["id"]) for t in only["tracks"]]
        assert all(row is not None and row["genre"] == g for row in rows)
        bad = c.get(f"/v1/tracks/{tid}/similar", params={"genre": "polka"})
        assert bad.status_code == 422 and "known genres" in bad.json()["detail"]
        bad = c.post(
            "/v1/tracks/analyze",
            files={"audio": ("pad2.wav", (lib / "pad2.wav").read_bytes())},
            data={"lyrics": "maybe"},
        )
        assert bad.status_code == 422 and "lyrics" in bad.json()["detail"]


@pytest.mark.slow
def test_serve_command_binds_loopback_and_serves(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MOODTUNE_HOME=str(tmp_path), MOODTUNE_API_KEY="k3y")
    cmd = [sys.executable, "-m", "moodtune.api.cli", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).json()["ready"]:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert httpx.get(base + "/healthz").json()["ready"]
        assert httpx.post(base + "/v1/emotion", json={"text": "hi"}).status_code == 401
        resp = httpx.post(base + "/v1/emotion", json={"text": "hi"}, headers={"X-API-Key": "k3y"})
        assert resp.status_code == 200
        assert "moodtune" in httpx.get(base + "/").text
        conns = [c for c in _listening(proc.pid) if c.endswith(f":{port}")]
        assert conns == [f"127.0.0.1:{port}"], conns
    finally:
        proc.terminate()
        proc.wait(30)


def _listening(pid: int) -> list[str]:
    """Addresses ``pid`` listens on (IPv4 TCP), from /proc."""
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and parts[9] in inodes:  # LISTEN
            ip_hex, port_hex = parts[1].split(":")
            ip = ".".join(str(int(ip_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
            out.append(f"{ip}:{int(port_hex, 16)}")
    return out


def test_voice_duration_limit_is_413() -> None:
    short = Moodtune(max_voice_seconds=1.0)  # the real facade: refused before any model loads
    with TestClient(create_app(short, warm_up=False, api_key="")) as c:
        audio = (SPEECH / "en_sad.ogg").read_bytes()
        resp = c.post("/v1/emotion", files={"audio": ("en_sad.ogg", audio, "audio/ogg")})
        assert_problem(resp, 413, "")


@pytest.mark.slow
def test_mix_endpoint_returns_a_measured_mix(tmp_path: Path) -> None:
    import io
    import json as _json

    import pyloudnorm

    from moodtune.audio.decode import load_audio
    from moodtune.audio.encode import encode_audio

    lib = tmp_path / "lib"
    lib.mkdir()
    t = np.arange(12 * SR) / SR
    music = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    (lib / "song.wav").write_bytes(encode_audio(music, sr=SR, fmt="wav"))
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    assert svc.scan(lib, workers=1).analysed == 1
    voice = load_audio(SPEECH / "en_sad.ogg")
    pause = np.zeros(2 * SR, np.float32)
    take = encode_audio(np.concatenate([pause, voice, pause]), sr=SR, fmt="ogg")
    with TestClient(create_app(svc, warm_up=False, api_key="")) as c:
        info, _ = svc.similar(lib / "song.wav", n=1)
        resp = c.post(
            "/v1/mix",
            files={"audio": ("take.ogg", take)},
            data={"track": info["id"], "format": "wav", "loudness": "-16"},
        )
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("audio/")
        summary = _json.loads(resp.headers["x-moodtune-mix"])
        assert summary["track"] and "output" not in summary
        import soundfile

        y, sr = soundfile.read(io.BytesIO(resp.content))  # all channels: BS.1770 sums them
        assert abs(len(y) / sr - (len(voice) / SR + 4.0)) < 0.05
        assert abs(pyloudnorm.Meter(sr).integrated_loudness(y) + 16.0) < 1.0
        # a server file path is not a track: only catalog ids are accepted
        bad = c.post(
            "/v1/mix",
            files={"audio": ("take.ogg", take)},
            data={"track": str(lib / "song.wav")},
        )
        assert_problem(bad, 422, "not in the catalog")
        assert_problem(c.post("/v1/mix", json={"text": "hi"}), 415, "multipart")


@pytest.mark.slow
def test_recommend_for_a_given_emotion(real_client: TestClient) -> None:
    first = real_client.post(
        "/v1/recommend", json={"text": "I am so sad and lonely", "seed": 1}
    ).json()
    probs = first["emotion"]["probabilities"]
    again = real_client.post("/v1/recommend", json={"emotion": {"probabilities": probs}, "seed": 1})
    assert again.status_code == 200, again.text
    data = again.json()
    assert data["emotion"]["label"] == first["emotion"]["label"]
    assert data["emotion"]["valence"] == pytest.approx(first["emotion"]["valence"], abs=1e-3)
    assert [t["id"] for t in data["tracks"]] == [t["id"] for t in first["tracks"]]
    point = real_client.post(
        "/v1/recommend", json={"emotion": {"valence": 0.7, "arousal": 0.6}, "n": 5}
    ).json()
    assert point["emotion"]["valence"] == pytest.approx(0.7)
    assert point["emotion"]["label"] in ("happiness", "surprise")
    assert sum(t["valence"] for t in point["tracks"]) / 5 > 0.6  # bright music
    assert_problem(
        real_client.post(
            "/v1/recommend", json={"text": "hi", "emotion": {"valence": 0, "arousal": 0}}
        ),
        422,
        "not several",
    )
    assert_problem(
        real_client.post("/v1/recommend", json={"emotion": {"valence": 0.2}}), 422, "both valence"
    )
    assert_problem(
        real_client.post("/v1/recommend", json={"emotion": {"probabilities": {"joy": 1}}}),
        422,
        "unknown emotion labels",
    )
    assert_problem(
        real_client.post("/v1/recommend", json={"emotion": {"valence": 3, "arousal": 0}}), 422, ""
    )


def test_every_route_answers_on_the_fake(tmp_path: Path) -> None:
    """Journey, track view, similar, audio, analyze and mix: shapes and links (fast lane)."""
    fake = FakeMoodtune()
    song = tmp_path / "song.ogg"
    song.write_bytes((SPEECH / "en_sad.ogg").read_bytes())
    fake.played["fake003"] = str(song)
    with TestClient(create_app(fake, warm_up=False, api_key="")) as c:  # type: ignore[arg-type]
        data = c.post("/v1/journey", json={"from": "sad", "to": "happy", "n": 5}).json()
        assert data["strategy"] == "journey" and len(data["tracks"]) == 5
        assert all({"id", "reason", "target", "audio_url"} <= set(t) for t in data["tracks"])
        view = c.get("/v1/tracks/fake003").json()
        assert "local_path" not in view and view["audio_url"].startswith("/v1/tracks/fake003/")
        assert c.get(view["audio_url"]).content == song.read_bytes()
        assert c.get("/v1/tracks/fake004").json()["audio_url"] is None
        sim = c.get("/v1/tracks/fake004/similar", params={"n": 3, "genre": "rock"}).json()
        assert sim["query"]["id"] == "fake004" and len(sim["tracks"]) == 3
        assert all("local_path" not in t and "audio_url" in t for t in sim["tracks"])
        voice = {"audio": ("take.ogg", (SPEECH / "en_sad.ogg").read_bytes())}
        report = c.post("/v1/tracks/analyze", files=voice, data={"lyrics": "false"}).json()
        assert set(report) == {
            "silent", "features", "curve", "summary", "genre", "lyrics", "emotion_point",
            "description",
        }  # fmt: skip
        mixed = c.post("/v1/mix", files=voice, data={"format": "wav", "user": ""})
        assert mixed.status_code == 200, mixed.text
        assert mixed.headers["content-type"] == "audio/wav" and mixed.content[:4] == b"RIFF"
        summary = json.loads(mixed.headers["x-moodtune-mix"])
        assert summary["track"]["id"] in fake.tracks and "local_path" not in summary["track"]
        assert_problem(c.post("/v1/mix", files=voice, data={"loudness": "loud"}), 422, "loudness")
        assert_problem(c.post("/v1/mix", json={"text": "hi"}), 415, "multipart")
    assert {"journey", "track_view", "similar", "analyze_track", "mix_upload"} <= set(fake.calls)
