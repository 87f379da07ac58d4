"""A fake facade for the interface tests (the fast lane): no model, no catalog database.

:class:`FakeMoodtune` implements every facade method the HTTP API, the web page and the
bot call on a service instance, with the same signatures as :class:`moodtune.service.Moodtune`
(``tests/test_fake_contract.py`` checks that, so the fake cannot drift) and deterministic,
realistic results built with the real result types:

- **emotion of text**: a small keyword lexicon (sad, lonely, furious, happy, scared, their
  Russian forms) instead of the text model; the real input checks (``clean_text``).
- **emotion of audio**: the real decoder (limits, corrupt files, empty uploads), then a fixed
  "sadness" voice estimate and transcript instead of Whisper and the speech head.
- **catalog**: 120 synthetic songs (12 artists, six genres, valence and energy spread over
  [0, 1], every one at least 60 s long), listener memory, likes and skips.
- **playlists**: the real request checks and :class:`~moodtune.recommend.Filters`, targets that
  follow the strategy, the nearest unused track per position (one per artist when possible).

It exists so the interfaces' plumbing (parsing, status codes, problem documents, pools,
credentials, buttons, message edits) is tested in seconds. What the models conclude is
tested against the real facade in the ``slow`` tests.
"""

from __future__ import annotations

import io
import math
import threading
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.audio.decode import load_audio
from moodtune.config import limits
from moodtune.errors import CatalogError, ParameterError
from moodtune.recommend.reasons import describe_track, mood_word, strategy_phrase
from moodtune.recommend.targets import va_to_feature_targets
from moodtune.service import EmotionResult, Moodtune, PlaylistResult, check_playlist_request
from moodtune.text import clean_text
from moodtune.types import CIRCUMPLEX, LABELS, EmotionEstimate

#: Words the fake hears, by label (lower case; a message's first matching label wins).
LEXICON: dict[str, tuple[str, ...]] = {
    "anger": ("furious", "angry", "rage", "злюсь", "бешенстве"),
    "sadness": ("sad", "lonely", "cry", "грустно", "одиноко", "плохо"),
    "fear": ("scared", "afraid", "страшно", "боюсь"),
    "happiness": ("happy", "great", "joy", "радост", "счастлив", "отлично"),
    "surprise": ("wow", "surprised"),
    "disgust": ("disgusting", "gross"),
}
GENRES = ("edm", "latin", "pop", "r&b", "rap", "rock")
N_TRACKS = 120
#: Playlists a listener's memory spans (as the real facade's ``LISTENER_MEMORY``).
MEMORY = 5
TRANSCRIPT = "I don't know, everything feels heavy today"


def _track(i: int) -> dict[str, Any]:
    valence = ((i * 37) % N_TRACKS) / (N_TRACKS - 1)
    energy = ((i * 11 + 5) % N_TRACKS) / (N_TRACKS - 1)
    return {
        "id": f"fake{i:03d}",
        "name": f"Song {i}",
        "artists": f"Artist {i % 12}",
        "genre": GENRES[i % len(GENRES)],
        "year": 1990 + (i * 7) % 35,
        "valence": round(valence, 4),
        "energy": round(energy, 4),
        "danceability": round((valence + energy) / 2, 4),
        "tempo": float(70 + (i * 13) % 100),
        "mode": i % 2,
        "acousticness": round(1.0 - energy, 4),
        "explicit": int(i % 5 == 0),
        "duration_ms": 120_000 + 3_000 * i,
        "url": f"https://open.spotify.com/track/fake{i:03d}",
        "source": "fake",
        "local_path": None,
    }


def _estimate(label: str, *, source: str, strength: float = 0.7) -> EmotionEstimate:
    rest = (1.0 - strength) / (len(LABELS) - 1)
    probs = [strength if lab == label else rest for lab in LABELS]
    return EmotionEstimate.from_probabilities(probs, source=source)


@dataclass
class FakeSimilar:
    """One similar track (the shape of :class:`moodtune.music.similar.SimilarTrack`)."""

    id: str
    name: str
    artists: list[str]
    distance: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, as the real one."""
        return {
            "id": self.id,
            "name": self.name,
            "artists": self.artists,
            "local_path": None,
            "distance": round(self.distance, 4),
            "feature_distance": round(self.distance, 4),
            "curve_distance": None,
        }


@dataclass
class FakeReport:
    """What :meth:`FakeMoodtune.analyze_track` returns (``to_dict`` as the real report)."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``POST /v1/tracks/analyze``."""
        return dict(self.data)


@dataclass
class FakeMix:
    """What :meth:`FakeMoodtune.mix_upload` returns beside the bytes."""

    track: dict[str, Any]
    duration_s: float
    media_type: str
    emotion: EmotionResult | None
    video: bool = False

    def public_dict(self) -> dict[str, Any]:
        """The mix summary without paths or transcript (as the real ``public_dict``)."""
        out: dict[str, Any] = {
            "duration_s": round(self.duration_s, 3),
            "track": {k: v for k, v in self.track.items() if k != "local_path"},
            "loudness_lufs": -16.0,
            "true_peak_dbtp": -1.5,
            "duck_depth_db": 9.0,
            "speech_s": round(self.duration_s, 3),
            "video": self.video,
            "loops": 0,
        }
        if self.emotion is not None:
            e = self.emotion.to_dict()
            out["emotion"] = {"emotion": e["emotion"], "language": e["language"]}
        return out


class FakeMoodtune:
    """A deterministic stand-in for :class:`moodtune.service.Moodtune` (see the module doc).

    Parameters
    ----------
    max_voice_seconds : float
        Longest voice message accepted (as the real facade's).
    broken_catalog : Path, optional
        Act as a facade whose catalog file is corrupt: everything that reads the catalog
        raises the real facade's :class:`~moodtune.errors.CatalogError`.
    """

    def __init__(
        self,
        *,
        max_voice_seconds: float = limits().voice_seconds,
        broken_catalog: Path | None = None,
    ) -> None:
        self.max_voice_seconds = max_voice_seconds
        self.broken_catalog = broken_catalog
        self.tracks = {t["id"]: t for t in (_track(i) for i in range(N_TRACKS))}
        self.liked: dict[str, list[str]] = {}
        self.skipped: dict[str, list[str]] = {}
        self.history: dict[str, list[list[str]]] = {}
        self.played: dict[str, str] = {}  # track id -> local file, for the audio route
        self.calls: list[str] = []
        self.warmed = False
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------
    def warm_up(self, *, voice: bool = True) -> None:
        """Nothing to load; remembers that it was asked."""
        self.calls.append("warm_up")
        self.warmed = True

    # -- emotion --------------------------------------------------------------------
    def emotion_of(
        self,
        *,
        text: str | None = None,
        audio: str | Path | bytes | None = None,
        language: str | None = None,
        user: str | None = None,
    ) -> EmotionResult:
        """Keyword emotion of a text; a fixed sad voice for decodable audio."""
        self.calls.append("emotion_of")
        if (text is None) == (audio is None):
            raise ParameterError("give either a voice message (FILE) or a text (--text), not both")
        if text is not None:
            if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
                raise ParameterError("the text holds an unpaired surrogate; send valid Unicode")
            cleaned = clean_text(text)
            est = _estimate(_label_of(cleaned), source="text")
            lang = "ru" if any("а" <= c <= "я" for c in cleaned.lower()) else "en"
            return EmotionResult(emotion=est, language=lang, parts={"text": est}, message=cleaned)
        if language not in (None, "auto", "ru", "en"):
            raise ParameterError(f"language={language!r} must be auto, ru or en")
        assert audio is not None
        load_audio(audio, max_seconds=self.max_voice_seconds)  # the real limits and errors
        voice = _estimate("sadness", source="voice", strength=0.55)
        words = _estimate("sadness", source="text")
        fused = EmotionEstimate.from_probabilities(
            (voice.probabilities + words.probabilities) / 2,
            source="fused",
            parts={"voice": voice, "text": words},
        )
        return EmotionResult(
            emotion=fused,
            language="en" if language in (None, "auto") else language,
            transcript=TRANSCRIPT,
            parts={"voice": voice, "text": words},
        )

    def emotion_given(
        self,
        *,
        probabilities: Mapping[str, float] | None = None,
        valence: float | None = None,
        arousal: float | None = None,
    ) -> EmotionResult:
        """The real facade's checks and circumplex shape (pure arithmetic, no model)."""
        real: Any = Moodtune.emotion_given
        out: EmotionResult = real(
            self, probabilities=probabilities, valence=valence, arousal=arousal
        )
        return out

    # -- playlists ------------------------------------------------------------------
    filters = staticmethod(Moodtune.filters)

    def recommend(
        self,
        emotion: EmotionResult,
        *,
        strategy: str = "match",
        n: int = 10,
        filters: Any = None,
        seed: int | None = None,
        user: str | None = None,
        llm: bool | None = None,
        listener: str | None = None,
        current: list[str] | None = None,
        only_prefixes: tuple[str, ...] | None = None,
    ) -> PlaylistResult:
        """Nearest unused fake tracks along the strategy's path; memory, likes and skips."""
        self._catalog()
        self.calls.append("recommend")
        check_playlist_request(strategy=strategy, n=n)
        who = listener or user
        e = emotion.emotion
        path = _path(strategy, float(e.valence), float(e.arousal), n)
        with self._lock:
            liked = set(self.liked.get(who or "", []))
            skipped = set(self.skipped.get(who or "", []))
            recent = set()
            if who and seed is None and current is None:
                for past in self.history.get(who, [])[-MEMORY:]:
                    recent |= set(past)
            pool = [
                t
                for t in self.tracks.values()
                if _passes(t, filters) and t["id"] not in skipped and t["id"] not in recent
            ]
            notes: list[str] = []
            if len(pool) < n and recent:
                pool = [t for t in self.tracks.values() if _passes(t, filters)]
                notes.append("fewer new tracks than asked: some were played recently")
            if current is not None:
                ids = self._revise(current, pool, path, skipped)
            else:
                ids = self._pick(pool, path, seed)
            if who and seed is None:
                self.history.setdefault(who, []).append(ids)
        mood = mood_word(float(e.valence), float(e.arousal))
        moving = path[0] != path[-1]
        tracks = []
        for i, tid in enumerate(ids):
            phrase = strategy_phrase(
                strategy=strategy,
                mood=mood,
                step=i / max(1, len(ids) - 1),
                first=i == 0,
                last=i == len(ids) - 1 and len(ids) > 1,
                moving=moving,
            )
            tracks.append(self._track_json(tid, path[i], liked, phrase))
        features = va_to_feature_targets(*path[-1])
        targets = {
            "targets": {
                k: round(float(v), 1 if k in ("tempo", "loudness") else 3)
                for k, v in features.items()
            },
            "source": "builtin",
            "model": None,
            "note": "LLM not requested (the fake facade's built-in mapping)",
            "why": None,
            "strategy": strategy,
            "point": {"valence": round(path[-1][0], 4), "arousal": round(path[-1][1], 4)},
            "elapsed_s": 0.0,
        }
        return PlaylistResult(
            emotion=emotion, strategy=strategy, tracks=tracks, targets=targets, notes=notes
        )

    def recommend_for(  # noqa: PLR0913 (the facade's signature, every option keyword-only)
        self,
        *,
        text: str | None = None,
        audio: str | Path | bytes | None = None,
        language: str | None = None,
        user: str | None = None,
        strategy: str = "match",
        n: int = 10,
        filters: Any = None,
        seed: int | None = None,
        llm: bool | None = None,
        listener: str | None = None,
        only_prefixes: tuple[str, ...] | None = None,
    ) -> PlaylistResult:
        """:meth:`emotion_of`, then :meth:`recommend` (request checked first, as the real one)."""
        check_playlist_request(strategy=strategy, n=n)
        emotion = self.emotion_of(text=text, audio=audio, language=language, user=user)
        return self.recommend(
            emotion,
            strategy=strategy,
            n=n,
            filters=filters,
            seed=seed,
            user=user,
            llm=llm,
            listener=listener,
        )

    def journey(
        self,
        start: str,
        end: str,
        *,
        n: int = 12,
        filters: Any = None,
        seed: int | None = None,
        user: str | None = None,
        listener: str | None = None,
    ) -> PlaylistResult:
        """A straight path between two moods, points or tracks (strategy ``journey``)."""
        self._catalog()
        self.calls.append("journey")
        if not 2 <= n <= 100:
            raise ParameterError(f"n={n} is out of range; ask for 2 to 100 tracks")
        a, first = self._end(start, "from")
        b, _ = self._end(end, "to")
        path = [
            (a[0] + (b[0] - a[0]) * i / (n - 1), a[1] + (b[1] - a[1]) * i / (n - 1))
            for i in range(n)
        ]
        pool = [t for t in self.tracks.values() if _passes(t, filters) and t["id"] != first]
        ids = self._pick(pool, path[1:] if first else path, seed)
        if first:
            ids = [first, *ids]
        est = EmotionEstimate.from_probabilities(_probs_near(*a), source="given")
        emotion = EmotionResult(emotion=est, language="unknown", parts={"given": est})
        words = f"from {mood_word(*a)} to {mood_word(*b)}"
        tracks = [self._track_json(tid, path[i], set(), words) for i, tid in enumerate(ids)]
        return PlaylistResult(emotion=emotion, strategy="journey", tracks=tracks)

    # -- feedback -------------------------------------------------------------------
    def add_feedback(self, user: str, track_id: str, kind: str) -> None:
        """Store a like or a skip (a later one of the other kind replaces it)."""
        self._catalog()
        self.calls.append("add_feedback")
        if kind not in ("like", "skip"):
            raise ParameterError(f"kind={kind!r} must be 'like' or 'skip'")
        if track_id not in self.tracks:
            raise ParameterError(f"track {track_id!r} is not in the catalog")
        with self._lock:
            mine, other = (
                (self.liked, self.skipped) if kind == "like" else (self.skipped, self.liked)
            )
            if track_id in other.get(user, []):
                other[user].remove(track_id)
            if track_id not in mine.setdefault(user, []):
                mine[user].append(track_id)

    def feedback_ids(self, user: str) -> tuple[list[str], list[str]]:
        """(liked ids, skipped ids) of ``user``."""
        return list(self.liked.get(user, [])), list(self.skipped.get(user, []))

    # -- tracks ---------------------------------------------------------------------
    def track_row(self, track_id: str) -> dict[str, Any] | None:
        """The fake catalog row (None for an unknown id)."""
        self._catalog()
        row = self.tracks.get(track_id)
        return None if row is None else dict(row)

    def playable_path(self, track_id: str) -> Path | None:
        """A file registered in :attr:`played` (None otherwise, as for catalog tracks)."""
        path = self.played.get(track_id)
        return Path(path) if path else None

    def track_view(self, track_id: str, *, llm: bool | None = None) -> dict[str, Any]:
        """The view's shape: row, curve (None), genre, lyrics (None), point, description."""
        self.calls.append("track_view")
        row = self.track_row(track_id)
        if row is None:
            raise ParameterError(f"track {track_id!r} is not in the catalog")
        v, a = 2 * row["valence"] - 1, 2 * row["energy"] - 1
        probs = {g: (0.5 if g == row["genre"] else 0.1) for g in GENRES}
        view = row | {
            "curve": None,
            "genre_info": {
                "label": row["genre"],
                "source": "catalog",
                "probabilities": probs,
                "model": "fake",
            },
            "lyrics": None,
            "emotion_point": {
                "valence": round(v, 4),
                "arousal": round(a, 4),
                "lyrics_share": 0.0,
                "audio": {"valence": round(v, 4), "arousal": round(a, 4)},
                "lyrics": None,
            },
            "description": {
                "text": f"A {Moodtune.quadrant(v, a)} {row['genre']} song.",
                "source": "template",
                "model": None,
                "note": None,
            },
        }
        return view

    def similar(
        self, query: str | Path, *, n: int = 10, genres: list[str] | None = None
    ) -> tuple[dict[str, Any], list[Any]]:
        """The ``n`` fake tracks nearest in valence and energy (``genres`` filter)."""
        self._catalog()
        self.calls.append("similar")
        row = self.tracks.get(str(query))
        if row is None:
            raise ParameterError(f"track {str(query)!r} is not in the catalog")
        others = [
            t
            for t in self.tracks.values()
            if t["id"] != row["id"] and (not genres or t["genre"] in genres)
        ]
        dist = [
            (math.hypot(t["valence"] - row["valence"], t["energy"] - row["energy"]), t)
            for t in others
        ]
        dist.sort(key=lambda x: (x[0], x[1]["id"]))
        out = [FakeSimilar(t["id"], t["name"], [t["artists"]], d) for d, t in dist[:n]]
        return {"id": row["id"], "name": row["name"], "artists": [row["artists"]]}, out

    def analyze_track(
        self,
        path: Path,
        *,
        lyrics: bool = True,
        llm: bool | None = None,
    ) -> FakeReport:
        """The real decoder's checks, then the report's shape from the signal's level."""
        self.calls.append("analyze_track")
        y = load_audio(path, kind="music", max_seconds=limits().music_seconds)
        seconds = len(y) / 16000
        rms = float(np.sqrt(np.mean(np.square(y)))) if len(y) else 0.0
        energy = round(min(1.0, rms * 4), 4)
        v, a = 0.1, round(2 * energy - 1, 4)
        probs = {g: round(1 / len(GENRES), 4) for g in GENRES} | {"pop": 0.4}
        return FakeReport(
            {
                "silent": False,
                "features": {
                    "duration_s": round(seconds, 3),
                    "tempo": 120.0,
                    "mode": 1,
                    "energy": energy,
                    "valence": 0.55,
                },
                "curve": {"hop_s": 1.0, "arousal": [a] * max(1, int(seconds))},
                "summary": {"arousal_mean": a, "valence_mean": v},
                "genre": {
                    "label": "pop",
                    "source": "classifier",
                    "guess": "pop",
                    "abstained": None,
                    "probabilities": probs,
                    "model": "fake",
                },
                "lyrics": None,
                "emotion_point": {"valence": v, "arousal": a, "lyrics_share": 0.0},
                "description": {
                    "text": f"Steady from start to end, {Moodtune.quadrant(v, a)}.",
                    "source": "template",
                    "model": None,
                    "note": None if lyrics else "lyrics skipped",
                },
            }
        )

    # -- mixes ----------------------------------------------------------------------
    def analyze_upload(
        self,
        data: bytes,
        *,
        filename: str = "upload.bin",
        lyrics: bool = True,
        llm: bool | None = None,
    ) -> FakeReport:
        """:meth:`analyze_track` on uploaded bytes through the real upload helper."""
        from moodtune.audio.upload import upload_as_file

        with upload_as_file(data, filename=filename) as path:
            return self.analyze_track(path, lyrics=lyrics, llm=llm)

    def mix_upload(
        self,
        data: bytes,
        *,
        filename: str = "voice.ogg",
        output_ext: str | None = None,
        track: str | None = None,
        strategy: str = "match",
        loudness: float = -16.0,
        user: str | None = None,
    ) -> tuple[bytes, Any]:
        """A WAV of the decoded voice (no music) and a summary of the real shape."""
        self.calls.append("mix_upload")
        check_playlist_request(strategy=strategy, n=1)
        ext = (output_ext or ".wav").lower()
        if ext not in (".wav", ".mp3", ".m4a"):
            raise ParameterError(f"format {ext!r} is not offered; use mp3, m4a or wav")
        if not -40.0 <= loudness <= -5.0:
            raise ParameterError(f"loudness={loudness} must be from -40 to -5 LUFS")
        if track is not None and track not in self.tracks:
            raise ParameterError(f"track {track!r} is not in the catalog")
        y = load_audio(data, max_seconds=limits().mix_seconds)
        emotion = None
        if track is None:
            emotion = self.emotion_of(audio=data, user=user)
            track = self.recommend(emotion, strategy=strategy, n=1, user=user).tracks[0]["id"]
        row = self.tracks[track]
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
        media = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4"}[ext]
        info = {"id": row["id"], "name": row["name"], "local_path": "/srv/music/x.ogg"}
        return buf.getvalue(), FakeMix(info, len(y) / 16000, media, emotion)

    # -- helpers --------------------------------------------------------------------
    def _catalog(self) -> None:
        if self.broken_catalog is not None:
            raise CatalogError(
                f"the catalog {self.broken_catalog} is corrupt (file is not a database); move "
                "or delete it (the default catalog is rebuilt on next use) or set "
                "MOODTUNE_CATALOG to another file"
            )

    def _end(self, value: str, name: str) -> tuple[tuple[float, float], str | None]:
        word = value.strip().lower()
        if word in CIRCUMPLEX:
            return CIRCUMPLEX[word], None
        synonyms = {"sad": "sadness", "happy": "happiness", "angry": "anger", "calm": "neutral"}
        if word in synonyms:
            return CIRCUMPLEX[synonyms[word]], None
        if "," in word:
            try:
                v, a = (float(x) for x in word.split(","))
            except ValueError:
                raise ParameterError(f"{name}={value!r} is not a 'valence,arousal' point") from None
            return (v, a), None
        row = self.tracks.get(value.strip())
        if row is None:
            raise ParameterError(
                f"{name}={value!r} is not in the catalog, a mood word or a 'valence,arousal' point"
            )
        return (2 * row["valence"] - 1, 2 * row["energy"] - 1), row["id"]

    def _pick(
        self, pool: list[dict[str, Any]], path: list[tuple[float, float]], seed: int | None
    ) -> list[str]:
        order = sorted(pool, key=lambda t: t["id"])
        if seed is not None and order:  # a seed picks among equally good tracks the same way
            k = seed % len(order)
            order = order[k:] + order[:k]
        ids: list[str] = []
        artists: set[str] = set()
        for v, a in path:
            free = [t for t in order if t["id"] not in ids]
            if not free:
                break
            fresh = [t for t in free if t["artists"] not in artists] or free
            best = min(fresh, key=lambda t: _distance(t, v, a))
            ids.append(best["id"])
            artists.add(best["artists"])
        return ids

    def _revise(
        self,
        current: list[str],
        pool: list[dict[str, Any]],
        path: list[tuple[float, float]],
        skipped: set[str],
    ) -> list[str]:
        unknown = [tid for tid in current if tid not in self.tracks]
        if unknown:
            raise ParameterError(f"current holds ids not in the catalog: {unknown[:3]}")
        ids = list(current)
        for i, tid in enumerate(ids):
            if tid in skipped:
                v, a = path[min(i, len(path) - 1)]
                free = [t for t in pool if t["id"] not in ids]
                if free:
                    ids[i] = min(free, key=lambda t: _distance(t, v, a))["id"]
        return ids

    def _track_json(
        self, track_id: str, target: tuple[float, float], liked: set[str], phrase: str
    ) -> dict[str, Any]:
        t = self.tracks[track_id]
        sound = describe_track(
            valence=t["valence"], energy=t["energy"], mode=t["mode"], tempo=t["tempo"]
        )
        return {
            "id": t["id"],
            "name": t["name"],
            "artists": [t["artists"]],
            "genre": t["genre"],
            "valence": t["valence"],
            "energy": t["energy"],
            "danceability": t["danceability"],
            "tempo": t["tempo"],
            "mode": t["mode"],
            "acousticness": t["acousticness"],
            "url": t["url"],
            "reason": f"{sound} — {phrase}",
            "target": {"valence": round(target[0], 4), "arousal": round(target[1], 4)},
            "duration_s": round(t["duration_ms"] / 1000, 1),
            "liked": t["id"] in liked,
        }


def _label_of(text: str) -> str:
    low = text.lower()
    for label, words in LEXICON.items():
        if any(w in low for w in words):
            return label
    return "neutral"


def _probs_near(v: float, a: float) -> list[float]:
    d2 = [(CIRCUMPLEX[lab][0] - v) ** 2 + (CIRCUMPLEX[lab][1] - a) ** 2 for lab in LABELS]
    return [math.exp(-d / 0.1) + 1e-9 for d in d2]


def _path(strategy: str, v: float, a: float, n: int) -> list[tuple[float, float]]:
    end = {
        "match": (v, a),
        "uplift": (max(v, 0.6), a),
        "calm": (v, min(a, -0.6)),
        "energize": (v, max(a, 0.6)),
    }[strategy]
    if n == 1:
        return [(v, a)]
    return [(v + (end[0] - v) * i / (n - 1), a + (end[1] - a) * i / (n - 1)) for i in range(n)]


def _distance(t: dict[str, Any], v: float, a: float) -> float:
    return math.hypot(2 * t["valence"] - 1 - v, 2 * t["energy"] - 1 - a)


def _passes(t: dict[str, Any], filters: Any) -> bool:
    if filters is None:
        return True
    secs = t["duration_ms"] / 1000
    return not (
        (filters.year_min is not None and t["year"] < filters.year_min)
        or (filters.year_max is not None and t["year"] > filters.year_max)
        or (filters.genres and t["genre"] not in filters.genres)
        or (not filters.explicit and t["explicit"])
        or (filters.max_duration_s is not None and secs > filters.max_duration_s)
        or (filters.min_duration_s is not None and secs < filters.min_duration_s)
    )
