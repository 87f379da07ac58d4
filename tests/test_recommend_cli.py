"""Listener memory, filter notes and journeys through the console script, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Each run starts the console script on the 28,356-track default catalog.
pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "moodtune"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )


def playlist(*args: str) -> dict:
    proc = run("recommend", "--valence", "-0.6", "--arousal", "-0.4", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_local_profile_gets_fresh_lists_and_seeds_reproduce() -> None:
    first, second = playlist(), playlist()
    a, b = [t["id"] for t in first["tracks"]], [t["id"] for t in second["tracks"]]
    assert len(a) == len(b) == 10 and not set(a) & set(b)  # same mood, fresh tracks
    other = [t["id"] for t in playlist("--profile", "someone-else")["tracks"]]
    assert len(other) == 10  # another profile has its own memory
    s1 = [t["id"] for t in playlist("--seed", "1")["tracks"]]
    assert s1 == [t["id"] for t in playlist("--seed", "1")["tracks"]]
    s2 = [t["id"] for t in playlist("--seed", "2")["tracks"]]
    assert len(set(s1) & set(s2)) <= 7
    for data in (first, second):
        assert all(t["duration_s"] is None or t["duration_s"] >= 60 for t in data["tracks"])


def test_filters_that_cannot_apply_say_so() -> None:
    data = playlist("--no-explicit", "--n", "5")
    # the default catalog does not say which tracks are explicit
    assert data["notes"] == [
        "--no-explicit could not be applied: no track in this catalog says whether it is explicit"
    ]
    proc = run("recommend", "--valence", "0", "--arousal", "0", "--no-explicit", "-n", "3")
    assert proc.returncode == 0
    assert "note: --no-explicit could not be applied" in proc.stderr
    proc = run("recommend", "--valence", "0", "--arousal", "0", "--max-duration", "10")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "at most 10 s leaves" in lines[0]
    assert "allow longer tracks" in lines[0]


def test_journey_json_has_the_playlist_shape() -> None:
    proc = run("journey", "--from", "sad", "--to", "happy", "--n", "6", "--json", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["strategy"] == "journey" and len(data["tracks"]) == 6
    assert set(playlist()["tracks"][0]) <= set(data["tracks"][0])  # same track fields
    vals = [t["valence"] for t in data["tracks"]]
    assert vals[-1] > vals[0] + 0.4
    proc = run("journey", "--from", "nowhere-track", "--to", "happy")
    assert proc.returncode == 2 and "not in the catalog" in proc.stderr
