"""``moodtune bot``: run the Telegram bot (the lead registers :func:`bot` on the CLI app)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from moodtune import config
from moodtune.errors import ParameterError, missing_extra

#: Environment variable holding the bot token from @BotFather.
TOKEN_ENV = "MOODTUNE_TELEGRAM_TOKEN"

#: Environment variable with the base URL of a local Bot API server (optional).
API_ENV = "MOODTUNE_TELEGRAM_API"


def bot(
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="Base URL of a local Bot API server (default: $MOODTUNE_TELEGRAM_API, "
            "else Telegram's).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the Telegram bot; the token comes from MOODTUNE_TELEGRAM_TOKEN."""
    settings = config.settings()
    token = settings.telegram_token
    api_url = api_url or settings.telegram_api
    if not token:
        raise ParameterError(f"set {TOKEN_ENV} to the bot token from @BotFather")
    try:
        from moodtune.bot.app import run_bot
    except ImportError as exc:
        if getattr(exc, "name", "") and str(exc.name).split(".")[0] in ("aiogram", "aiohttp"):
            raise missing_extra("aiogram", "bot") from None
        raise
    logging.getLogger("moodtune").setLevel(logging.INFO)
    try:
        run_bot(token, api_url=api_url)
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("bot stopped")
