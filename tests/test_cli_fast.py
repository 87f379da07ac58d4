"""CLI plumbing on the fake facade (the fast lane): options, JSON, tables, exit codes.

The CLI runs in-process (:func:`moodtune.cli.main`) with :func:`moodtune.service.get_service`
replaced by :class:`fakes.FakeMoodtune`; what the real models and catalog give is tested
through the console script in ``test_cli.py`` and ``test_recommend_cli.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes import FakeMoodtune
from moodtune.cli import main
from moodtune.types import LABELS

SPEECH = Path(__file__).parent / "data" / "speech"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMoodtune:
    svc = FakeMoodtune()
    monkeypatch.setattr("moodtune.service.get_service", lambda: svc)
    monkeypatch.setenv("COLUMNS", "160")
    return svc


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    got = capsys.readouterr()
    return rc, got.out, got.err


def test_emotion_json_is_the_facade_json(
    fake: FakeMoodtune, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(capsys, "emotion", "--text", "I feel sad and lonely", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data == fake.emotion_of(text="I feel sad and lonely").to_dict()
    assert data["emotion"]["label"] == "sadness" and set(data["emotion"]["probabilities"]) == set(
        LABELS
    )


def test_emotion_bars_list_every_label(
    fake: FakeMoodtune, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(capsys, "emotion", "--text", "Мне страшно")
    assert rc == 0
    assert "Language: ru" in out and "text: fear" in out
    assert all(lab in out for lab in LABELS) and "%" in out


def test_voice_file_goes_through_the_decoder(
    fake: FakeMoodtune, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(capsys, "emotion", str(SPEECH / "en_sad.ogg"), "--json")
    assert rc == 0
    data = json.loads(out)
    assert set(data["parts"]) == {"voice", "text"} and data["transcript"]


def test_recommend_json_table_and_listener(
    fake: FakeMoodtune, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(
        capsys, "recommend", "--text", "I am furious", "--strategy", "calm", "-n", "5", "--json"
    )
    assert rc == 0, err
    data = json.loads(out)
    assert data["strategy"] == "calm" and len(data["tracks"]) == 5
    assert data["emotion"]["label"] == "anger"
    arousal = [t["target"]["arousal"] for t in data["tracks"]]
    assert arousal[-1] < arousal[0]  # calm: the path goes down
    assert fake.history == {"cli:local": [[t["id"] for t in data["tracks"]]]}
    rc, out, _ = run(capsys, "recommend", "--text", "I am furious", "-n", "3", "--profile", "ann")
    assert rc == 0 and "Playlist (match)" in out and "open.spotify.com/track/" in out
    assert "cli:ann" in fake.history


def test_recommend_for_a_point_and_filters(
    fake: FakeMoodtune, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("recommend", "--valence", "0.7", "--arousal", "0.5", "--json", "--genre", "rock")
    rc, out, err = run(capsys, *args, "--year-min", "2000")
    assert rc == 0, err
    tracks = json.loads(out)["tracks"]
    assert tracks and all(t["genre"] == "rock" for t in tracks)
    assert all(fake.tracks[t["id"]]["year"] >= 2000 for t in tracks)


@pytest.mark.parametrize(
    ("args", "code", "pattern"),
    [
        (("recommend", "--text", "hi", "--strategy", "loud"), 2, "strategy 'loud'"),
        (("recommend", "--text", "hi", "-n", "0"), 2, "n=0"),
        (("recommend", "--text", "hi", "--valence", "0.1"), 2, "not both"),
        (("recommend", "--valence", "0.1"), 2, "both valence"),
        (("recommend",), 2, "give a message"),
        (("emotion", "--text", ""), 2, "empty"),
        (("emotion", "--text", "a" * 6000), 2, "5000"),
        (("recommend", "--text", "hi", "--to", "ftp"), 2, "--to 'ftp'"),
        (("journey", "--from", "nowhere-track", "--to", "happy"), 2, "not in the catalog"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(
    fake: FakeMoodtune,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    pattern: str,
) -> None:
    rc, out, err = run(capsys, *args)
    assert rc == code, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and pattern in lines[0], err
    assert "Traceback" not in err and not out


def test_journey_json_has_the_playlist_shape(
    fake: FakeMoodtune, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(capsys, "journey", "--from", "sad", "--to", "happy", "--n", "6", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["strategy"] == "journey" and len(data["tracks"]) == 6
    vals = [t["target"]["valence"] for t in data["tracks"]]
    assert vals[-1] > vals[0]


def _commands_with_arguments() -> list[tuple[list[str], str]]:
    """(command path, first words of its argument's help) for every command with one."""
    import click
    import typer

    from moodtune.cli import app

    found: list[tuple[list[str], str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
            return
        for param in cmd.params:
            help_text = getattr(param, "help", None)  # typer's arguments carry help
            if isinstance(param, click.Argument) and help_text:
                found.append((path, " ".join(str(help_text).split()[:3])))

    walk(typer.main.get_command(app), [])
    return found


def test_every_positional_argument_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`moodtune analyze --help` must say what FILE is (typer 0.16 under click 8.5 did not)."""
    cases = _commands_with_arguments()
    assert len(cases) >= 5, cases  # emotion, recommend, analyze, scan, similar, mix, import...
    for path, words in cases:
        rc, out, err = run(capsys, *path, "--help")
        assert rc == 0, err
        assert words in " ".join(out.replace("│", " ").split()), (path, words, out)
