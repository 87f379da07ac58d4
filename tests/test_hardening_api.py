"""Security and robustness of the HTTP API (issue: hardening).

Each test is an attack that used to work: reading server files through an imported
catalog row, acting as another listener, leaking server paths, 500s that also killed the
keep-alive connection. Hostile inputs are built here, never committed.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from local_servers import uvicorn_server  # noqa: E402
from moodtune.api.app import create_app  # noqa: E402
from moodtune.api.security import Signer  # noqa: E402
from moodtune.audio.encode import encode_audio  # noqa: E402
from moodtune.catalog.repository import Catalog  # noqa: E402
from moodtune.service import Moodtune  # noqa: E402

SR = 16000
SECRET = b"test-secret-of-32-bytes-or-more!!"
BASE = {"artists": ["a"], "valence": 0.5, "energy": 0.5, "danceability": 0.5, "tempo": 100.0}


def _problem(resp: Any, status: int, pattern: str = "") -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert pattern.lower() in body["detail"].lower(), body
    return body


@pytest.fixture
def library(tmp_path: Path) -> tuple[Moodtune, Path, Path]:
    """A catalog with one honestly scanned file, and hostile rows beside it.

    Returns (service, library folder, the served file).
    """
    lib = tmp_path / "lib"
    lib.mkdir()
    song = lib / "song.wav"
    t = np.arange(2 * SR) / SR
    song.write_bytes(encode_audio(0.1 * np.sin(2 * np.pi * 220 * t), sr=SR, fmt="wav"))
    outside = tmp_path / "private.txt"
    outside.write_text("secret server file")
    (lib / "escape.wav").symlink_to(outside)
    db = tmp_path / "c.sqlite"
    with Catalog.open(db) as cat:
        cat.upsert_tracks(
            [
                {"id": "good", "name": "good", **BASE},
                {"id": "passwd", "name": "passwd", "local_path": "/etc/passwd", **BASE},
                {"id": "self", "name": "db", "local_path": str(db), **BASE},
                {"id": "rel", "name": "rel", "local_path": "../../etc/hostname", **BASE},
                {"id": "link", "name": "link", **BASE},
                {"id": "out", "name": "out", **BASE},
            ]
        )
        cat.add_library_root(lib)
        cat.record_file(song.resolve(), track_id="good", size=1, mtime_ns=1, sha256="a" * 64)
        # a symlink inside the library that points outside it
        cat.record_file(lib / "escape.wav", track_id="link", size=1, mtime_ns=1, sha256="b" * 64)
        # a file recorded but outside every library root
        cat.record_file(outside, track_id="out", size=1, mtime_ns=1, sha256="c" * 64)
    return Moodtune(catalog_path=db), lib, song


# ------------------------------------------------------------------ 1. the file-read hole
def test_audio_route_serves_only_scanned_files_under_a_root(
    library: tuple[Moodtune, Path, Path],
) -> None:
    svc, _lib, song = library
    with TestClient(create_app(svc, warm_up=False, api_key="", secret=SECRET)) as c:
        for tid in ("passwd", "self", "rel", "link", "out"):
            _problem(c.get(f"/v1/tracks/{tid}/audio"), 404, "no local audio")
            view = c.get(f"/v1/tracks/{tid}").json()
            assert view["audio_url"] is None and "local_path" not in view
        good = c.get("/v1/tracks/good").json()
        assert good["audio_url"].startswith("/v1/tracks/good/audio?exp=")
        resp = c.get(good["audio_url"])
        assert resp.status_code == 200 and resp.content == song.read_bytes()


def test_import_of_a_local_path_never_reaches_the_audio_route(tmp_path: Path) -> None:
    csv = tmp_path / "evil.csv"
    csv.write_text(
        "id,name,artists,valence,energy,local_path\n"
        "evil1,Evil,X,0.5,0.5,/etc/passwd\n"
        "evil2,Evil,X,0.5,0.5,../../etc/hostname\n"
    )
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    report = svc.catalog_import(csv)
    assert report.added == 2 and "local_path" in report.ignored_columns
    evil = svc.catalog().get_track("evil1")
    assert evil is not None and evil["local_path"] is None
    with TestClient(create_app(svc, warm_up=False, api_key="", secret=SECRET)) as c:
        _problem(c.get("/v1/tracks/evil1/audio"), 404)
        data = c.post(
            "/v1/recommend", json={"emotion": {"valence": 0.5, "arousal": 0.0}, "n": 2}
        ).json()
        assert all(t["audio_url"] is None for t in data["tracks"])


def test_mix_never_reads_an_imported_path(library: tuple[Moodtune, Path, Path]) -> None:
    svc, _lib, _song = library
    from moodtune.errors import ParameterError
    from moodtune.recommend.background import given_track

    with pytest.raises(ParameterError, match="no local audio file"):
        given_track(svc.catalog(), "passwd")
    info = given_track(svc.catalog(), "good")
    assert info["local_path"].endswith("song.wav")


# ------------------------------------------------------------------ 5. signed audio links
def test_signed_audio_links_work_with_an_api_key_and_expire(
    library: tuple[Moodtune, Path, Path],
) -> None:
    svc, _lib, song = library
    signer = Signer(SECRET)
    app = create_app(svc, warm_up=False, api_key="k3y", secret=SECRET)
    with TestClient(app) as c:
        _problem(c.get("/v1/tracks/good"), 401, "API key")
        view = c.get("/v1/tracks/good", headers={"X-API-Key": "k3y"}).json()
        resp = c.get(view["audio_url"])  # no key: an <audio src> cannot send one
        assert resp.status_code == 200 and resp.content == song.read_bytes()
        _problem(c.get("/v1/tracks/good/audio"), 401)
        expired = signer.audio_url("good", ttl=1, now=time.time() - 10)
        _problem(c.get(expired), 401)
        other = signer.audio_url("good").replace("/good/", "/passwd/")  # sig of another id
        _problem(c.get(other), 401)
        forged = Signer(b"another secret entirely, 32 bytes+").audio_url("good")
        _problem(c.get(forged), 401)
        # the signature only opens the audio route
        sig = view["audio_url"].split("?", 1)[1]
        _problem(c.get(f"/v1/tracks/good?{sig}"), 401)


# ------------------------------------------------------------------ 3. owned identities
@pytest.fixture
def text_client(tmp_path: Path) -> Iterator[TestClient]:
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        cat.upsert_tracks([{"id": f"t{i}", "name": f"t{i}", **BASE} for i in range(5)])
    app = create_app(
        svc, warm_up=False, api_key="", secret=SECRET, user_keys={"alice-key": "alice"}
    )
    with TestClient(app) as c:
        yield c


def test_feedback_needs_a_credential_and_only_for_its_own_user(text_client: TestClient) -> None:
    c = text_client
    fb = {"track_id": "t1", "kind": "like"}
    _problem(c.post("/v1/feedback", json=fb | {"user": "alice"}), 401, "credential")
    _problem(c.post("/v1/feedback", json=fb), 401, "credential")
    session = c.post("/v1/session").json()
    bob = {"Authorization": f"Bearer {session['token']}"}
    _problem(c.post("/v1/feedback", json=fb | {"user": "alice"}, headers=bob), 403)
    forged = {"Authorization": f"Bearer alice.{session['token'].rsplit('.', 1)[1]}"}
    _problem(c.post("/v1/feedback", json=fb, headers=forged), 401, "session token")
    ok = c.post("/v1/feedback", json=fb, headers=bob)
    assert ok.status_code == 201 and ok.json()["user"] == session["user"]
    # a per-user key acts as its user, and only as its user
    mine = c.post("/v1/feedback", json=fb | {"user": "alice"}, headers={"X-API-Key": "alice-key"})
    assert mine.status_code == 201 and mine.json()["user"] == "alice"
    svc = c.app.state.service  # type: ignore[attr-defined]
    assert svc.feedback_ids("alice") == (["t1"], [])
    assert svc.feedback_ids(session["user"]) == (["t1"], [])
    # playlists and emotion name users the same way
    _problem(c.post("/v1/recommend", json={"text": "hi", "user": "alice"}), 401)
    _problem(c.post("/v1/emotion", json={"text": "hi", "user": "alice"}, headers=bob), 403)


def test_sessions_are_distinct_and_signed() -> None:
    signer = Signer(SECRET)
    (u1, t1), (u2, t2) = signer.new_session(), signer.new_session()
    assert u1 != u2 and signer.session_user(t1) == u1 and signer.session_user(t2) == u2
    from moodtune.errors import AuthError

    with pytest.raises(AuthError):
        Signer(b"x" * 32).session_user(t1)


# ------------------------------------------------------------------ 4. leaks from /v1/mix
def test_mix_errors_name_the_upload_not_server_paths(text_client: TestClient) -> None:
    resp = text_client.post(
        "/v1/mix", files={"audio": ("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(300))}
    )
    assert 400 <= resp.status_code < 500, resp.text
    detail = resp.json()["detail"]
    assert "/tmp" not in detail and "moodtune-mix" not in detail and "input.mp4" not in detail


def test_mix_summary_holds_no_transcript_or_path() -> None:
    from moodtune.mix.pipeline import MixResult
    from moodtune.service import EmotionResult
    from moodtune.types import EmotionEstimate

    est = EmotionEstimate.from_probabilities(np.full(7, 1 / 7))
    emo = EmotionResult(est, "en", transcript="my secret words", parts={"voice": est})
    res = MixResult(
        output=Path("/tmp/moodtune-mix-x/mix.m4a"),
        duration_s=3.0,
        track={"id": "t", "name": "n", "local_path": "/home/me/Music/t.ogg"},
        loudness_lufs=-16.0,
        true_peak_dbtp=-1.0,
        duck_depth_db=float("nan"),
        speech_s=2.0,
        video=False,
        target_lufs=-16.0,
        emotion=emo,
    )
    text = json.dumps(res.public_dict())
    assert "secret words" not in text and "/home/me" not in text and "/tmp" not in text
    assert res.public_dict()["emotion"]["emotion"]["label"]


# ------------------------------------------------------------------ 9 + 12. bad JSON
@pytest.mark.parametrize(
    ("path", "body", "status", "pattern"),
    [
        ("/v1/emotion", '{"text": "\\ud800 sad"}', 400, "surrogate"),
        ("/v1/recommend", '{"text": "\\udfff"}', 400, "surrogate"),
        ("/v1/emotion", '{"text": ' + "[" * 1000 + "]" * 1000 + "}", 400, "nested"),
        ("/v1/feedback", "[" * 5000 + "]" * 5000, 400, "nested"),
        ("/v1/feedback", "{not json", 400, "not valid JSON"),
        ("/v1/feedback", '{"track_id": "' + "x" * 70_000 + '"}', 413, "limit"),
    ],
)
def test_bad_json_is_4xx(
    text_client: TestClient, path: str, body: str, status: int, pattern: str
) -> None:
    resp = text_client.post(path, content=body, headers={"Content-Type": "application/json"})
    _problem(resp, status, pattern)


def test_lone_surrogate_in_the_service_is_a_parameter_error(tmp_path: Path) -> None:
    from moodtune.errors import ParameterError

    with pytest.raises(ParameterError, match="surrogate"):
        Moodtune(catalog_path=tmp_path / "c.sqlite").emotion_from_text("\ud800 sad")


def test_keep_alive_connection_survives_bad_requests(tmp_path: Path) -> None:
    """Against a real uvicorn on 127.0.0.1: after each bad request, the same connection works."""
    pytest.importorskip("uvicorn")
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    app = create_app(svc, warm_up=False, api_key="", secret=SECRET)
    with uvicorn_server(app, start_timeout_s=20) as url:
        port = int(url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        bad = [
            '{"text": "\\ud800 sad"}',
            '{"text": ' + "[" * 1000 + "]" * 1000 + "}",
            "{",
        ]
        for body in bad:
            conn.request(
                "POST", "/v1/emotion", body=body, headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            assert 400 <= resp.status < 500
            resp.read()
            conn.request("GET", "/healthz")  # same socket
            ok = conn.getresponse()
            assert ok.status == 200 and json.loads(ok.read())["status"] == "ok"
        conn.close()


def test_openapi_references_resolve_and_404_is_documented(text_client: TestClient) -> None:
    schema = text_client.get("/openapi.json").json()

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str):
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    body = schema["paths"]["/v1/recommend"]["post"]["requestBody"]["content"]
    emotion = body["application/json"]["schema"]["properties"]["emotion"]
    assert "probabilities" in json.dumps(emotion)  # GivenEmotion is there, not a dead $ref
    for ref in refs(schema):
        assert ref.startswith("#/"), ref
        node: Any = schema
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]
    for path in ("/v1/tracks/{track_id}", "/v1/tracks/{track_id}/similar",
                 "/v1/tracks/{track_id}/audio", "/v1/feedback"):  # fmt: skip
        ops = schema["paths"][path]
        assert any("404" in op["responses"] for op in ops.values()), path


# ------------------------------------------------------------------ 6. voice statistics
class _Speech:
    """A speaker-adaptive backend (``SpeakerAdaptive``) whose features are the input."""

    def speaker_features(self, y: Any, *, states: Any = None) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)

    def predict(self, y: Any, *, states: Any = None, speaker_stats: Any = None) -> Any:
        raise AssertionError("not called by _speaker_stats")


def test_voice_statistics_are_bounded_and_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moodtune.service as service_mod

    monkeypatch.setattr(service_mod, "VOICE_STATS_IN_MEMORY", 8)
    monkeypatch.setattr(service_mod, "VOICE_STATS_STORED", 20)
    db = tmp_path / "c.sqlite"
    svc = Moodtune(catalog_path=db)
    rng = np.random.default_rng(0)
    for i in range(30):
        svc._speaker_stats(f"u{i}", _Speech(), None, rng.standard_normal(16))
    svc._speaker_stats("u29", _Speech(), None, rng.standard_normal(16))
    assert len(svc._speakers) == 8
    assert svc.catalog().voice_stats_count() == 20  # the 20 most recent listeners
    restarted = Moodtune(catalog_path=db)
    stats = restarted._speaker_stats("u29", _Speech(), None, rng.standard_normal(16))
    assert stats is not None and stats.count == 3  # two before the restart, one after
    fresh = restarted._speaker_stats("u0", _Speech(), None, rng.standard_normal(16))
    assert fresh is not None and fresh.count == 1  # u0 was the oldest: dropped
    assert restarted._speaker_stats(None, _Speech(), None, np.zeros(16)) is None


# ------------------------------------------------------------------ 11. one set of limits
def test_one_set_of_limits_shared_by_every_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    from moodtune import config
    from moodtune.api import app as api_app
    from moodtune.audio.decode import MAX_SECONDS as VOICE_SECONDS
    from moodtune.bot import handlers
    from moodtune.music import features

    lim = config.limits()
    assert api_app.MAX_UPLOAD_BYTES == lim.upload_bytes == 20_000_000
    assert handlers.BotSettings().max_file_bytes == lim.upload_bytes
    assert VOICE_SECONDS == handlers.BotSettings().max_seconds == lim.voice_seconds
    assert features.MAX_MUSIC_SECONDS == handlers.MAX_MUSIC_SECONDS == lim.music_seconds
    monkeypatch.setenv("MOODTUNE_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("MOODTUNE_MAX_MUSIC_SECONDS", "600")
    changed = config.Limits.from_env()
    assert changed.upload_bytes == 5_000_000 and changed.music_seconds == 600
    monkeypatch.setenv("MOODTUNE_MAX_VOICE_SECONDS", "lots")
    from moodtune.errors import ParameterError

    with pytest.raises(ParameterError, match="MOODTUNE_MAX_VOICE_SECONDS"):
        config.Limits.from_env()


def test_upload_limit_error_states_the_limit(tmp_path: Path) -> None:
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    with TestClient(create_app(svc, warm_up=False, api_key="", max_upload_bytes=1000)) as c:
        resp = c.post("/v1/emotion", files={"audio": ("v.ogg", os.urandom(5000))})
        _problem(resp, 413, "limit of 1 KB")
