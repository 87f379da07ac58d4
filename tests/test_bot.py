"""The Telegram bot's real handlers against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiogram")

import contextlib

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.types import Update  # noqa: E402

from fake_telegram import FakeTelegram  # noqa: E402
from fakes import FakeMoodtune  # noqa: E402
from moodtune.bot.app import build_bot, build_dispatcher, run_bot_async  # noqa: E402
from moodtune.bot.handlers import ANALYZE_HELP, SORRY, BotSettings  # noqa: E402
from moodtune.bot.playlist import MESSAGE_LIMIT, split_message  # noqa: E402
from moodtune.bot.store import UserStore  # noqa: E402
from moodtune.errors import ParameterError  # noqa: E402
from moodtune.service import Moodtune  # noqa: E402

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
SPEECH = Path(__file__).parent / "data" / "speech"
LYRICS = Path(__file__).parent / "data" / "lyrics"
GENRES = ("edm", "latin", "pop", "r&b", "rap", "rock")
QUADRANTS = ("happy / excited", "tense / angry", "sad / depressed", "calm / relaxed")


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def service(request: pytest.FixtureRequest) -> Moodtune | FakeMoodtune:
    """The bot's plumbing runs twice: on the fake facade (no model, the fast lane) and on
    the real one (``slow``), with the same assertions."""
    if request.param == "fake":
        return FakeMoodtune()
    real: Moodtune = request.getfixturevalue("real_service")
    return real


@pytest.fixture(scope="module")
def real_service(tmp_path_factory: pytest.TempPathFactory) -> Moodtune:
    """One real facade for the module (models load once); the default catalog in its own home."""
    from moodtune.catalog.default import open_default_catalog

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOODTUNE_HOME", str(tmp_path_factory.mktemp("bot_home")))
        path = open_default_catalog().path
    return Moodtune(catalog_path=path)


class Harness:
    """A dispatcher with the real handlers, a bot and the fake server it talks to."""

    def __init__(self, tg: FakeTelegram, bot: Bot, dp: Dispatcher) -> None:
        self.tg, self.bot, self.dp = tg, bot, dp
        self._update_id = 0

    async def feed(self, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Feed one update; return the API calls it caused."""
        self._update_id += 1
        before = len(self.tg.calls)
        update = Update.model_validate(
            {"update_id": self._update_id, **payload}, context={"bot": self.bot}
        )
        await self.dp.feed_update(self.bot, update)
        return self.tg.calls[before:]

    def _message(self, user: int, **content: Any) -> dict[str, Any]:
        return {
            "message": {
                "message_id": self._update_id + 1,
                "date": 1_700_000_000,
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": "Test"},
                **content,
            }
        }

    async def text(self, text: str, *, user: int = 1) -> list[dict[str, Any]]:
        """Send a text; return the sendMessage calls."""
        calls = await self.feed(self._message(user, text=text))
        return [p for m, p in calls if m == "sendMessage"]

    async def media(
        self, kind: str, data: bytes | None, *, user: int = 1, **fields: Any
    ) -> list[dict[str, Any]]:
        """Send a voice/audio/video_note/document whose file serves ``data``."""
        file_id = f"f{self._update_id + 1}"
        if data is not None:
            self.tg.files[file_id] = data
        obj = {"file_id": file_id, "file_unique_id": f"u{file_id}", **fields}
        if kind in ("voice", "audio", "video_note", "video"):
            obj.setdefault("duration", 5)
        if kind == "video_note":
            obj.setdefault("length", 240)
        calls = await self.feed(self._message(user, **{kind: obj}))
        return [p for m, p in calls if m == "sendMessage"]

    async def press(self, data: str, *, user: int = 1) -> list[tuple[str, dict[str, Any]]]:
        """Press an inline button with callback ``data``."""
        return await self.feed(
            {
                "callback_query": {
                    "id": f"cq{self._update_id + 1}",
                    "from": {"id": user, "is_bot": False, "first_name": "Test"},
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": 7,
                        "date": 1_700_000_000,
                        "chat": {"id": user, "type": "private"},
                        "text": "playlist",
                    },
                }
            }
        )


def drive(
    service: Moodtune,
    store: UserStore,
    script: Callable[[Harness], Awaitable[None]],
    *,
    settings: BotSettings | None = None,
) -> FakeTelegram:
    """Run ``script`` against a fresh fake server and dispatcher; return the server."""

    async def main() -> FakeTelegram:
        async with FakeTelegram() as tg:
            bot = build_bot(TOKEN, api_url=tg.url)
            dp = build_dispatcher(service, store=store, settings=settings)
            try:
                await script(Harness(tg, bot, dp))
            finally:
                await bot.session.close()
            return tg

    return asyncio.run(main())


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "users.json")


def track_ids(reply: dict[str, Any]) -> list[str]:
    """Track ids of a playlist reply, from its like buttons."""
    rows = reply["reply_markup"]["inline_keyboard"]
    return [row[0]["callback_data"].split("|", 2)[2] for row in rows]


# -- text ------------------------------------------------------------------------------
def test_text_message_gets_emotion_and_spotify_links(service, store):
    replies: list[dict[str, Any]] = []

    async def script(h: Harness) -> None:
        replies.extend(await h.text("I feel so sad and lonely, I cried all night", user=11))

    tg = drive(service, store, script)
    assert len(replies) == 1
    reply = replies[0]
    text = reply["text"]
    assert reply["parse_mode"] == "HTML"
    assert reply["link_preview_options"] == {"is_disabled": True}
    assert "<b>sadness</b>" in text
    assert "confidence" in text and "valence" in text
    assert text.count('href="https://open.spotify.com/track/') == 10
    assert "mirrors your sad mood" in text  # reasons, strategy match by default
    assert len(track_ids(reply)) == 10
    assert tg.sent("sendChatAction"), "the user sees 'typing' while the models run"


def test_start_help_and_emo(service, store):
    out: dict[str, list[dict[str, Any]]] = {}

    async def script(h: Harness) -> None:
        out["start"] = await h.text("/start")
        out["help"] = await h.text("/help")
        out["emo"] = await h.text("/emo What a wonderful, happy day!", user=12)
        out["emo_empty"] = await h.text("/emo")
        out["unknown"] = await h.text("/frobnicate")

    drive(service, store, script)
    assert "voice note" in out["start"][0]["text"] and "/strategy" in out["help"][0]["text"]
    assert "/analyze" in out["help"][0]["text"] and "ℹ️" in out["help"][0]["text"]
    assert "<b>happiness</b>" in out["emo"][0]["text"]
    assert "open.spotify.com" in out["emo"][0]["text"]
    assert "/emo what a day" in out["emo_empty"][0]["text"]
    assert "/help" in out["unknown"][0]["text"]


# -- strategy --------------------------------------------------------------------------
def test_strategy_argument_persists_and_is_used(service, store, tmp_path):
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        out["set"] = await h.text("/strategy calm", user=21)
        out["bad"] = await h.text("/strategy louder", user=21)
        out["menu"] = await h.text("/strategy", user=21)
        out["playlist"] = await h.text("I am furious, this is outrageous!", user=21)
        out["button"] = await h.press("st|energize", user=22)

    drive(service, store, script)
    assert "calm" in out["set"][0]["text"]
    assert (
        "louder" in out["bad"][0]["text"]
        and "match, uplift, calm, energize" in out["bad"][0]["text"]
    )
    buttons = [b["callback_data"] for b in out["menu"][0]["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["st|match", "st|uplift", "st|calm", "st|energize"]
    assert "Your strategy is <b>calm</b>" in out["menu"][0]["text"]
    assert "<b>calm</b>: moves towards calm" in out["playlist"][0]["text"]
    assert any(m == "answerCallbackQuery" for m, _ in out["button"])
    # persisted: a new store on the same file (a restarted bot) knows both users' choices
    again = UserStore(tmp_path / "users.json")
    assert again.strategy("21") == "calm"
    assert again.strategy("22") == "energize"
    assert again.strategy("23") == "match"


# -- feedback --------------------------------------------------------------------------
def test_skip_and_like_revise_the_playlist_message_in_place(service, store):
    out: dict[str, Any] = {}
    user = 41

    async def script(h: Harness) -> None:
        out["first"] = (await h.text("I feel so sad and lonely", user=user))[0]
        ids = track_ids(out["first"])
        out["ids"] = ids
        out["like"] = await h.press(f"fb|like|{ids[2]}", user=user)
        out["skip"] = await h.press(f"fb|skip|{ids[4]}", user=user)

    drive(service, store, script)
    ids = out["ids"]
    edits = [p for m, p in out["like"] if m == "editMessageText"]
    assert len(edits) == 1 and track_ids(edits[0]) == ids  # a like keeps every track
    assert "♥ liked" in edits[0]["text"]
    edits = [p for m, p in out["skip"] if m == "editMessageText"]
    assert len(edits) == 1
    revised = track_ids(edits[0])
    assert ids[4] not in revised and len(revised) == len(ids)
    assert [t for i, t in enumerate(revised) if i != 4] == [
        t for i, t in enumerate(ids) if i != 4
    ]  # a skip swaps that track only
    answers = [p for m, p in out["skip"] if m == "answerCallbackQuery"]
    assert answers and "Swapped" in answers[0]["text"]


@pytest.mark.slow
def test_like_and_skip_are_stored_and_change_the_next_playlist(real_service, store):
    out: dict[str, Any] = {}
    message = "I am so happy today, everything is wonderful"
    user = 31

    async def script(h: Harness) -> None:
        out["first"] = (await h.text(message, user=user))[0]
        ids = track_ids(out["first"])
        out["ids"] = ids
        out["like"] = await h.press(f"fb|like|{ids[3]}", user=user)
        out["after_like"] = (await h.text(message, user=user))[0]
        out["skip"] = await h.press(f"fb|skip|{ids[0]}", user=user)
        out["second"] = (await h.text(message, user=user))[0]
        out["stale"] = await h.press("fb|like|no-such-track", user=user)
        out["other"] = (await h.text(message, user=user + 1))[0]

    drive(real_service, store, script)
    ids = out["ids"]
    stored = real_service.catalog().feedback_for(str(user))
    assert [(r["track_id"], r["kind"]) for r in stored] == [(ids[3], "like"), (ids[0], "skip")]
    answers = [p for m, p in out["like"] if m == "answerCallbackQuery"]
    assert answers and "Kept" in answers[0]["text"]
    after_like = track_ids(out["after_like"])
    assert after_like != ids  # the like alone changes the next playlist ...
    assert after_like.index(ids[3]) < 3  # ... and pulls the liked track up
    second = track_ids(out["second"])
    assert ids[0] not in second  # the skipped track is left out
    assert second != after_like
    stale = [p for m, p in out["stale"] if m == "answerCallbackQuery"]
    assert stale and "couldn't save" in stale[0]["text"]
    assert "♥ liked" in out["after_like"]["text"]  # the kept track is marked
    # feedback is per user: someone else's playlist is not steered by it
    assert "♥ liked" not in out["other"]["text"]
    assert real_service.catalog().feedback_for(str(user + 1)) == []


# -- limits and errors -----------------------------------------------------------------
def test_oversized_and_overlong_files_get_a_polite_refusal(service, store):
    out: dict[str, Any] = {}
    ogg = (SPEECH / "en_sad.ogg").read_bytes()

    async def script(h: Harness) -> None:
        out["big"] = await h.media("voice", ogg, file_size=25 * 2**20)
        out["long"] = await h.media("audio", ogg, duration=301, file_size=len(ogg))
        out["calls_before"] = len(h.tg.sent("getFile"))
        # size unknown in the message, too big by getFile
        h.tg.file_sizes[f"f{h._update_id + 1}"] = 21 * 2**20
        out["doc"] = await h.media("document", ogg, mime_type="audio/ogg")
        out["photo_doc"] = await h.media("document", b"%PDF", mime_type="application/pdf")

    tg = drive(service, store, script)
    assert "26.2 MB" in out["big"][0]["text"] and "up to 20 MB" in out["big"][0]["text"]
    assert "5.0 minutes" in out["long"][0]["text"] and "at most 5 minutes" in out["long"][0]["text"]
    assert out["calls_before"] == 0  # refused without downloading
    assert "22.0 MB" in out["doc"][0]["text"]
    assert "voice, audio or video" in out["photo_doc"][0]["text"]
    assert all(t.startswith("🙏") for t in tg.texts())


def test_errors_become_friendly_replies_and_the_bot_goes_on(service, store, tmp_path, caplog):
    broken_catalog = tmp_path / "broken.db"
    broken_catalog.write_bytes(b"this is not a sqlite database" * 100)
    broken = (
        FakeMoodtune(broken_catalog=broken_catalog)
        if isinstance(service, FakeMoodtune)
        else Moodtune(catalog_path=broken_catalog)
    )
    out: dict[str, Any] = {}

    async def healthy(h: Harness) -> None:
        out["corrupt"] = await h.media("voice", b"OggS" + bytes(range(256)) * 8)
        h.tg.fail.add("getFile")
        out["api_down"] = await h.media("voice", (SPEECH / "en_sad.ogg").read_bytes())
        h.tg.fail.clear()
        out["after"] = await h.text("What a lovely calm evening", user=41)

    async def sick(h: Harness) -> None:
        out["catalog"] = await h.text("I am happy")
        out["feedback"] = await h.press("fb|like|0DbRkFE2KAyNXnKzD9inpV")

    with caplog.at_level(logging.INFO, logger="moodtune.bot"):
        drive(service, store, healthy)
        drive(broken, store, sick)  # type: ignore[arg-type]
    assert out["corrupt"][0]["text"].startswith("🤔 I couldn't use that:")
    assert out["api_down"][0]["text"] == SORRY
    assert "open.spotify.com" in out["after"][0]["text"]  # still running
    assert out["catalog"][0]["text"] == SORRY
    assert "/broken.db" not in out["catalog"][0]["text"]
    answers = [p for m, p in out["feedback"] if m == "answerCallbackQuery"]
    assert answers and "Sorry" in answers[0]["text"]
    logged = caplog.text
    assert "failed" in logged and "voice" in logged
    assert TOKEN not in logged


def test_long_replies_are_split(service, store):
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        out["replies"] = await h.text("I feel calm and content", user=51)

    drive(service, store, script, settings=BotSettings(n_tracks=100))
    replies = out["replies"]
    assert len(replies) >= 2
    assert all(len(r["text"]) <= MESSAGE_LIMIT for r in replies)
    joined = "\n".join(r["text"] for r in replies)
    assert joined.count("open.spotify.com/track/") == 100
    assert all("reply_markup" not in r for r in replies[:-1])
    assert len(track_ids(replies[-1])) == 20  # buttons for the first 20 (Telegram's cap)


def test_split_message_keeps_lines_and_limits():
    lines = [f"{i}. <a href='x'>track {i}</a>" for i in range(500)]
    text = "\n".join(lines)
    chunks = split_message(text, limit=300)
    assert all(len(c) <= 300 for c in chunks)
    assert "\n".join(chunks) == text
    long_line = "word " * 2000
    chunks = split_message(long_line.strip(), limit=100)
    assert all(0 < len(c) <= 100 for c in chunks)
    assert " ".join(chunks).split() == long_line.split()
    assert split_message("x" * 250, limit=100) == ["x" * 100, "x" * 100, "x" * 50]
    assert split_message("short") == ["short"]


# -- voice -----------------------------------------------------------------------------
@pytest.mark.slow
def test_voice_note_reply_has_transcript_and_sadness(real_service, store):
    out: dict[str, Any] = {}
    ogg = (SPEECH / "en_sad.ogg").read_bytes()

    async def script(h: Harness) -> None:
        out["voice"] = await h.media(
            "voice", ogg, user=61, duration=4, mime_type="audio/ogg", file_size=len(ogg)
        )

    tg = drive(real_service, store, script)
    assert [p["file_id"] for p in tg.sent("getFile")] == ["f1"]
    text = out["voice"][0]["text"]
    assert "<b>sadness</b>" in text
    assert "voice:" in text and "text:" in text and "fused:" in text
    assert "sad" in text.lower() and "lonely" in text.lower()  # the transcript
    assert "🗣" in text
    assert "open.spotify.com/track/" in text
    assert "61" in real_service._speakers  # per-user voice statistics


@pytest.mark.slow
def test_video_note_is_heard(real_service, store):
    from moodtune.audio.decode import load_audio
    from moodtune.audio.encode import encode_audio

    y = load_audio(SPEECH / "en_happy.ogg", sr=16000)
    mp4 = encode_audio(y, sr=16000, fmt="mp4", video=True)
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        out["note"] = await h.media("video_note", mp4, user=62, duration=4)

    drive(real_service, store, script)
    text = out["note"][0]["text"]
    assert "happy" in text.lower() and "open.spotify.com" in text


# -- running -----------------------------------------------------------------------------
def test_run_bot_polls_the_api_and_never_logs_the_token(service, caplog):
    """The real polling loop: getMe, getUpdates from the fake server, a reply, then stop."""

    async def main() -> FakeTelegram:
        async with FakeTelegram() as tg:
            await tg.updates.put(
                {
                    "update_id": 900,
                    "message": {
                        "message_id": 1,
                        "date": 1_700_000_000,
                        "chat": {"id": 71, "type": "private"},
                        "from": {"id": 71, "is_bot": False, "first_name": "T"},
                        "text": "/emo I am scared of the dark",
                    },
                }
            )
            task = asyncio.create_task(run_bot_async(TOKEN, api_url=tg.url, service=service))
            for _ in range(600):
                if tg.sent("sendMessage") or task.done():
                    break
                await asyncio.sleep(0.1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return tg

    logging.getLogger().addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG):
            tg = asyncio.run(main())
    finally:
        logging.getLogger().removeHandler(caplog.handler)
    assert tg.sent("getMe")
    assert tg.sent("getUpdates")
    texts = tg.texts()
    assert texts and "open.spotify.com" in texts[0]
    assert TOKEN not in caplog.text


def test_cli_needs_a_token_and_checks_it(monkeypatch):
    from moodtune.bot.cli import bot

    monkeypatch.delenv("MOODTUNE_TELEGRAM_TOKEN", raising=False)
    with pytest.raises(ParameterError, match="MOODTUNE_TELEGRAM_TOKEN"):
        bot(api_url=None)
    with pytest.raises(ParameterError, match="does not look like a bot token") as info:
        build_bot("not-a-token-secret")
    assert "not-a-token-secret" not in str(info.value)


def test_token_is_masked_in_log_records(caplog):
    from moodtune.bot.app import RedactToken

    caplog.handler.addFilter(RedactToken(TOKEN))
    try:
        with caplog.at_level(logging.INFO, logger="moodtune.test"):
            logging.getLogger("moodtune.test").info("calling %s/getMe", f"/bot{TOKEN}")
    finally:
        caplog.handler.filters.clear()
    assert "/bot<token>/getMe" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.slow
def test_mix_reply_to_a_voice_note_sends_the_mixed_audio(store, tmp_path):
    import numpy as np

    from moodtune.audio.encode import encode_audio

    sr = 16000
    lib = tmp_path / "lib"
    lib.mkdir()
    t = np.arange(10 * sr) / sr
    music = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    (lib / "song.wav").write_bytes(encode_audio(music, sr=sr, fmt="wav"))
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    assert svc.scan(lib, workers=1).analysed == 1
    voice = (SPEECH / "en_sad.ogg").read_bytes()
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        h.tg.files["v1"] = voice
        voice_msg = {
            "message_id": 5,
            "date": 1_700_000_000,
            "chat": {"id": 21, "type": "private"},
            "voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 4},
        }
        calls = await h.feed(h._message(21, text="/mix", reply_to_message=voice_msg))
        out["audio"] = [p for m, p in calls if m == "sendAudio"]
        out["text"] = [p for m, p in calls if m == "sendMessage"]
        calls = await h.feed(h._message(21, text="/mix"))
        out["help"] = [p for m, p in calls if m == "sendMessage"]

    drive(svc, store, script)
    assert len(out["audio"]) == 1, out["text"]
    sent = out["audio"][0]
    assert "LUFS" in sent["caption"] and "ducked" in sent["caption"]
    assert len(sent["_bytes"]) > 10_000
    assert "Reply with /mix" in out["help"][0]["text"]


# -- track info and /analyze -------------------------------------------------------------
def esc(text: str) -> str:
    """Text as the bot escapes it in HTML."""
    return html.escape(text, quote=False)


@pytest.fixture
def no_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Descriptions come from the template (no LLM configured)."""
    monkeypatch.delenv("MOODTUNE_LLM_URL", raising=False)


def test_info_button_replies_with_genre_and_description(service, store, no_llm):
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        out["playlist"] = (await h.text("I feel calm and peaceful tonight", user=81))[0]
        rows = out["playlist"]["reply_markup"]["inline_keyboard"]
        out["info_data"] = [row[2]["callback_data"] for row in rows]
        out["info"] = await h.press(out["info_data"][1], user=81)
        out["stale"] = await h.press("ti|no-such-track", user=81)

    drive(service, store, script)
    ids = track_ids(out["playlist"])
    assert out["info_data"] == [f"ti|{i}" for i in ids]
    assert all(len(d.encode()) <= 64 for d in out["info_data"])
    assert "ℹ️ tells you about a track" in out["playlist"]["text"]
    answers = [p for m, p in out["info"] if m == "answerCallbackQuery"]
    assert answers, "the button's spinner is stopped"
    sent = [p for m, p in out["info"] if m == "sendMessage"]
    assert len(sent) == 1
    text = sent[0]["text"]
    assert sent[0]["parse_mode"] == "HTML"
    view = service.track_view(ids[1], llm=False)
    assert esc(view["name"]) in text
    genre = view["genre_info"]
    assert f"Genre: <b>{esc(genre['label'])}</b>" in text
    ranked = sorted(genre["probabilities"].items(), key=lambda kv: -kv[1])
    for name, p in ranked[:3]:
        assert f"{esc(name)} {round(100 * p)}%" in text
    assert esc(ranked[3][0]) + " " not in text.split("Genre:")[1].split("\n")[1]
    assert f"📝 {esc(view['description']['text'])}" in text
    assert "(template)" in text
    assert "Lyrics: none known" in text  # a catalog track without words
    stale = [p["text"] for m, p in out["stale"] if m == "sendMessage"]
    assert stale and "not in the catalog" in stale[0]


@pytest.mark.slow
def test_info_button_shows_the_llm_description_when_one_is_configured(
    real_service, store, monkeypatch
):
    from fake_llm import FakeLLM

    words = (
        "A warm, steady song that glows from the first bar to the last. "
        "It never rushes and ends as gently as it began."
    )
    out: dict[str, Any] = {}
    with FakeLLM() as llm:
        llm.script("json", {"description": words})
        monkeypatch.setenv("MOODTUNE_LLM_URL", llm.url)
        monkeypatch.setenv("MOODTUNE_LLM_MODEL", "fake-1")
        monkeypatch.setenv("MOODTUNE_LLM_TIMEOUT", "5")

        async def script(h: Harness) -> None:
            calls = await h.press("ti|0DbRkFE2KAyNXnKzD9inpV", user=84)
            out["text"] = [p["text"] for m, p in calls if m == "sendMessage"]

        drive(real_service, store, script)
        asked = len(llm.chats())
    assert asked == 1
    text = out["text"][0]
    assert f"📝 {words}" in text
    assert "<i>written by the LLM fake-1</i>" in text


@pytest.mark.slow
def test_info_button_on_a_scanned_song_shows_its_lyrics(store, tmp_path, no_llm):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("sidecar_song.ogg", "sidecar_song.lrc"):
        shutil.copy(LYRICS / name, lib / name)
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    assert svc.scan(lib, workers=1).analysed == 1
    track_id = "local:" + hashlib.sha256((lib / "sidecar_song.ogg").read_bytes()).hexdigest()[:16]
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        calls = await h.press(f"ti|{track_id}", user=82)
        out["text"] = [p["text"] for m, p in calls if m == "sendMessage"]

    drive(svc, store, script)
    assert len(out["text"]) == 1
    text = out["text"][0]
    view = svc.track_view(track_id, llm=False)
    probs = view["lyrics"]["probabilities"]
    assert f"Lyrics: <b>{max(probs, key=lambda k: probs[k])}</b> (from the .lrc file" in text
    assert "I feel so happy" in text  # the excerpt
    share = round(100 * view["emotion_point"]["lyrics_share"])
    assert share > 0 and f"the words make up {share}% of the mood point" in text
    assert f"Genre: <b>{view['genre_info']['label']}</b>" in text
    assert "from the curve (template)" in text
    assert esc(view["description"]["text"]) in text


def _music_ogg(seconds: float = 12.0) -> bytes:
    """A short synthesized piece: two tones, a pulse and a noisy beat."""
    import numpy as np

    from moodtune.audio.encode import encode_audio

    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    beat = (np.sin(2 * np.pi * 2 * t) > 0.9).astype(float)
    noise = np.random.default_rng(0).standard_normal(t.size)
    music = (
        0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
        + 0.1 * np.sin(2 * np.pi * 330 * t)
        + 0.3 * beat * noise
    )
    return encode_audio(music.astype(np.float32), sr=sr, fmt="ogg")


def test_analyze_a_music_file_by_caption_and_by_reply(service, store, tmp_path, no_llm):
    ogg = _music_ogg()
    out: dict[str, Any] = {}

    async def script(h: Harness) -> None:
        h.tg.files["m1"] = ogg
        doc = {
            "file_id": "m1",
            "file_unique_id": "um1",
            "file_name": "groove.ogg",
            "mime_type": "audio/ogg",
            "file_size": len(ogg),
        }
        calls = await h.feed(h._message(83, document=doc, caption="/analyze"))
        out["caption"] = [p for m, p in calls if m == "sendMessage"]
        out["typing"] = [p for m, p in calls if m == "sendChatAction"]
        audio = {"file_id": "m1", "file_unique_id": "um1", "duration": 12, "title": "Groove"}
        replied = {
            "message_id": 3,
            "date": 1_700_000_000,
            "chat": {"id": 83, "type": "private"},
            "audio": audio,
        }
        calls = await h.feed(h._message(83, text="/analyze", reply_to_message=replied))
        out["reply"] = [p for m, p in calls if m == "sendMessage"]
        out["bare"] = await h.text("/analyze", user=83)
        long_audio = dict(audio, duration=31 * 60)
        out["gets_before"] = len(h.tg.sent("getFile"))
        out["long"] = await h.feed(h._message(83, audio=long_audio, caption="/analyze"))
        out["gets_after"] = len(h.tg.sent("getFile"))
        h.tg.files["bad"] = b"OggS" + bytes(range(256)) * 8
        bad = dict(doc, file_id="bad", file_unique_id="ubad", file_size=None)
        calls = await h.feed(h._message(83, document=bad, caption="/analyze"))
        out["bad"] = [p for m, p in calls if m == "sendMessage"]

    drive(service, store, script)
    # the same file analysed directly
    path = tmp_path / "groove.ogg"
    path.write_bytes(ogg)
    report = service.analyze_track(path, llm=False).to_dict()
    label = report["genre"]["label"]
    assert label in GENRES
    assert len(out["caption"]) == 1 and out["typing"]
    text = out["caption"][0]["text"]
    assert text.startswith("🔎 <b>groove.ogg</b>")
    assert f"Genre: <b>{esc(label)}</b> (classifier's guess)" in text
    probs = report["genre"]["probabilities"]
    assert f"{esc(label)} {round(100 * probs[label])}%" in text
    point = report["emotion_point"]
    quadrants = [q for q in QUADRANTS if f"Mood: <b>{q}</b>" in text]
    assert len(quadrants) == 1
    assert f"valence {point['valence']:+.2f}, arousal {point['arousal']:+.2f}" in text
    assert f"📝 {esc(report['description']['text'])}" in text
    assert "Lyrics: none known" in text  # no words in a synthesized piece
    # replying /analyze to the audio message gives the same analysis, titled by the tag
    assert len(out["reply"]) == 1
    assert out["reply"][0]["text"].startswith("🔎 <b>Groove</b>")
    assert out["reply"][0]["text"].split("\n", 1)[1] == text.split("\n", 1)[1]
    assert out["bare"][0]["text"] == ANALYZE_HELP
    long = [p["text"] for m, p in out["long"] if m == "sendMessage"]
    assert "31.0 minutes" in long[0] and "at most 30 minutes" in long[0]
    assert out["gets_after"] == out["gets_before"]  # refused without downloading
    assert out["bad"][0]["text"].startswith("🤔 I couldn't use that:")


def test_mix_caption_says_when_the_music_loops() -> None:
    from pathlib import Path as _Path

    from moodtune.bot.handlers import mix_caption
    from moodtune.mix.pipeline import MixResult

    note = "no fitting track is as long as the voice (95 s); the 40 s track loops under it"
    result = MixResult(
        output=_Path("mix.m4a"),
        duration_s=95.0,
        track={"id": "t1", "name": "Song", "note": note},
        loudness_lufs=-16.0,
        true_peak_dbtp=-1.5,
        duck_depth_db=9.0,
        speech_s=60.0,
        video=False,
        target_lufs=-16.0,
    )
    assert mix_caption(result).endswith("\n" + note)
