"""Service calls the bot makes, and the text of its replies.

:func:`playlist_for` asks the service for a playlist that takes the user's stored likes
and skips into account; :func:`format_playlist` turns it into Telegram HTML and
:func:`split_message` cuts that into messages Telegram accepts.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from typing import TYPE_CHECKING, Any

from moodtune.config import DEFAULT_TRACKS

if TYPE_CHECKING:
    from moodtune.service import EmotionResult, Moodtune, PlaylistResult

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


def feedback_ids(service: Moodtune, user: str) -> tuple[list[str], list[str]]:
    """Return (liked, skipped) track ids of ``user``; the latest word on a track counts."""
    latest: dict[str, str] = {}
    for row in service.catalog().feedback_for(user):
        latest[row["track_id"]] = row["kind"]
    return (
        [t for t, k in latest.items() if k == "like"],
        [t for t, k in latest.items() if k == "skip"],
    )


def _round(x: Any, nd: int = 4) -> float | None:
    try:
        return round(float(x), nd)
    except (TypeError, ValueError):
        return None


def recommend_with_feedback(
    service: Moodtune,
    emotion: EmotionResult,
    *,
    user: str,
    strategy: str,
    n: int = DEFAULT_TRACKS,
) -> PlaylistResult:
    """Playlist for ``emotion`` steered by ``user``'s stored likes and skips.

    Uses ``service.recommend(..., user=...)`` when the service takes a user; otherwise
    calls the recommender with ``liked_ids``/``skipped_ids`` itself and builds the same
    track dicts as the service.
    """
    if "user" in inspect.signature(service.recommend).parameters:
        return service.recommend(emotion, strategy=strategy, n=n, user=user)  # type: ignore[call-arg,unused-ignore]
    return recommend_via_recommender(service, emotion, user=user, strategy=strategy, n=n)


def recommend_via_recommender(
    service: Moodtune,
    emotion: EmotionResult,
    *,
    user: str,
    strategy: str,
    n: int = DEFAULT_TRACKS,
) -> PlaylistResult:
    """Like :func:`recommend_with_feedback`, for a service whose ``recommend`` has no user.

    Calls the service's recommender with the user's ``liked_ids``/``skipped_ids`` and
    builds the same track dicts as ``Moodtune.recommend``.
    """
    from moodtune.recommend.reasons import MOOD_WORDS
    from moodtune.service import PlaylistResult, check_playlist_request

    check_playlist_request(strategy=strategy, n=n)
    table, rec = service._get_recommender()
    liked, skipped = feedback_ids(service, user)
    picks = rec.recommend(
        emotion.emotion.valence,
        emotion.emotion.arousal,
        strategy=strategy,
        n=n,
        mood=MOOD_WORDS[emotion.emotion.label],
        liked_ids=liked,
        skipped_ids=skipped,
    )
    tracks = []
    for p in picks:
        i = p.index
        tracks.append(
            {
                "id": str(table.id[i]),
                "name": str(table.name[i]),
                "artists": [a for a in str(table.artists[i]).split(", ") if a],
                "genre": str(table.genre[i]) or None,
                "valence": _round(table.valence[i]),
                "energy": _round(table.energy[i]),
                "danceability": _round(table.danceability[i]),
                "tempo": _round(table.tempo[i], 1),
                "mode": int(table.mode[i]),
                "acousticness": _round(table.acousticness[i]),
                "url": str(table.url[i]) or None,
                "reason": p.reason,
                "target": {
                    "valence": _round(p.target_valence),
                    "arousal": _round(p.target_arousal),
                },
            }
        )
    return PlaylistResult(emotion=emotion, strategy=strategy, tracks=tracks)


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
    return recommend_with_feedback(service, emotion, user=user, strategy=strategy, n=n)


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def format_emotion(result: EmotionResult) -> str:
    """HTML summary: the label and confidence, each part, valence/arousal, the transcript."""
    e = result.emotion
    lines = [
        f"{LABEL_EMOJI.get(e.label, '')} <b>{html.escape(e.label)}</b> "
        f"(confidence {_pct(e.confidence)})".strip()
    ]
    parts = dict(result.parts)
    if len(parts) > 1:
        parts["fused"] = e
    if parts:
        lines.append(
            " · ".join(
                f"{name}: {html.escape(p.label)} {_pct(p.confidence)}" for name, p in parts.items()
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
        lines.append(line)
        if track.get("reason"):
            lines.append(f"    <i>{html.escape(str(track['reason']))}</i>")
    lines.append("")
    lines.append("👍 / ⏭ below steer your next playlist.")
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
