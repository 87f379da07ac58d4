"""aiogram 3 handlers: messages in, emotion summaries and playlists out.

Every handler turns errors into a polite reply in one place (:func:`_polite`): a
:class:`moodtune.errors.MoodtuneError` about the input is explained to the user, anything
else is logged with its traceback and answered with a generic apology, and the bot goes on.
Model work runs in a thread (:func:`asyncio.to_thread`), at most
:attr:`BotSettings.max_concurrent` messages at a time.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)

from moodtune import config
from moodtune.bot.playlist import (
    STRATEGY_HELP,
    format_playlist,
    playlist_for,
    revise_playlist,
    split_message,
)
from moodtune.bot.store import UserStore
from moodtune.bot.tracks import analyze_bytes, format_analysis, format_track_info
from moodtune.config import DEFAULT_TRACKS
from moodtune.errors import (
    BusyError,
    InputTooLargeError,
    MoodtuneError,
    NoSpeechError,
    ParameterError,
)
from moodtune.service import Moodtune

if TYPE_CHECKING:
    from moodtune.service import PlaylistResult

log = logging.getLogger(__name__)

#: The Bot API's limit for files a bot may download (getFile), in bytes.
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024

#: Callback data prefixes (``fb|like|<track id>``, ``st|<strategy>``, ``ti|<track id>``).
FEEDBACK_PREFIX = "fb|"
STRATEGY_PREFIX = "st|"
INFO_PREFIX = "ti|"

#: Telegram's limit on callback data, in bytes.
CALLBACK_LIMIT = 64

#: Tracks that get like/skip/info buttons (Telegram caps a keyboard at about 100 buttons).
MAX_BUTTON_ROWS = 20

#: Longest music file /analyze listens to, in seconds (``config.limits().music_seconds``).
MAX_MUSIC_SECONDS = config.limits().music_seconds

HELP = (
    "🎵 <b>moodtune</b> hears how you feel and picks music for it.\n\n"
    "Send me a <b>voice note</b>, a <b>video note</b>, an <b>audio file</b> or just "
    "<b>type</b> how your day is going (Russian or English). I reply with the emotion I "
    "hear — from your voice, your words and both together — and a playlist with "
    "Spotify links.\n\n"
    "/emo <i>text</i> — the same for a typed text\n"
    "/analyze — send a music file with the caption /analyze (or reply /analyze to one): "
    "its genre, mood, the emotion of its lyrics and a description\n"
    "/strategy — how the playlist moves: "
    + ", ".join(f"<b>{s}</b> ({STRATEGY_HELP[s]})" for s in Moodtune.strategies())
    + "\n/help — this message\n\n"
    "👍 and ⏭ under a playlist steer the next one: liked tracks pull it towards them, "
    "skipped tracks are left out; ℹ️ tells you about a track. Voice messages up to "
    "{minutes} minutes, music up to {music_minutes} minutes and files up to {mb} MB."
)

SORRY = "😔 Sorry, something went wrong on my side. Please try again in a moment."


@dataclass
class BotSettings:
    """Limits and sizes of the bot.

    Attributes
    ----------
    n_tracks : int
        Playlist length.
    max_file_bytes : int
        Largest file accepted (the Bot API lets bots download at most 20 MB).
    max_seconds : float
        Longest voice/audio/video accepted, in seconds.
    max_music_seconds : float
        Longest music file /analyze accepts, in seconds.
    max_concurrent : int
        Messages analysed at the same time; others wait their turn.
    """

    n_tracks: int = DEFAULT_TRACKS
    max_file_bytes: int = min(BOT_API_DOWNLOAD_LIMIT, config.limits().upload_bytes)
    max_seconds: float = config.limits().voice_seconds
    max_music_seconds: float = MAX_MUSIC_SECONDS
    max_concurrent: int = 2


@dataclass
class BotContext:
    """What the handlers need, injected by the dispatcher as ``ctx``."""

    service: Moodtune
    store: UserStore
    settings: BotSettings = field(default_factory=BotSettings)
    semaphore: asyncio.Semaphore = field(init=False)
    #: Each user's latest playlist: (emotion, strategy, track ids), so a 👍/⏭ under it
    #: revises it in place (kept in memory only; after a restart feedback just steers).
    latest: dict[str, tuple[Any, str, list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.settings.max_concurrent)


def help_text(settings: BotSettings) -> str:
    """The /start and /help reply."""
    return (
        HELP.replace("{minutes}", f"{settings.max_seconds / 60:g}")
        .replace("{music_minutes}", f"{settings.max_music_seconds / 60:g}")
        .replace("{mb}", f"{settings.max_file_bytes / 1e6:g}")
    )


def friendly(exc: BaseException) -> str:
    """The reply for an error: the reason for bad input, an apology for anything else."""
    if isinstance(exc, InputTooLargeError):
        return f"🙏 That is too big for me: {html.escape(str(exc))}"
    if isinstance(exc, NoSpeechError):
        return "🤔 I couldn't hear any speech in that. Could you say it again, or type it?"
    if isinstance(exc, BusyError):
        return "⏳ I'm busy with other messages right now. Please try again in a minute."
    if isinstance(exc, ParameterError):
        return f"🤔 I couldn't use that: {html.escape(' '.join(str(exc).split()))}"
    return SORRY


@asynccontextmanager
async def _polite(message: Message, what: str) -> AsyncIterator[None]:
    """Turn any error inside into a friendly reply and a log line; never re-raise."""
    try:
        yield
    except MoodtuneError as exc:
        user = message.from_user.id if message.from_user else None
        if isinstance(exc, ParameterError):
            log.info("%s from user %s refused: %s", what, user, exc)
        else:
            log.error("%s from user %s failed: %s", what, user, exc, exc_info=True)
        await _safe_answer(message, friendly(exc))
    except Exception:
        user = message.from_user.id if message.from_user else None
        log.exception("%s from user %s failed unexpectedly", what, user)
        await _safe_answer(message, SORRY)


async def _safe_answer(message: Message, text: str) -> None:
    try:
        await message.answer(text)
    except Exception:
        log.exception("could not send a reply to chat %s", message.chat.id)


def _user_key(message: Message) -> str:
    return str(message.from_user.id if message.from_user else message.chat.id)


def feedback_keyboard(playlist: PlaylistResult) -> InlineKeyboardMarkup | None:
    """One row per track: 👍 like, ⏭ skip and ℹ️ info buttons.

    Only the first :data:`MAX_BUTTON_ROWS` tracks get buttons; tracks whose id does not
    fit Telegram's 64-byte callback data get none.
    """
    rows = []
    for i, track in enumerate(playlist.tracks[:MAX_BUTTON_ROWS], start=1):
        track_id = str(track["id"])
        like = f"{FEEDBACK_PREFIX}like|{track_id}"
        skip = f"{FEEDBACK_PREFIX}skip|{track_id}"
        if len(skip.encode()) > CALLBACK_LIMIT:
            continue
        name = str(track.get("name") or track_id)
        short = name if len(name) <= 24 else name[:23] + "…"
        rows.append(
            [
                InlineKeyboardButton(text=f"👍 {i}. {short}", callback_data=like),
                InlineKeyboardButton(text=f"⏭ {i}", callback_data=skip),
                InlineKeyboardButton(text=f"ℹ️ {i}", callback_data=f"{INFO_PREFIX}{track_id}"),
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def strategy_keyboard(current: str) -> InlineKeyboardMarkup:
    """The four strategies as buttons; the current one is marked."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=("✅ " if s == current else "") + s,
                    callback_data=f"{STRATEGY_PREFIX}{s}",
                )
                for s in Moodtune.strategies()
            ]
        ]
    )


async def _typing(bot: Bot | None, chat_id: int) -> None:
    """Show "typing…" while the models run (cosmetic: failures are ignored)."""
    if bot is None:
        return
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except Exception:  # cosmetic; the reply matters
        log.debug("send_chat_action failed", exc_info=True)


async def reply_with_playlist(
    message: Message,
    ctx: BotContext,
    *,
    text: str | None = None,
    audio: bytes | None = None,
) -> None:
    """Analyse one message off the event loop and send the summary and playlist."""
    user = _user_key(message)
    strategy = ctx.store.strategy(user)
    async with ctx.semaphore:
        await _typing(message.bot, message.chat.id)
        playlist = await asyncio.to_thread(
            playlist_for,
            ctx.service,
            user=user,
            strategy=strategy,
            text=text,
            audio=audio,
            n=ctx.settings.n_tracks,
        )
    ctx.latest[user] = (playlist.emotion, strategy, [str(t["id"]) for t in playlist.tracks])
    chunks = split_message(format_playlist(playlist))
    keyboard = feedback_keyboard(playlist)
    for k, chunk in enumerate(chunks):
        last = k == len(chunks) - 1
        await message.answer(
            chunk,
            reply_markup=keyboard if last else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    log.info(
        "user %s: %s -> %s, %d tracks (%s)",
        user,
        "audio" if audio is not None else "text",
        playlist.emotion.emotion.label,
        len(playlist.tracks),
        strategy,
    )


def _too_big(
    settings: BotSettings,
    size: int | None,
    seconds: float | None,
    *,
    max_seconds: float | None = None,
) -> str | None:
    """The refusal for a file over the limits, or None when it may be downloaded.

    ``max_seconds`` overrides :attr:`BotSettings.max_seconds` (music has its own limit).
    """
    longest = settings.max_seconds if max_seconds is None else max_seconds
    if size is not None and size > settings.max_file_bytes:
        return (
            f"🙏 Sorry, that file is {size / 1e6:.1f} MB; I can only take files up to "
            f"{config.describe_bytes(settings.max_file_bytes)}. Could you send a shorter one?"
        )
    if seconds is not None and seconds > longest:
        return (
            f"🙏 Sorry, that recording is {seconds / 60:.1f} minutes long; I listen to at "
            f"most {longest / 60:g} minutes. Could you send a shorter one?"
        )
    return None


async def _download(
    message: Message,
    ctx: BotContext,
    *,
    file_id: str,
    size: int | None,
    seconds: float | None,
    what: str,
    max_seconds: float | None = None,
) -> bytes | None:
    """Fetch a file from Telegram within the limits; None after a polite refusal."""
    refusal = _too_big(ctx.settings, size, seconds, max_seconds=max_seconds)
    if refusal is not None:
        log.info(
            "%s from user %s refused: size=%s duration=%s", what, _user_key(message), size, seconds
        )
        await _safe_answer(message, refusal)
        return None
    bot = message.bot
    assert bot is not None
    file = await bot.get_file(file_id)
    refusal = _too_big(ctx.settings, file.file_size, None)
    if refusal is not None or file.file_path is None:
        await _safe_answer(message, refusal or SORRY)
        return None
    buffer = await bot.download_file(file.file_path)
    assert buffer is not None
    data: bytes = buffer.getvalue() if hasattr(buffer, "getvalue") else buffer.read()
    if len(data) > ctx.settings.max_file_bytes:
        await _safe_answer(message, _too_big(ctx.settings, len(data), None) or SORRY)
        return None
    return data


async def _handle_media(
    message: Message,
    ctx: BotContext,
    *,
    file_id: str,
    size: int | None,
    seconds: float | None,
    what: str,
) -> None:
    async with _polite(message, what):
        data = await _download(message, ctx, file_id=file_id, size=size, seconds=seconds, what=what)
        if data is not None:
            await reply_with_playlist(message, ctx, audio=data)


MIX_HELP = (
    "Reply with /mix to a voice note, an audio file, a video or a video note, and I will "
    "lay music that fits its mood under it (from the tracks scanned into my catalog)."
)


async def on_mix(message: Message, ctx: BotContext) -> None:
    """``/mix`` as a reply to a voice note or video: send back the mixed file."""
    target = message.reply_to_message
    media = None
    if target is not None:
        for kind, video in (
            ("voice", False),
            ("audio", False),
            ("video_note", True),
            ("video", True),
        ):
            obj = getattr(target, kind, None)
            if obj is not None:
                media = (kind, video, obj)
                break
    if media is None:
        await _safe_answer(message, MIX_HELP)
        return
    kind, video, obj = media
    async with _polite(message, kind.replace("_", " ")):
        data = await _download(
            message,
            ctx,
            file_id=obj.file_id,
            size=getattr(obj, "file_size", None),
            seconds=getattr(obj, "duration", None),
            what=kind,
        )
        if data is None:
            return
        user = _user_key(message)
        async with ctx.semaphore:
            mixed, result = await asyncio.to_thread(
                ctx.service.mix_upload,
                data,
                filename="video.mp4" if video else "voice.ogg",
                output_ext=None if video else ".m4a",
                strategy=ctx.store.strategy(user),
                user=user,
            )
        name = result.track.get("name") or result.track.get("id") or "music"
        caption = mix_caption(result)
        if video:
            await message.answer_video(
                BufferedInputFile(mixed, filename="moodtune-mix.mp4"), caption=caption
            )
        else:
            await message.answer_audio(
                BufferedInputFile(mixed, filename="moodtune-mix.m4a"), caption=caption
            )
        log.info("user %s: /mix of a %s with %s", user, kind, name)


ANALYZE_HELP = (
    "Send a music file with the caption /analyze, or reply /analyze to one, and I will "
    "tell you its genre, its mood, the emotion of its lyrics and how it moves."
)


@dataclass(frozen=True)
class _Sound:
    """A message's sound file to download: what it is, its limits and its names."""

    what: str
    file_id: str
    size: int | None
    seconds: float | None
    file_name: str | None
    mime: str | None
    title: str | None


def _music_of(message: Message | None) -> _Sound | None:
    """The sound file of a message (audio, voice, video, audio/video document), or None."""
    if message is None:
        return None
    if message.audio is not None:
        a = message.audio
        title = " — ".join(x for x in (a.title, a.performer) if x) or a.file_name
        return _Sound("audio", a.file_id, a.file_size, a.duration, a.file_name, a.mime_type, title)
    if message.voice is not None:
        v = message.voice
        return _Sound("voice", v.file_id, v.file_size, v.duration, None, v.mime_type, None)
    if message.video is not None:
        m = message.video
        return _Sound(
            "video", m.file_id, m.file_size, m.duration, m.file_name, m.mime_type, m.file_name
        )
    d = message.document
    if d is not None:
        mime = d.mime_type or ""
        if mime.startswith(("audio/", "video/")) or mime == "application/ogg":
            return _Sound(
                "audio document", d.file_id, d.file_size, None, d.file_name, mime, d.file_name
            )
    return None


async def on_analyze(message: Message, ctx: BotContext) -> None:
    """``/analyze`` as the caption of a music file, or as a reply to one: describe the track."""
    found = _music_of(message) or _music_of(message.reply_to_message)
    if found is None:
        await _safe_answer(message, ANALYZE_HELP)
        return
    async with _polite(message, f"/analyze of a {found.what}"):
        data = await _download(
            message,
            ctx,
            file_id=found.file_id,
            size=found.size,
            seconds=found.seconds,
            what=found.what,
            max_seconds=ctx.settings.max_music_seconds,
        )
        if data is None:
            return
        async with ctx.semaphore:
            await _typing(message.bot, message.chat.id)
            report = await asyncio.to_thread(
                analyze_bytes, ctx.service, data, filename=found.file_name, mime=found.mime
            )
        for chunk in split_message(format_analysis(report, name=found.title)):
            await message.answer(chunk, link_preview_options=LinkPreviewOptions(is_disabled=True))
        log.info(
            "user %s: /analyze of a %s -> %s, %s",
            _user_key(message),
            found.what,
            report["genre"]["label"],
            report["description"]["source"],
        )


# -- commands ------------------------------------------------------------------
async def on_help(message: Message, ctx: BotContext) -> None:
    """Greet and explain."""
    await _safe_answer(message, help_text(ctx.settings))


async def on_emo(message: Message, command: CommandObject, ctx: BotContext) -> None:
    """``/emo <text>``: emotion and playlist of a typed text."""
    text = (command.args or "").strip()
    if not text:
        await _safe_answer(
            message, "Write the text after the command, e.g. <code>/emo what a day!</code>"
        )
        return
    async with _polite(message, "/emo"):
        await reply_with_playlist(message, ctx, text=text)


async def on_strategy(message: Message, command: CommandObject, ctx: BotContext) -> None:
    """``/strategy [name]``: set the user's strategy, or offer the four as buttons."""
    user = _user_key(message)
    choice = (command.args or "").strip().lower()
    async with _polite(message, "/strategy"):
        if not choice:
            current = ctx.store.strategy(user)
            lines = [f"Your strategy is <b>{current}</b>. Pick one:"]
            lines += [f"• <b>{s}</b> — {STRATEGY_HELP[s]}" for s in Moodtune.strategies()]
            await message.answer("\n".join(lines), reply_markup=strategy_keyboard(current))
            return
        await asyncio.to_thread(ctx.store.set_strategy, user, choice)
        await message.answer(f"✅ Strategy set to <b>{choice}</b>: {STRATEGY_HELP[choice]}.")


async def on_unknown_command(message: Message) -> None:
    """Any other command: point to /help."""
    await _safe_answer(message, "I don't know that command; /help lists what I can do.")


# -- messages ------------------------------------------------------------------
async def on_text(message: Message, ctx: BotContext) -> None:
    """A typed message: emotion of the words and a playlist."""
    async with _polite(message, "text"):
        await reply_with_playlist(message, ctx, text=message.text or "")


async def on_voice(message: Message, ctx: BotContext) -> None:
    """A voice note."""
    v = message.voice
    assert v is not None
    await _handle_media(
        message, ctx, file_id=v.file_id, size=v.file_size, seconds=v.duration, what="voice"
    )


async def on_video_note(message: Message, ctx: BotContext) -> None:
    """A round video note: its sound track is heard."""
    v = message.video_note
    assert v is not None
    await _handle_media(
        message, ctx, file_id=v.file_id, size=v.file_size, seconds=v.duration, what="video note"
    )


async def on_audio(message: Message, ctx: BotContext) -> None:
    """An audio file sent as music."""
    a = message.audio
    assert a is not None
    await _handle_media(
        message, ctx, file_id=a.file_id, size=a.file_size, seconds=a.duration, what="audio"
    )


async def on_video(message: Message, ctx: BotContext) -> None:
    """A video: its sound track is heard."""
    v = message.video
    assert v is not None
    await _handle_media(
        message, ctx, file_id=v.file_id, size=v.file_size, seconds=v.duration, what="video"
    )


async def on_document(message: Message, ctx: BotContext) -> None:
    """A file: audio and video files are heard, anything else is politely declined."""
    d = message.document
    assert d is not None
    mime = d.mime_type or ""
    if not mime.startswith(("audio/", "video/")) and mime != "application/ogg":
        await _safe_answer(
            message, "🙏 I can only listen to voice, audio or video files, or read your text."
        )
        return
    await _handle_media(
        message, ctx, file_id=d.file_id, size=d.file_size, seconds=None, what="audio document"
    )


async def on_other(message: Message) -> None:
    """Stickers, photos and the rest."""
    await _safe_answer(
        message, "🙏 Send me a voice note, a video note, an audio file or some text."
    )


# -- buttons -------------------------------------------------------------------
async def on_feedback(query: CallbackQuery, ctx: BotContext) -> None:
    """👍/⏭ under a playlist: store the like or skip in the catalog."""
    parts = (query.data or "").split("|", 2)
    if len(parts) != 3 or parts[1] not in ("like", "skip") or not parts[2]:
        await query.answer("That button is out of date.")
        return
    _, kind, track_id = parts
    user = str(query.from_user.id)
    try:
        name = await asyncio.to_thread(_store_feedback, ctx.service, user, track_id, kind)
    except MoodtuneError as exc:
        level = logging.INFO if isinstance(exc, ParameterError) else logging.ERROR
        log.log(level, "feedback %s %s from user %s failed: %s", kind, track_id, user, exc)
        await query.answer("Sorry, I couldn't save that.", show_alert=True)
        return
    log.info("user %s: %s %s", user, kind, track_id)
    latest = ctx.latest.get(user)
    if latest is not None and track_id in latest[2] and query.message is not None:
        emotion, strategy, current = latest
        try:
            revised = await asyncio.to_thread(
                revise_playlist,
                ctx.service,
                user=user,
                emotion=emotion,
                strategy=strategy,
                current=current,
            )
        except MoodtuneError as exc:
            log.info("revising user %s's playlist failed: %s", user, exc)
        else:
            ids = [str(t["id"]) for t in revised.tracks]
            ctx.latest[user] = (emotion, strategy, ids)
            new = [t for t in revised.tracks if str(t["id"]) not in current]
            chunks = split_message(format_playlist(revised))
            if len(chunks) == 1:
                try:
                    await query.message.edit_text(  # type: ignore[union-attr]
                        chunks[0],
                        reply_markup=feedback_keyboard(revised),
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )
                except Exception:  # an old message may not be editable: the words still hold
                    log.info("could not edit user %s's playlist message", user, exc_info=True)
            if kind == "skip" and new:
                await query.answer(f"⏭ Swapped “{name}” for “{new[0].get('name')}”.")
                return
    await query.answer(
        f"👍 Kept “{name}”; more like it next time."
        if kind == "like"
        else f"⏭ I'll leave out “{name}” next time."
    )


def _store_feedback(service: Moodtune, user: str, track_id: str, kind: str) -> str:
    """Store a like/skip in the catalog; return the track's name (blocking)."""
    service.add_feedback(user, track_id, kind)
    track = service.track_row(track_id)
    return str(track.get("name") or track_id) if track else track_id


async def on_track_info(query: CallbackQuery, ctx: BotContext) -> None:
    """ℹ️ under a playlist: the track's genre, mood, lyrics emotion and description."""
    track_id = (query.data or "")[len(INFO_PREFIX) :]
    if not track_id:
        await query.answer("That button is out of date.")
        return
    try:  # stop the button's spinner now: a description may take the LLM a while
        await query.answer()
    except Exception:
        log.debug("could not answer the callback", exc_info=True)
    user = str(query.from_user.id)
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    try:
        async with ctx.semaphore:
            await _typing(query.bot, chat_id)
            view = await asyncio.to_thread(ctx.service.track_view, track_id)
        text = format_track_info(view)
    except MoodtuneError as exc:
        level = logging.INFO if isinstance(exc, ParameterError) else logging.ERROR
        log.log(level, "track info %s for user %s failed: %s", track_id, user, exc)
        text = friendly(exc)
    except Exception:
        log.exception("track info %s for user %s failed unexpectedly", track_id, user)
        text = SORRY
    assert query.bot is not None
    for chunk in split_message(text):
        await query.bot.send_message(
            chat_id, chunk, link_preview_options=LinkPreviewOptions(is_disabled=True)
        )
    log.info("user %s: info on %s", user, track_id)


async def on_strategy_button(query: CallbackQuery, ctx: BotContext) -> None:
    """A strategy button: store it and confirm."""
    choice = (query.data or "")[len(STRATEGY_PREFIX) :]
    if choice not in Moodtune.strategies():
        await query.answer("That button is out of date.")
        return
    await asyncio.to_thread(ctx.store.set_strategy, str(query.from_user.id), choice)
    await query.answer(f"Strategy: {choice}")
    if isinstance(query.message, Message):
        await query.message.answer(f"✅ Strategy set to <b>{choice}</b>: {STRATEGY_HELP[choice]}.")


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    """Last resort: log anything a handler let through and apologise where we can."""
    log.error("unhandled error in update %s", event.update.update_id, exc_info=event.exception)
    chat_id = None
    if event.update.message is not None:
        chat_id = event.update.message.chat.id
    elif event.update.callback_query is not None:
        query = event.update.callback_query
        try:
            await query.answer("Sorry, something went wrong.")
        except Exception:
            log.debug("could not answer the callback", exc_info=True)
        return True
    if chat_id is not None:
        try:
            await bot.send_message(chat_id, SORRY)
        except Exception:
            log.exception("could not send the apology to chat %s", chat_id)
    return True


def build_router() -> Router:
    """Return a new router with every handler (one per dispatcher)."""
    router = Router(name="moodtune")
    router.message.register(on_help, CommandStart())
    router.message.register(on_help, Command("help"))
    router.message.register(on_emo, Command("emo"))
    router.message.register(on_strategy, Command("strategy"))
    router.message.register(on_mix, Command("mix"))
    router.message.register(on_analyze, Command("analyze"))
    router.message.register(on_unknown_command, F.text.startswith("/"))
    router.message.register(on_text, F.text)
    router.message.register(on_voice, F.voice)
    router.message.register(on_video_note, F.video_note)
    router.message.register(on_audio, F.audio)
    router.message.register(on_video, F.video)
    router.message.register(on_document, F.document)
    router.message.register(on_other)
    router.callback_query.register(on_feedback, F.data.startswith(FEEDBACK_PREFIX))
    router.callback_query.register(on_strategy_button, F.data.startswith(STRATEGY_PREFIX))
    router.callback_query.register(on_track_info, F.data.startswith(INFO_PREFIX))
    router.errors.register(on_error)
    return router


def mix_caption(result: Any) -> str:
    """The caption of a mix: the track, its loudness and how far the music was ducked.

    ``result`` is a :class:`moodtune.mix.pipeline.MixResult`; a voice without a pause
    of about 2 s (1.8 s, so the envelope has settled) has no measured duck depth (NaN),
    which the caption says in words.
    """
    name = result.track.get("name") or result.track.get("id") or "music"
    depth = result.duck_depth_db
    ducked = (
        f"music ducked {depth:.0f} dB under your voice"
        if math.isfinite(depth)
        else "music ducked under your voice (depth not measured: no pause of 2 s or more)"
    )
    note = result.track.get("note")  # e.g. no song as long as the voice: it loops
    return f"🎵 {name} · {result.loudness_lufs:.1f} LUFS · {ducked}" + (f"\n{note}" if note else "")
