"""The bot outlives an unreachable Telegram at start, and its rough edges are smoothed."""

from __future__ import annotations

import asyncio
import logging

import pytest

pytest.importorskip("aiogram")

import contextlib

from fake_telegram import FakeTelegram  # noqa: E402
from fakes import FakeMoodtune  # noqa: E402
from local_servers import free_port  # noqa: E402
from moodtune.bot.app import build_bot, run_bot_async, wait_for_telegram  # noqa: E402

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def service() -> FakeMoodtune:
    """The fake facade: waiting for Telegram is plumbing, no model needed."""
    return FakeMoodtune()


def _capture(caplog: pytest.LogCaptureFixture, main):
    logging.getLogger().addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            return asyncio.run(main())
    finally:
        logging.getLogger().removeHandler(caplog.handler)


def test_the_bot_waits_for_a_telegram_that_comes_up_late(service, caplog):
    """Nothing listens on the API port at start; the fake server starts 2 s later."""
    port = free_port()

    async def main() -> tuple[FakeTelegram, bool]:
        task = asyncio.create_task(
            run_bot_async(
                TOKEN,
                api_url=f"http://127.0.0.1:{port}",
                service=service,
                connect_backoff=(0.2, 0.5),
            )
        )
        for _ in range(600):  # the models load, then getMe fails and is retried
            if "cannot reach" in caplog.text or task.done():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        alive_while_down = not task.done()
        async with FakeTelegram(port=port) as tg:
            await tg.updates.put(
                {
                    "update_id": 5,
                    "message": {
                        "message_id": 1,
                        "date": 1_700_000_000,
                        "chat": {"id": 9, "type": "private"},
                        "from": {"id": 9, "is_bot": False, "first_name": "T"},
                        "text": "/emo I am so happy today",
                    },
                }
            )
            for _ in range(300):
                if tg.sent("sendMessage") or task.done():
                    break
                await asyncio.sleep(0.1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return tg, alive_while_down

    tg, alive_while_down = _capture(caplog, main)
    assert alive_while_down
    assert tg.sent("getMe") and tg.texts(), tg.calls
    tries = [r for r in caplog.records if "cannot reach" in r.getMessage()]
    assert len(tries) >= 2  # one line per try
    for record in tries:
        msg = record.getMessage()
        assert "\n" not in msg and record.exc_info is None
        assert f"127.0.0.1:{port}" in msg and "trying again in" in msg
    assert "reached http://127.0.0.1" in caplog.text
    assert TOKEN not in caplog.text


def test_server_errors_are_retried_but_a_bad_token_is_not(caplog):
    from aiogram.exceptions import TelegramUnauthorizedError

    async def main() -> int:
        async with FakeTelegram() as tg:
            bot = build_bot(TOKEN, api_url=tg.url)
            try:
                tg.fail.add("getMe")

                async def heal() -> None:
                    await asyncio.sleep(0.5)
                    tg.fail.discard("getMe")

                healer = asyncio.create_task(heal())
                me = await wait_for_telegram(bot, backoff=(0.1,))
                await healer
                assert me.is_bot
                return len(tg.sent("getMe"))
            finally:
                await bot.session.close()

    assert _capture(caplog, main) >= 3

    async def unauthorized() -> None:
        from aiohttp import web

        async def deny(_request: web.Request) -> web.Response:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )

        app = web.Application()
        app.router.add_post("/bot{token}/{method}", deny)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        bot = build_bot(TOKEN, api_url=f"http://{host}:{port}")
        try:
            await asyncio.wait_for(wait_for_telegram(bot, backoff=(0.1,)), 10)
        finally:
            await bot.session.close()
            await runner.cleanup()

    with pytest.raises(TelegramUnauthorizedError):
        asyncio.run(unauthorized())
