"""Service calls the bot makes, and the text of its replies.

:func:`playlist_for` asks the service for a playlist that takes the user's stored likes
and skips into account; :func:`format_playlist` turns it into Telegram HTML and
:func:`split_message` cuts that into messages Telegram accepts.
"""

from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING

from moodtune.config import DEFAULT_TRACKS
from moodtune.service import Moodtune

if TYPE_CHECKING:
    from moodtune.service import EmotionResult, PlaylistResult

#: Telegram's limit on the text of one message, in characters.
MESSAGE_LIMIT = 4096

#: Longest transcript line in a reply (long transcripts wrap over several lines).
TRANSCRIPT_LINE = 1000

#: Emoji per label, for the summary line.
LABEL_EMOJI: dict[str, str] = {
    "anger": "😠",
    "disgust": "🤢",
    "fear": "😨",
    "happiness": "😊",
    "sadness": "😢",
    "surprise": "😮",
    "neutral": "😐",
}

#: What each strategy does, for /strategy and /help.
STRATEGY_HELP: dict[str, str] = {
    "match": "music that mirrors your mood",
    "uplift": "starts where you are and lifts you towards happier music",
    "calm": "moves towards calm, relaxed music",
    "energize": "moves towards energetic music",
}


def playlist_for(
    service: Moodtune,
    *,
    user: str,
    strategy: str,
    text: str | None = None,
    audio: bytes | None = None,
    n: int = DEFAULT_TRACKS,
) -> PlaylistResult:
    """Hear one message (typed ``text`` or ``audio`` bytes) and make ``user`` a playlist.

    Blocking (runs the models): call it off the event loop.
    """
    emotion = service.emotion_of(text=text, audio=audio, user=user)
    # with a user, the service steers the playlist by their stored likes and skips
    return service.recommend(emotion, strategy=strategy, n=n, user=user)


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def format_emotion(result: EmotionResult) -> str:
    """HTML summary: the label and confidence, each part, valence/arousal, the transcript."""
    e = result.emotion
    lines = [
        f"{LABEL_EMOJI.get(e.label, '')} <b>{html.escape(e.label)}</b> "
        f"(confidence {_pct(e.confidence)})".strip()
    ]
    mixed = e.mixed or getattr(result.parts.get("text"), "mixed", ())
    if mixed:
        lines.append(
            "mixed feelings: "
            + " + ".join(f"{LABEL_EMOJI.get(m, '')} {html.escape(m)}".strip() for m in mixed)
        )
    parts = dict(result.parts)
    if len(parts) > 1:
        parts["fused"] = e
    if parts:
        lines.append(
            " · ".join(
                f"{name}: unsure"
                if name == "voice" and Moodtune.is_unsure(p)
                else f"{name}: {html.escape(p.label)} {_pct(p.confidence)}"
                for name, p in parts.items()
            )
        )
    lines.append(f"valence {e.valence:+.2f}, arousal {e.arousal:+.2f}")
    if result.transcript is not None:
        said = result.transcript or "(no words recognised)"
        # short lines, each with its own tags, so split_message never cuts inside a tag
        for k, piece in enumerate(textwrap.wrap(said, TRANSCRIPT_LINE) or [said]):
            lines.append(f"{'🗣 ' if k == 0 else ''}<i>{html.escape(piece)}</i>")
    return "\n".join(lines)


def format_playlist(playlist: PlaylistResult) -> str:
    """HTML reply: the emotion summary, then numbered tracks with Spotify links and reasons."""
    lines = [format_emotion(playlist.emotion), ""]
    if not playlist.tracks:
        lines.append("No tracks in the catalog fit; try another /strategy.")
        return "\n".join(lines)
    lines.append(
        f"🎧 Playlist (<b>{html.escape(playlist.strategy)}</b>: "
        f"{html.escape(STRATEGY_HELP.get(playlist.strategy, ''))}):"
    )
    for i, track in enumerate(playlist.tracks, start=1):
        title = html.escape(str(track.get("name") or track["id"]))
        artists = html.escape(", ".join(track.get("artists") or []))
        url = track.get("url")
        if url:
            title = f'<a href="{html.escape(str(url), quote=True)}">{title}</a>'
        line = f"{i}. {title}" + (f" — {artists}" if artists else "")
        if track.get("liked"):
            line += " ♥ liked"
        lines.append(line)
        if track.get("reason"):
            lines.append(f"    <i>{html.escape(str(track['reason']))}</i>")
    for note in getattr(playlist, "notes", None) or []:
        lines.append(f"<i>{html.escape(str(note))}</i>")
    lines.append("")
    lines.append(
        "👍 keeps a track and ⏭ swaps it for another, here and in your next playlists; "
        "ℹ️ tells you about a track."
    )
    return "\n".join(lines)


def split_message(text: str, *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at line breaks.

    Lines are kept whole (so HTML tags, which never span lines here, stay balanced);
    a single line longer than ``limit`` is cut at spaces, or hard as a last resort.
    """
    if limit < 1:
        raise ValueError(f"limit={limit} must be positive")
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        pieces = [line]
        if len(line) > limit:
            pieces = []
            rest = line
            while len(rest) > limit:
                cut = rest.rfind(" ", 0, limit + 1)
                if cut <= 0:
                    cut = limit
                pieces.append(rest[:cut])
                rest = rest[cut:].lstrip(" ")
            pieces.append(rest)
        for piece in pieces:
            candidate = piece if not current else f"{current}\n{piece}"
            if len(candidate) <= limit:
                current = candidate
            else:
                if current.strip():
                    chunks.append(current)
                current = piece
    if current.strip():
        chunks.append(current)
    return chunks or [""]


def revise_playlist(
    service: Moodtune,
    *,
    user: str,
    emotion: EmotionResult,
    strategy: str,
    current: list[str],
) -> PlaylistResult:
    """Revise the playlist ``current`` after the user's feedback (blocking).

    Skipped tracks are replaced in place, liked ones kept and marked (see ``current``
    in :meth:`moodtune.service.Moodtune.recommend`).
    """
    return service.recommend(emotion, strategy=strategy, user=user, current=current)
