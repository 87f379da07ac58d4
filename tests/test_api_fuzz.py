"""Fuzzing the API: schemathesis against the OpenAPI schema, and corrupt audio bytes.

Whatever comes in, the answer is a response with a status below 500 (or a 503 when
busy) and, for errors, an RFC 9457 problem document: never a 500, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from moodtune.api.app import create_app  # noqa: E402
from moodtune.service import Moodtune  # noqa: E402

SPEECH = Path(__file__).parent / "data" / "speech"
ALLOWED = {200, 201, 400, 404, 405, 413, 415, 422}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOODTUNE_HOME", str(tmp_path_factory.mktemp("fuzz_home")))
        svc = Moodtune()
        svc.catalog()
        yield create_app(svc, warm_up=False, api_key="", max_upload_bytes=2_000_000)


def corrupt_blobs(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """Random, truncated, bit-flipped and mislabelled files (name, bytes)."""
    good = (SPEECH / "en_sad.ogg").read_bytes()
    blobs: list[tuple[str, bytes]] = [
        ("zero.ogg", b"\x00"),
        ("ogg_magic.ogg", b"OggS" + bytes(60)),
        ("riff.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20)),
        ("id3.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + rng.bytes(500)),
        ("text.ogg", "привет, это не звук".encode() * 20),
        ("png.webm", b"\x89PNG\r\n\x1a\n" + rng.bytes(300)),
        ("head.ogg", good[:200]),
        ("half.ogg", good[: len(good) // 2]),
        ("tail.ogg", good[len(good) // 2 :]),
    ]
    for i in range(8):
        blobs.append((f"random{i}.bin", rng.bytes(int(rng.integers(1, 20_000)))))
    for i in range(8):
        flipped = bytearray(good)
        idx = rng.integers(0, len(flipped), size=int(rng.integers(1, 200)))
        for j in idx:
            flipped[j] = int(rng.integers(0, 256))
        blobs.append((f"flipped{i}.ogg", bytes(flipped)))
    return blobs


@pytest.mark.slow
def test_corrupt_audio_never_500(app: object, rng: np.random.Generator) -> None:
    with TestClient(app, raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        for name, blob in corrupt_blobs(rng):
            for path in ("/v1/emotion", "/v1/recommend", "/v1/tracks/analyze"):
                resp = c.post(path, files={"audio": (name, blob, "application/octet-stream")})
                assert resp.status_code in ALLOWED, (path, name, resp.status_code, resp.text)
                if resp.status_code >= 400:
                    body = resp.json()
                    assert body["status"] == resp.status_code and body["detail"], body
        assert c.get("/healthz").json()["status"] == "ok"


schemathesis = pytest.importorskip("schemathesis")


@pytest.mark.slow
def test_schemathesis_no_server_errors(app: object) -> None:
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls: list[str] = []

    def check(label: str, strategy: object) -> None:
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(strategy)
        def run(case: object) -> None:
            resp = case.call()  # type: ignore[attr-defined]
            calls.append(label)
            if resp.status_code >= 500 and resp.status_code != 503:
                failures.append(f"{label}: {resp.status_code} {resp.text[:200]}")

        run()

    for op in schema.get_all_operations():
        operation = op.ok()
        check(operation.label, operation.as_strategy())
    assert len(set(calls)) >= 8 and len(calls) > 100, sorted(set(calls))
    assert not failures, failures[:5]
