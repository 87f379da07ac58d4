"""What the bot says about one track: a catalog track (ℹ️ button) or a music file (/analyze).

:func:`format_track_info` turns :meth:`moodtune.service.Moodtune.track_view` into Telegram
HTML; :func:`analyze_bytes` runs :meth:`moodtune.service.Moodtune.analyze_track` on a
downloaded file and :func:`format_analysis` turns the report into HTML. Every piece of
data is escaped; no tag spans two lines, so :func:`moodtune.bot.playlist.split_message`
may cut the text at any line.
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moodtune.service import Moodtune

#: Genres named in a reply, most probable first.
TOP_GENRES = 3

#: Longest lyrics excerpt in a reply, in characters.
EXCERPT_CHARS = 160

#: Where a genre label came from, in words.
GENRE_SOURCE: dict[str, str] = {
    "catalog": "catalog genre",
    "tag": "from the file's tag",
    "classifier": "classifier's guess",
}

#: Where lyrics came from, in words.
LYRICS_SOURCE: dict[str, str] = {
    "lrc": "from the .lrc file",
    "txt": "from the .txt file",
    "whisper": "heard by Whisper",
}

_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,9}")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=False)


def top_genres(probabilities: Mapping[str, float], k: int = TOP_GENRES) -> str:
    """``"rock 50% · pop 23% · r&b 18%"``: the ``k`` most probable genres (escaped)."""
    ranked = sorted(probabilities.items(), key=lambda kv: -float(kv[1]))[:k]
    return " · ".join(f"{_e(g)} {round(100 * float(p))}%" for g, p in ranked)


def lyrics_label(lyrics: Mapping[str, Any]) -> str:
    """The lyrics' emotion label: stored, or the most probable of its probabilities."""
    label = lyrics.get("label")
    if label:
        return str(label)
    probs = lyrics.get("probabilities") or {}
    return str(max(probs, key=lambda k: probs[k])) if probs else "unknown"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to about ``limit`` characters."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + " …"


def _genre_lines(genre: Mapping[str, Any]) -> list[str]:
    where = GENRE_SOURCE.get(str(genre.get("source")), str(genre.get("source") or ""))
    label = _e(genre.get("label") or "?")
    lines = [f"🎼 Genre: <b>{label}</b>" + (f" ({_e(where)})" if where else "")]
    probs = genre.get("probabilities") or {}
    if probs:
        by = "" if genre.get("source") == "classifier" else "classifier: "
        lines.append(f"    {by}{top_genres(probs)}")
    return lines


def _lyrics_lines(lyrics: Mapping[str, Any] | None, point: Mapping[str, Any] | None) -> list[str]:
    if not lyrics:
        return ["🎤 Lyrics: none known (an instrumental, or not scanned with lyrics)"]
    where = LYRICS_SOURCE.get(str(lyrics.get("source")), str(lyrics.get("source") or ""))
    language = lyrics.get("language")
    head = (
        f"🎤 Lyrics: <b>{_e(lyrics_label(lyrics))}</b> ({_e(where)}"
        + (f", {_e(language)}" if language else "")
        + f"; confidence {float(lyrics.get('confidence') or 0.0):.2f})"
    )
    lines = [head]
    text = str(lyrics.get("text") or "")
    if text.strip():
        lines.append(f"    <i>“{_e(excerpt(text))}”</i>")
    if point is not None and point.get("lyrics_share") is not None:
        lines.append(
            f"    the words make up {round(100 * float(point['lyrics_share']))}% of the mood point"
        )
    return lines


def _mood_line(point: Mapping[str, Any] | None) -> list[str]:
    if not point:
        return []
    v, a = float(point["valence"]), float(point["arousal"])
    return [f"🧭 Mood: <b>{_e(Moodtune.quadrant(v, a))}</b> (valence {v:+.2f}, arousal {a:+.2f})"]


def _description_lines(description: Mapping[str, Any] | None, *, curve: bool) -> list[str]:
    if not description or not description.get("text"):
        return []
    lines = [f"📝 {_e(description['text'])}"]
    if description.get("source") == "llm":
        model = description.get("model")
        lines.append(f"<i>written by the LLM{' ' + _e(model) if model else ''}</i>")
    else:
        by = "from the curve" if curve else "from the features"
        note = description.get("note")
        lines.append(f"<i>{by} (template){'; ' + _e(note) if note else ''}</i>")
    return lines


def format_track_info(view: Mapping[str, Any]) -> str:
    """HTML for the ℹ️ button: name, genre (top 3), mood, lyrics emotion, description."""
    name = _e(view.get("name") or view.get("id") or "?")
    artists = ", ".join(str(a) for a in view.get("artists") or [])
    url = view.get("url")
    title = f'<a href="{html.escape(str(url), quote=True)}">{name}</a>' if url else name
    lines = [f"ℹ️ <b>{title}</b>" + (f" — {_e(artists)}" if artists else "")]
    facts = []
    if view.get("year"):
        facts.append(str(view["year"]))
    if view.get("tempo"):
        facts.append(f"{round(float(view['tempo']))} BPM")
    if view.get("duration_ms"):
        facts.append(Moodtune.format_time(float(view["duration_ms"]) / 1000))
    lines += _words_lines(facts, view.get("genre_info"), view, curve=view.get("curve") is not None)
    return "\n".join(lines)


def format_analysis(report: Mapping[str, Any], *, name: str | None = None) -> str:
    """HTML for /analyze: genre (top 3), mood quadrant, lyrics emotion and the description.

    ``report`` is :meth:`moodtune.service.TrackReport.to_dict`.
    """
    features = report.get("features") or {}
    lines = [f"🔎 <b>{_e(name or 'Your track')}</b>"]
    facts = []
    if features.get("tempo"):
        facts.append(f"{round(float(features['tempo']))} BPM")
    if features.get("mode") is not None:
        facts.append("major" if int(features["mode"]) == 1 else "minor")
    if features.get("duration_s"):
        facts.append(Moodtune.format_time(float(features["duration_s"])))
    lines += _words_lines(facts, report.get("genre"), report, curve=True)
    return "\n".join(lines)


def _words_lines(
    facts: list[str], genre: Any, data: Mapping[str, Any], *, curve: bool
) -> list[str]:
    """The facts line, then genre, mood, lyrics and description of a track view or report."""
    lines = [_e(" · ".join(facts))] if facts else []
    if isinstance(genre, Mapping):
        lines += _genre_lines(genre)
    lines += _mood_line(data.get("emotion_point"))
    lines += _lyrics_lines(data.get("lyrics"), data.get("emotion_point"))
    lines += _description_lines(data.get("description"), curve=curve)
    return lines


def upload_suffix(filename: str | None, mime: str | None) -> str:
    """A safe file suffix for a download: the file name's, else the MIME type's, else ``.bin``."""
    suffix = Path(filename or "").suffix
    if not _SUFFIX.fullmatch(suffix):
        suffix = mimetypes.guess_extension(mime or "") or ""
        if mime in {"audio/ogg", "application/ogg"}:
            suffix = ".ogg"
    return suffix if _SUFFIX.fullmatch(suffix) else ".bin"


def analyze_bytes(
    service: Moodtune,
    data: bytes,
    *,
    filename: str | None = None,
    mime: str | None = None,
) -> dict[str, Any]:
    """Analyse a downloaded music file: :meth:`~moodtune.service.Moodtune.analyze_upload`.

    Blocking (runs the models): call it off the event loop. The bytes go to a private
    temporary file, removed afterwards.

    Raises
    ------
    ParameterError
        Unreadable, corrupt, not audio, too short or too long.
    """
    report = service.analyze_upload(data, filename=f"track{upload_suffix(filename, mime)}")
    out: dict[str, Any] = report.to_dict()
    return out
