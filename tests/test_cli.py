"""The CLI through its console script, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moodtune.errors import ParameterError

CATALOG_DATA = Path(__file__).parent / "data" / "catalog"
SCRIPT = Path(sys.executable).parent / "moodtune"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = os.environ.copy() | (env or {})
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=full_env, timeout=300
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, pattern: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert pattern in lines[0]


def test_console_script_installed():
    assert SCRIPT.exists()
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("emotion", "recommend", "catalog"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["emotion", "--text", ""], "text is empty"),
        (["recommend", "--text", "   \n "], "text is empty"),
        (["recommend", "--text", "x" * 5001], "over the limit of 5000"),
        (["recommend", "--text", "hello", "--strategy", "party"], "strategy 'party' is unknown"),
        (["recommend", "--text", "hello", "--n", "0"], "n=0 is out of range"),
        (["recommend", "--text", "hello", "--n", "101"], "n=101 is out of range"),
        (["recommend"], "give a message"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args, pattern):
    assert_one_line_error(run(*args), 2, pattern)


@pytest.mark.slow
def test_empty_catalog_exits_1(tmp_path):
    from moodtune.catalog.repository import Catalog

    path = tmp_path / "empty.sqlite"
    Catalog.open(path).close()
    proc = run("recommend", "--text", "I am happy", env={"MOODTUNE_CATALOG": str(path)})
    assert_one_line_error(proc, 1, "empty")


def test_corrupt_catalog_exits_1_and_is_left_alone(tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    proc = run("catalog", "stats", env={"MOODTUNE_CATALOG": str(path)})
    assert_one_line_error(proc, 1, str(path))
    assert path.read_bytes() == before


def test_catalog_in_missing_folder_exits_1(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "c.sqlite"
    proc = run("catalog", "stats", env={"MOODTUNE_CATALOG": str(path)})
    assert_one_line_error(proc, 1, "")


@pytest.mark.slow
def test_catalog_import_and_stats(tmp_path):
    env = {"MOODTUNE_CATALOG": str(tmp_path / "mine.sqlite")}
    from moodtune.catalog.repository import Catalog

    Catalog.open(tmp_path / "mine.sqlite").close()
    proc = run("catalog", "import", str(CATALOG_DATA / "kaggle_data.csv"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "added" in proc.stdout
    assert "line " in proc.stderr  # the fixture's bad rows are reported by line number
    stats = json.loads(run("catalog", "stats", "--json", env=env).stdout)
    assert stats["tracks"] > 0
    # Kaggle rows have no genre: the classifier labels them so --genre filters work
    assert f"{stats['tracks']} tracks without a genre got the genre classifier's" in " ".join(
        proc.stdout.split()
    )
    six = {"edm", "latin", "pop", "r&b", "rap", "rock"}
    with Catalog.open(tmp_path / "mine.sqlite") as cat:
        table = cat.load_table()
        assert set(table.genre) <= six
        stored = cat.get_genres(str(table.id[0]))
        assert stored is not None and set(stored["probabilities"]) == six
    genre = str(table.genre[0])
    rec = run("recommend", "--text", "happy", "--genre", genre, "--json", "-n", "1", env=env)
    assert rec.returncode == 0, rec.stderr
    assert json.loads(rec.stdout)["tracks"][0]["genre"] == genre


def test_catalog_import_bad_file_changes_nothing(tmp_path):
    env = {"MOODTUNE_CATALOG": str(tmp_path / "mine.sqlite")}
    from moodtune.catalog.repository import Catalog

    Catalog.open(tmp_path / "mine.sqlite").close()
    proc = run("catalog", "import", str(CATALOG_DATA / "bad_unknown_header.csv"), env=env)
    assert_one_line_error(proc, 2, "bad_unknown_header.csv")
    stats = json.loads(run("catalog", "stats", "--json", env=env).stdout)
    assert stats["tracks"] == 0


@pytest.mark.slow
def test_emotion_json_shape():
    proc = run("emotion", "--text", "I am so happy today, everything is wonderful!", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["emotion"]["label"] == "happiness"
    assert set(data["emotion"]) == {"label", "probabilities", "valence", "arousal", "confidence"}
    assert data["language"] == "en"
    assert set(data["parts"]) == {"text"}


@pytest.mark.slow
@pytest.mark.parametrize("text", ["Мне очень грустно и одиноко", "I feel so sad and lonely"])
def test_recommend_sad_match_on_default_catalog(text):
    proc = run("recommend", "--text", text, "--json", "--n", "10")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["emotion"]["label"] == "sadness"
    assert data["strategy"] == "match"
    tracks = data["tracks"]
    assert len(tracks) == 10
    keys = {"id", "name", "artists", "valence", "energy", "danceability", "tempo", "mode"}
    keys |= {"acousticness", "url", "reason", "target"}
    assert keys <= set(tracks[0])
    # the default catalog's mean valence is about 0.51: a sad match playlist sits well below
    assert sum(t["valence"] for t in tracks) / len(tracks) < 0.35
    assert all(t["url"].startswith("https://open.spotify.com/track/") for t in tracks)
    assert len({t["artists"][0] for t in tracks}) == 10


@pytest.mark.slow
def test_recommend_uplift_rises_and_is_reproducible():
    args = ["recommend", "--text", "Мне очень грустно и одиноко", "--strategy", "uplift"]
    first = json.loads(run(*args, "--json", "--seed", "3").stdout)
    again = json.loads(run(*args, "--json", "--seed", "3").stdout)
    assert [t["id"] for t in first["tracks"]] == [t["id"] for t in again["tracks"]]
    targets = [t["target"]["valence"] for t in first["tracks"]]
    assert targets == sorted(targets) and targets[-1] > targets[0] + 0.5
    vals = [t["valence"] for t in first["tracks"]]
    assert sum(vals[-3:]) / 3 > sum(vals[:3]) / 3 + 0.3


@pytest.mark.slow
def test_recommend_human_output_has_table():
    proc = run("recommend", "--text", "I am furious!", "--strategy", "calm", "--n", "5")
    assert proc.returncode == 0, proc.stderr
    assert "Playlist (calm)" in proc.stdout
    assert "anger" in proc.stdout


@pytest.mark.slow
def test_feedback_steers_the_next_playlist():
    from moodtune.service import Moodtune

    service = Moodtune()
    first = service.recommend_for(text="I feel so sad and lonely", n=5, user="u1", seed=3)
    skipped = first.tracks[0]["id"]
    liked = first.tracks[1]["id"]
    service.add_feedback("u1", skipped, "skip")
    service.add_feedback("u1", liked, "like")
    second = service.recommend_for(text="I feel so sad and lonely", n=5, user="u1", seed=3)
    ids = [t["id"] for t in second.tracks]
    assert skipped not in ids
    assert ids != [t["id"] for t in first.tracks]
    # another user is not affected
    other = service.recommend_for(text="I feel so sad and lonely", n=5, user="u2", seed=3)
    assert [t["id"] for t in other.tracks] == [t["id"] for t in first.tracks]
    with pytest.raises(ParameterError, match="unknown"):
        service.add_feedback("u1", liked, "love")
    with pytest.raises(ParameterError, match="not in the catalog"):
        service.add_feedback("u1", "nope", "like")


@pytest.mark.slow
def test_recommend_for_a_valence_arousal_point():
    calm = run("recommend", "--valence", "0.5", "--arousal", "-0.7", "--json", "-n", "8")
    assert calm.returncode == 0, calm.stderr
    data = json.loads(calm.stdout)
    assert data["parts"].keys() == {"given"} and data["emotion"]["arousal"] == -0.7
    tracks = data["tracks"]
    assert sum(t["energy"] for t in tracks) / len(tracks) < 0.4  # calm music for a calm point
    assert_one_line_error(run("recommend", "--valence", "0.5"), 2, "both valence and arousal")
    assert_one_line_error(
        run("recommend", "--text", "hi", "--valence", "0", "--arousal", "0"), 2, "not both"
    )
    assert_one_line_error(run("recommend", "--valence", "1.5", "--arousal", "0"), 2, "[-1, 1]")
