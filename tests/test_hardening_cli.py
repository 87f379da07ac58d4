"""Rough edges of the CLI and the bot: clear errors, plain words, a table that fits 80 columns."""

from __future__ import annotations

import asyncio
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moodtune.cli import main

SPEECH = Path(__file__).parent / "data" / "speech"
SCRIPT = Path(sys.executable).parent / "moodtune"
TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


def test_analyze_plot_must_be_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["analyze", str(SPEECH / "en_sad.ogg"), "--plot", str(tmp_path / "out.txt")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "internal error" not in err and ".png" in err and "out.txt" in err
    assert not (tmp_path / "out.txt").exists()


def test_analyze_plot_into_a_missing_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "folder" / "curve.png"
    rc = main(["analyze", str(SPEECH / "en_sad.ogg"), "--plot", str(target)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "does not exist" in err and str(target.parent) in err
    assert not (tmp_path / "no").exists()  # nothing was created


def test_music_errors_speak_of_music_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.mp3"
    notes.write_text("not music at all\n" * 50)
    rc = main(["analyze", str(notes)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "music file" in err and "voice" not in err and "_pipe" not in err


@pytest.mark.slow
def test_filters_that_leave_nothing_give_advice_without_setting_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = main(["recommend", "--valence", "0.5", "--arousal", "0.5", "--year-min", "2999"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "widen the years" in err
    assert "year_min" not in err and "relax" not in err


@pytest.mark.slow
def test_the_playlist_fits_80_columns_one_line_per_track() -> None:
    env = os.environ.copy() | {"COLUMNS": "80", "LINES": "50"}
    proc = subprocess.run(
        [str(SCRIPT), "recommend", "--text", "I feel so sad and lonely tonight", "-n", "6"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if re.match(r"^│ *\d+ *│", line)]
    assert len(rows) == 6  # one line per track: nothing wraps inside the table
    whys = [line for line in lines if re.match(r"^ *\d+\. why: ", line)]
    assert len(whys) == 6 and all(len(w) <= 80 for w in whys)


def _mix_result(depth: float) -> Any:
    from moodtune.mix.pipeline import MixResult

    return MixResult(
        output=Path("mix.m4a"),
        duration_s=4.0,
        track={"id": "t1", "name": "Song", "local_path": None},
        loudness_lufs=-16.2,
        true_peak_dbtp=-1.5,
        duck_depth_db=depth,
        speech_s=4.0,
        video=False,
        target_lufs=-16.0,
    )


def test_mix_caption_never_says_nan() -> None:
    from moodtune.bot.handlers import mix_caption

    assert "ducked 9 dB" in mix_caption(_mix_result(9.2))
    caption = mix_caption(_mix_result(math.nan))
    assert "nan" not in caption.lower() and "no pause of 2 s or more" in caption


def test_bot_mix_of_a_voice_without_pauses_says_so(tmp_path: Path) -> None:
    """The real /mix handler over the fake Bot API; the mixing itself is stubbed here
    (the full mix is covered by tests/test_bot.py) to return a voice with no pauses."""
    pytest.importorskip("aiogram")
    from aiogram.types import Update

    from fake_telegram import FakeTelegram
    from moodtune.bot.app import build_bot, build_dispatcher
    from moodtune.bot.store import UserStore

    class NoPauseService:
        def mix_upload(self, data: bytes, **kwargs: Any) -> tuple[bytes, Any]:
            return b"\x00" * 2048, _mix_result(math.nan)

    async def script() -> list[dict[str, Any]]:
        async with FakeTelegram() as tg:
            tg.files["v1"] = b"OggS fake voice"
            bot = build_bot(TOKEN, api_url=tg.url)
            dp = build_dispatcher(NoPauseService(), store=UserStore(tmp_path / "u.json"))  # type: ignore[arg-type]
            voice = {
                "message_id": 5,
                "date": 1_700_000_000,
                "chat": {"id": 21, "type": "private"},
                "voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 4},
            }
            update = Update.model_validate(
                {
                    "update_id": 1,
                    "message": {
                        "message_id": 6,
                        "date": 1_700_000_000,
                        "chat": {"id": 21, "type": "private"},
                        "from": {"id": 21, "is_bot": False, "first_name": "T"},
                        "text": "/mix",
                        "reply_to_message": voice,
                    },
                },
                context={"bot": bot},
            )
            try:
                await dp.feed_update(bot, update)
            finally:
                await bot.session.close()
            return tg.sent("sendAudio")

    sent = asyncio.run(script())
    assert len(sent) == 1
    caption = sent[0]["caption"]
    assert (
        "nan" not in caption.lower() and "no pause of 2 s or more" in caption and "Song" in caption
    )
