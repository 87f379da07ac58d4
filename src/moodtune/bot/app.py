"""Build the bot and its dispatcher, and run it with long polling.

The token comes from the caller (the CLI reads ``MOODTUNE_TELEGRAM_TOKEN``) and is never
logged: :class:`RedactToken` masks it in every log record, should a library print it.
``api_url`` points the bot at a local Bot API server (or at a test's fake one).

Telegram may be unreachable when the bot starts (no network yet, a firewall, an outage):
the bot then logs one line per try and tries again with a growing wait
(:data:`CONNECT_BACKOFF_S`) until it gets through, rather than exiting. A wrong token is
not retried.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.utils.token import TokenValidationError

from moodtune.bot.handlers import BotContext, BotSettings, build_router
from moodtune.bot.store import UserStore
from moodtune.errors import ParameterError

if TYPE_CHECKING:
    from aiogram.types import User

    from moodtune.service import Moodtune

log = logging.getLogger(__name__)

#: Waits between tries to reach Telegram at start, in seconds (the last one repeats).
CONNECT_BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class RedactToken(logging.Filter):
    """Replace the bot token by ``<token>`` in log messages and their arguments."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        """Mask the token in ``record``; always keep the record."""
        if self.token and self.token in record.getMessage():
            record.msg = record.getMessage().replace(self.token, "<token>")
            record.args = None
        return True


def build_dispatcher(
    service: Moodtune | None = None,
    *,
    store: UserStore | None = None,
    settings: BotSettings | None = None,
) -> Dispatcher:
    """Return a dispatcher with moodtune's handlers and their context.

    Parameters
    ----------
    service : Moodtune, optional
        The facade (default: :func:`moodtune.service.get_service`).
    store : UserStore, optional
        Per-user settings (default: ``$MOODTUNE_HOME/bot_users.json``).
    settings : BotSettings, optional
        Playlist length and limits.
    """
    if service is None:
        from moodtune.service import get_service

        service = get_service()
    ctx = BotContext(
        service=service, store=store or UserStore(), settings=settings or BotSettings()
    )
    dp = Dispatcher(ctx=ctx)
    dp.include_router(build_router())
    return dp


def build_bot(token: str, *, api_url: str | None = None) -> Bot:
    """Return a bot that sends HTML and talks to ``api_url`` (default: Telegram's).

    Raises
    ------
    ParameterError
        If the token does not look like a bot token (the token itself is not repeated).
    """
    session = None
    if api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    try:
        return Bot(
            token,
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
    except TokenValidationError:
        raise ParameterError(
            "MOODTUNE_TELEGRAM_TOKEN does not look like a bot token (digits:letters from "
            "@BotFather)"
        ) from None


async def wait_for_telegram(
    bot: Bot, *, backoff: tuple[float, ...] = CONNECT_BACKOFF_S, where: str = "Telegram"
) -> User:
    """Return the bot's own user from ``getMe``, trying again while Telegram is unreachable.

    Network errors, 5xx answers and flood waits are retried after ``backoff[i]`` seconds
    (the last wait repeats), each with one warning line; other errors (a revoked token)
    propagate.
    """
    tries = 0
    while True:
        try:
            me = await bot.get_me()
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            wait = backoff[min(tries, len(backoff) - 1)]
            if isinstance(exc, TelegramRetryAfter):
                wait = max(wait, float(exc.retry_after))
            tries += 1
            reason = " ".join(str(exc).split()) or type(exc).__name__
            log.warning(
                "cannot reach %s (try %d: %s); trying again in %g s", where, tries, reason, wait
            )
            await asyncio.sleep(wait)
            continue
        if tries:
            log.info("reached %s after %d failed tries", where, tries)
        return me


async def run_bot_async(
    token: str,
    *,
    api_url: str | None = None,
    service: Moodtune | None = None,
    settings: BotSettings | None = None,
    connect_backoff: tuple[float, ...] = CONNECT_BACKOFF_S,
) -> None:
    """Load the models, reach Telegram (retrying), then poll for updates until cancelled."""
    bot = build_bot(token, api_url=api_url)  # a malformed token fails before models load
    redact = RedactToken(token)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redact)
    try:
        dp = build_dispatcher(service, settings=settings)
        ctx: BotContext = dp["ctx"]
        log.info("loading the catalog and the text model")
        await asyncio.to_thread(ctx.service.warm_up, voice=False)
        me = await wait_for_telegram(
            bot, backoff=connect_backoff, where=api_url or "Telegram (api.telegram.org)"
        )
        log.info("bot @%s is running (Ctrl+C stops it)", me.username)
        await dp.start_polling(bot, handle_signals=True)
    finally:
        await bot.session.close()
        for handler in handlers:
            handler.removeFilter(redact)


def run_bot(token: str, *, api_url: str | None = None) -> None:
    """Run the bot until interrupted (blocking)."""
    asyncio.run(run_bot_async(token, api_url=api_url))
