"""Lyrics emotion of a music track: sidecar lyrics files or Whisper, then the text model.

For an analysed track, :func:`lyrics_emotion` finds the words and reads their emotion:

1. A plain-text sidecar next to the audio (same stem, ``.lrc`` preferred, then ``.txt``;
   :func:`find_sidecar`) is used whenever it holds words, even for a track judged
   instrumental: a sidecar is the user saying there are lyrics. An empty sidecar (or one
   holding only tags and timestamps) is ignored, as if absent.
2. Otherwise, when the track has vocals (:func:`has_vocals`), the singing is transcribed
   with the packaged Whisper base (:func:`transcribe_lyrics`): Silero VAD finds the voiced
   parts, the up-to-:data:`MAX_TRANSCRIBE_S` window holding the most voice is decoded
   (ru/en), and Whisper's music hallucinations are dropped (:func:`clean_transcript`).
3. The text emotion backend (``moodtune.text.get_backend()``) reads the words, chunk by
   chunk (:data:`CHUNK_WORDS` words), and the chunks' probabilities are averaged.

Fewer than :data:`MIN_WORDS` words give no lyrics emotion (None).

:func:`track_emotion_point` blends the lyrics into the sound's (valence, arousal) with
:func:`moodtune.types.blend_lyrics_point`: the lyrics' share is ``LYRICS_WEIGHT *
confidence`` (at most 0.4). See ``docs/lyrics.md`` for the thresholds and measurements.
"""

from __future__ import annotations

import gzip
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.audio.checks import valid_mono
from moodtune.config import MAX_TEXT_CHARS
from moodtune.errors import InputTooLargeError, ParameterError
from moodtune.text.lang import detect_language
from moodtune.types import EmotionEstimate, blend_lyrics_point

if TYPE_CHECKING:
    from moodtune.speech.whisper import WhisperASR
    from moodtune.text import TextEmotionBackend

logger = logging.getLogger(__name__)

#: Sample rate of the audio given to :func:`transcribe_lyrics`, Hz.
SR = 16000
#: Sidecar suffixes, in order of preference.
SIDECAR_SUFFIXES: tuple[str, ...] = (".lrc", ".LRC", ".txt", ".TXT")
#: Largest lyrics file read, bytes.
MAX_LYRICS_BYTES = 256 * 1024
#: Fewer words than this give no lyrics emotion.
MIN_WORDS = 3
#: Words per chunk given to the text model (its training texts are short messages).
CHUNK_WORDS = 40
#: Most chunks read per track (bounds the cost of very long lyrics).
MAX_CHUNKS = 12

#: Vibenet instrumentalness below which a track has vocals by its features alone
#: (Spotify's own reading: above 0.5 "likely instrumental").
VOCAL_INSTRUMENTALNESS = 0.5
#: Vibenet speechiness at or above which a track has voice by its features alone
#: (Spotify: above 0.33 speech and music mixed, e.g. rap).
VOCAL_SPEECHINESS = 0.33
#: Seconds of voice (Silero VAD at :data:`VAD_THRESHOLD`) that mark a track as having
#: vocals when its features do not say so. The 40 orchestral Wesnoth tracks gave at most
#: 4.6 s (one track; the others under 1.6 s), the vocal fixtures 8.2-11.1 s.
MIN_VOCAL_S = 6.0
#: Share of a short clip's length that must be voice when its features do not say vocals:
#: a 4.5 s voice-over on music was 93 % voice; the 41 Wesnoth tracks at most 23 % (victory,
#: 1.25 s of 5.5 s; every track over 6 s at most 7 %).
MIN_VOCAL_SHARE = 0.5
#: The least voice Whisper is run on, once a track is judged to have vocals. Lower than
#: :data:`MIN_VOCAL_S`: a short clip whose features say voice (a 4.5 s voice-over on music
#: found 3.6 s) still has its words read.
MIN_TRANSCRIBE_S = 1.5
#: A track quieter than this (integrated loudness, LUFS) has no vocals: vibenet's
#: features of silence are noise (Wesnoth's silence.ogg: instrumentalness 0.34,
#: speechiness 0.49 at -80 LUFS).
MIN_LOUDNESS_LUFS = -60.0
#: Silero VAD speech threshold for sung voice over music (below the 0.5 used for messages).
VAD_THRESHOLD = 0.35
#: Most seconds of a track the VAD scans, taken from the middle (bounds its cost).
MAX_SCAN_S = 300.0
#: Most seconds of voice given to Whisper per track.
MAX_TRANSCRIBE_S = 60.0
#: A cleaned transcript more compressible than this (gzip ratio) is a repetition loop.
MAX_COMPRESSION_RATIO = 2.4

_TIMESTAMP = re.compile(r"\[\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?\]")
_WORD_STAMP = re.compile(r"<\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?>")
_ID_TAG = re.compile(r"^\[[A-Za-z#][A-Za-z0-9_ #-]*:[^\]]*\]$")
_MUSIC_MARKS = re.compile(r"[♪♫♬♩🎵🎶]+")
_BRACKETED = re.compile(r"[\[(（*][^\])）*]{0,40}[\])）*]")
#: Phrases Whisper invents over music and silence (subtitle credits, outros); a sentence
#: holding one is dropped.
HALLUCINATIONS: tuple[str, ...] = (
    r"продолжение следует",
    r"субтитр\w*",
    r"редактор\w* субтитр\w*",
    r"корректор\w*",
    r"dimatorzok",
    r"спасибо за (просмотр|внимание)",
    r"подписывайтесь",
    r"ставьте лайк",
    r"thanks? (you )?for watching",
    r"thank you for listening",
    r"please subscribe",
    r"subscribe to",
    r"like and subscribe",
    r"subtitles? by",
    r"amara\.org",
    r"transcribed by",
    r"www\.\w+",
)
_HALLUCINATION = re.compile("|".join(HALLUCINATIONS), re.IGNORECASE)


# ------------------------------------------------------------------------- vocals


def _feature(features: Mapping[str, Any], name: str) -> float | None:
    value = features.get(name)
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"feature {name}={value!r} must be a number in [0, 1]") from exc
    return x if np.isfinite(x) else None


def features_say_vocals(features: Mapping[str, Any]) -> bool:
    """Whether instrumentalness and speechiness alone mark the track as having voice.

    True when ``instrumentalness < VOCAL_INSTRUMENTALNESS`` or ``speechiness >=
    VOCAL_SPEECHINESS``; missing features count as no evidence.
    """
    instr = _feature(features, "instrumentalness")
    speech = _feature(features, "speechiness")
    return (instr is not None and instr < VOCAL_INSTRUMENTALNESS) or (
        speech is not None and speech >= VOCAL_SPEECHINESS
    )


def _middle(y: np.ndarray, seconds: float) -> tuple[np.ndarray, int]:
    """The central ``seconds`` of ``y`` and the sample offset where they start."""
    n = int(seconds * SR)
    if y.shape[0] <= n:
        return y, 0
    start = (y.shape[0] - n) // 2
    return y[start : start + n], start


def voice_segments(y: np.ndarray, *, max_scan_s: float = MAX_SCAN_S) -> list[tuple[int, int]]:
    """Voiced runs (Silero VAD at :data:`VAD_THRESHOLD`) in the middle of a track.

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float, 16 kHz.
    max_scan_s : float
        Only the central ``max_scan_s`` seconds are scanned (about 5 ms of compute per
        second of audio).

    Returns
    -------
    list of (int, int)
        ``(start, end)`` sample indices into ``y``, sorted.
    """
    from moodtune.audio.vad import speech_segments

    y = valid_mono(y)
    part, offset = _middle(y, max_scan_s)
    runs = speech_segments(part, sr=SR, threshold=VAD_THRESHOLD, min_silence_s=0.5, pad_s=0.0)
    return [(a + offset, b + offset) for a, b in runs]


def vocal_seconds(y: np.ndarray, *, max_scan_s: float = MAX_SCAN_S) -> float:
    """Seconds of voice the VAD finds in the middle ``max_scan_s`` seconds of a track."""
    return sum(b - a for a, b in voice_segments(y, max_scan_s=max_scan_s)) / SR


def has_vocals(features: Mapping[str, Any], *, vocal_s: float | None = None) -> bool:
    """Judge whether a track has vocals.

    Vibenet's instrumentalness and speechiness decide when they are clear (Spotify's
    readings: instrumentalness < 0.5 or speechiness >= 0.33). They are not enough on their
    own: orchestral Wesnoth music scored instrumentalness 0.73-0.91 and speechiness
    0.04-0.09, and the synthesized vocal fixtures 0.69-0.87 and 0.08-0.10, so neither
    feature separates them. The voice found by the VAD does (:func:`vocal_seconds`): give
    it as ``vocal_s`` (or as ``features["vocal_s"]``).

    Parameters
    ----------
    features : mapping
        A track's features (``TrackAnalysis.features`` or a catalog row):
        ``instrumentalness`` and ``speechiness`` on [0, 1]; ``vocal_s`` optional.
    vocal_s : float, optional
        Seconds of voice found by :func:`vocal_seconds`.

    Returns
    -------
    bool
        False for a near-silent track (``loudness <= MIN_LOUDNESS_LUFS``); else True when
        the features say vocals, or enough voice was found: :data:`MIN_VOCAL_S` s, or for
        a short clip (``features["duration_s"]``) :data:`MIN_VOCAL_SHARE` of its length
        and at least :data:`MIN_TRANSCRIBE_S` s.
    """
    if not isinstance(features, Mapping):
        raise ParameterError(f"features must be a mapping, got {type(features).__name__}")
    if vocal_s is None:
        vocal_s = _feature(features, "vocal_s")
    loudness = _feature(features, "loudness")
    if loudness is not None and loudness <= MIN_LOUDNESS_LUFS:
        return False
    if features_say_vocals(features):
        return True
    if vocal_s is None:
        return False
    needed = MIN_VOCAL_S
    duration = _feature(features, "duration_s")
    if duration is not None and duration > 0:
        needed = min(MIN_VOCAL_S, max(MIN_TRANSCRIBE_S, MIN_VOCAL_SHARE * duration))
    return vocal_s >= needed


# ------------------------------------------------------------------------- sidecars


def find_sidecar(path: str | Path) -> Path | None:
    """The lyrics file next to an audio file: same stem, ``.lrc`` preferred, then ``.txt``.

    Returns
    -------
    Path or None
        The sidecar, or None when there is none.
    """
    audio = Path(path)
    for suffix in SIDECAR_SUFFIXES:
        candidate = audio.with_suffix(suffix)
        if candidate != audio and candidate.is_file():
            return candidate
    return None


def _decode_lyrics(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1251 (old Russian files)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParameterError(f"lyrics file {path} is not valid UTF-16: {exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.info("lyrics file %s is not UTF-8; reading it as cp1251", path)
        return data.decode("cp1251", errors="replace")


def parse_lyrics(raw: str) -> str:
    """Plain lyrics from LRC or text: timestamps, word stamps and ID tags removed.

    Line timestamps (``[01:02.50]``, several per line allowed), enhanced-LRC word stamps
    (``<01:02.50>``) and ID tags (``[ar:...]``, ``[ti:...]``, ``[offset:...]``, ...) go;
    blank lines go; each distinct line is kept once, in order of first appearance (a
    repeated chorus would otherwise crowd the verses out of the text model's chunks).

    Returns
    -------
    str
        One lyric line per text line; empty when the input holds no words.
    """
    lines: list[str] = []
    seen: set[str] = set()
    for line in raw.replace("\ufeff", "").splitlines():
        line = line.strip()
        if _ID_TAG.match(line) and not _TIMESTAMP.match(line):
            continue
        line = _WORD_STAMP.sub(" ", _TIMESTAMP.sub(" ", line))
        line = " ".join(line.split())
        key = line.casefold()
        if not line or not any(ch.isalnum() for ch in line) or key in seen:
            continue
        seen.add(key)
        lines.append(line)
    return "\n".join(lines)


def read_lyrics_file(path: str | Path, *, max_bytes: int = MAX_LYRICS_BYTES) -> str:
    """Read a ``.lrc`` or ``.txt`` lyrics file into plain lyrics (:func:`parse_lyrics`).

    Parameters
    ----------
    path : str or Path
        The file (UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1251).
    max_bytes : int
        Largest file read (:data:`MAX_LYRICS_BYTES`, 256 KiB).

    Returns
    -------
    str
        The lyrics; empty when the file holds no words.

    Raises
    ------
    ParameterError
        Missing or unreadable file; :class:`~moodtune.errors.InputTooLargeError` when it is
        over ``max_bytes``.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ParameterError(f"cannot read lyrics file {p}: {exc}") from exc
    if size > max_bytes:
        raise InputTooLargeError(
            f"lyrics file {p} has {size} bytes, over the limit of {max_bytes}; "
            "is it really a lyrics file? Shorten it or remove it"
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ParameterError(f"cannot read lyrics file {p}: {exc}") from exc
    text = _decode_lyrics(data, p)
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r")
    if "\x00" in text or control > max(2, len(text) // 200):
        raise ParameterError(f"lyrics file {p} is not a text file (it holds binary data)")
    return parse_lyrics(text)


# ------------------------------------------------------------------------- transcripts


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(gzip.compress(data)) - 18)


def clean_transcript(text: str) -> str:
    """Drop Whisper's music hallucinations from a transcript.

    Removes music marks (``♪``), bracketed sound tags (``[Music]``, ``(музыка)``), every
    sentence holding a known subtitle/outro phrase (:data:`HALLUCINATIONS`: "Продолжение
    следует...", "Субтитры сделал ...", "Thank you for watching", ...), a sentence repeated
    more than twice in a row, and words looping more than three times in a row. A result
    still more compressible than :data:`MAX_COMPRESSION_RATIO` is a loop: empty string.

    Examples
    --------
    >>> clean_transcript("♪ Продолжение следует... ♪")
    ''
    >>> clean_transcript("[Music] I love you. Thank you for watching!")
    'I love you.'
    """
    text = _BRACKETED.sub(" ", _MUSIC_MARKS.sub(" ", text))
    sentences = re.split(r"(?<=[.!?…])\s+", " ".join(text.split()))
    kept: list[str] = []
    for sentence in sentences:
        s = sentence.strip(" -–—,;:")
        if not s or not any(ch.isalnum() for ch in s) or _HALLUCINATION.search(s):
            continue
        words = s.split()
        looped: list[str] = []
        for w in words:
            if len(looped) >= 3 and all(
                x.casefold().strip(",.!?") == w.casefold().strip(",.!?") for x in looped[-3:]
            ):
                continue
            looped.append(w)
        s = " ".join(looped)
        key = s.casefold().strip(".!?… ")
        if len(kept) >= 2 and all(k.casefold().strip(".!?… ") == key for k in kept[-2:]):
            continue
        kept.append(s)
    out = " ".join(kept)
    if len(out) >= 40 and _compression_ratio(out) > MAX_COMPRESSION_RATIO:
        return ""
    return out


def _densest_window(runs: list[tuple[int, int]], span: int) -> list[tuple[int, int]]:
    """The runs (clipped) inside the ``span``-sample window that holds the most voice."""
    best: list[tuple[int, int]] = []
    best_total = -1
    for start, _ in runs:
        end = start + span
        inside = [(a, min(b, end)) for a, b in runs if a >= start and a < end]
        total = sum(b - a for a, b in inside)
        if total > best_total:
            best, best_total = inside, total
    return best


def transcribe_lyrics(
    y: np.ndarray,
    *,
    asr: WhisperASR | None = None,
    max_seconds: float = MAX_TRANSCRIBE_S,
    languages: tuple[str, ...] = ("ru", "en"),
    vad: bool = True,
) -> tuple[str, str | None]:
    """Transcribe the singing of a track with the packaged Whisper base.

    With ``vad`` (the default), Silero VAD finds the voiced runs in the middle
    :data:`MAX_SCAN_S` seconds; the ``max_seconds`` window holding the most voice is
    kept, its runs (with 0.3 s of context) are joined and decoded in one pass. Without
    voice, nothing is decoded. With ``vad=False`` the central ``max_seconds`` are decoded
    whole (for tracks whose features say vocals that the VAD misses; Whisper's no-speech
    rule and :func:`clean_transcript` are then the only guards).

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio, shape (n,), float, 16 kHz (:func:`moodtune.music.features.load_music`).
    asr : WhisperASR, optional
        Defaults to :func:`moodtune.speech.whisper.get_whisper`.
    max_seconds : float
        Most seconds of audio decoded (60 s took 2.2-5.4 s on two shared cores).
    languages : tuple of str
        Languages Whisper chooses among.
    vad : bool
        Decode only the voiced runs.

    Returns
    -------
    (str, str or None)
        The cleaned transcript and its language (``"ru"``/``"en"``); ``("", None)`` when
        no words were heard.
    """
    y = valid_mono(y)
    if not (np.isfinite(max_seconds) and max_seconds >= 1.0):
        raise ParameterError(f"max_seconds={max_seconds!r} must be at least 1 second")
    t0 = time.perf_counter()
    if vad:
        runs = voice_segments(y)
        pad = int(0.3 * SR)
        chosen = _densest_window(runs, int(max_seconds * SR))
        if sum(b - a for a, b in chosen) < MIN_TRANSCRIBE_S * SR:
            return "", None
        audio = np.concatenate([y[max(0, a - pad) : min(y.shape[0], b + pad)] for a, b in chosen])
        audio = audio[: int(max_seconds * SR)]
    else:
        audio, _ = _middle(y, max_seconds)
    if asr is None:
        from moodtune.speech.whisper import get_whisper

        asr = get_whisper()
    from moodtune.errors import NoSpeechError

    try:
        result = asr.analyze(audio, languages=languages, vad=False, wordless=False)
    except NoSpeechError:
        return "", None
    text = clean_transcript(result.text)
    logger.info(
        "transcribed %.1f s of a %.1f s track in %.2f s: %d words (%s)",
        audio.shape[0] / SR,
        y.shape[0] / SR,
        time.perf_counter() - t0,
        len(text.split()),
        result.language,
    )
    if not text:
        return "", None
    return text, result.language


# ------------------------------------------------------------------------- emotion


@dataclass(frozen=True)
class LyricsEmotion:
    """The words of a track and what the text model reads in them.

    Attributes
    ----------
    source : str
        ``"lrc"``, ``"txt"`` (a sidecar file) or ``"whisper"`` (transcribed).
    language : str or None
        ``"ru"`` or ``"en"``; None when unknown.
    text : str
        The lyrics read.
    emotion : EmotionEstimate
        Probabilities over the seven labels, valence/arousal on [-1, 1], confidence on
        [0, 1] (source ``"lyrics"``).
    """

    source: str
    language: str | None
    text: str
    emotion: EmotionEstimate

    def to_dict(self) -> dict[str, Any]:
        """The mapping :meth:`moodtune.catalog.Catalog.put_lyrics` stores (JSON-ready)."""
        e = self.emotion
        return {
            "source": self.source,
            "language": self.language,
            "text": self.text,
            "probabilities": {k: round(v, 4) for k, v in e.probability_dict().items()},
            "label": e.label,
            "confidence": round(e.confidence, 4),
            "valence": round(e.valence, 4),
            "arousal": round(e.arousal, 4),
        }


def _chunks(text: str) -> list[str]:
    """Split lyrics into chunks of about :data:`CHUNK_WORDS` words, at line ends if any."""
    chunks: list[str] = []
    current: list[str] = []
    units = [u for u in re.split(r"\n+|(?<=[.!?…])\s+", text) if u.strip()]
    for unit in units:
        words = unit.split()
        if current and len(current) + len(words) > CHUNK_WORDS:
            chunks.append(" ".join(current))
            current = []
        current.extend(words)
        while len(current) > CHUNK_WORDS:
            chunks.append(" ".join(current[:CHUNK_WORDS]))
            current = current[CHUNK_WORDS:]
    if current:
        chunks.append(" ".join(current))
    return [c[:MAX_TEXT_CHARS] for c in chunks[:MAX_CHUNKS]]


def text_emotion(text: str, *, text_backend: TextEmotionBackend | None = None) -> EmotionEstimate:
    """Emotion of lyrics: chunks read by the text backend, probabilities averaged by length.

    Returns
    -------
    EmotionEstimate
        Source ``"lyrics"``; confidence from the averaged distribution's entropy.
    """
    chunks = _chunks(text)
    if not chunks:
        raise ParameterError("the lyrics hold no words")
    if text_backend is None:
        from moodtune.text import get_backend

        text_backend = get_backend()
    estimates = text_backend.predict_batch(chunks)
    weights = np.array([len(c.split()) for c in chunks], dtype=np.float64)
    probs = np.average(np.stack([e.probabilities for e in estimates]), axis=0, weights=weights)
    return EmotionEstimate.from_probabilities(probs, source="lyrics")


def lyrics_emotion(
    path: str | Path | None,
    features: Mapping[str, Any],
    *,
    y: np.ndarray | None = None,
    text_backend: TextEmotionBackend | None = None,
    asr: WhisperASR | None = None,
    transcribe: bool = True,
) -> LyricsEmotion | None:
    """Lyrics emotion of one analysed track.

    Parameters
    ----------
    path : str, Path or None
        The audio file (its sidecar is looked for next to it); None for audio without a file.
    features : mapping
        The track's features (:attr:`TrackAnalysis.features`); see :func:`has_vocals`.
    y : numpy.ndarray, optional
        The decoded audio, mono 16 kHz (decoded from ``path`` when needed and not given).
        Whisper only hears what Silero VAD marks as voice (:func:`transcribe_lyrics`).
    text_backend : TextEmotionBackend, optional
        Defaults to ``moodtune.text.get_backend()``.
    asr : WhisperASR, optional
        Defaults to the process-wide Whisper.
    transcribe : bool
        Allow Whisper; False reads sidecars only.

    Returns
    -------
    LyricsEmotion or None
        None when there is no sidecar with words and no vocals to transcribe (or
        ``transcribe`` is off), or fewer than :data:`MIN_WORDS` words were found.

    A sidecar that cannot be used (over the size limit, unreadable, binary) is logged and
    ignored, as if there were none.

    Raises
    ------
    ParameterError
        Bad audio or features.
    """
    if not isinstance(features, Mapping):
        raise ParameterError(f"features must be a mapping, got {type(features).__name__}")
    text, language, source = "", None, ""
    sidecar = find_sidecar(path) if path is not None else None
    if sidecar is not None:
        try:
            text = read_lyrics_file(sidecar)
        except ParameterError as exc:  # a bad lyrics file must not cost the song's analysis
            logger.warning("%s; ignoring it", exc)
            text = ""
        if text:
            source = sidecar.suffix.lower().lstrip(".")
        else:
            logger.info("lyrics file %s holds no words; ignoring it", sidecar)
    if not source and transcribe:
        vocal_s = _feature(features, "vocal_s")
        if y is None and path is not None:
            from moodtune.music.features import load_music

            y = load_music(path)
        if y is not None and vocal_s is None:
            vocal_s = vocal_seconds(y)
        if y is not None and has_vocals(features, vocal_s=vocal_s):
            # always VAD-gated: without voice, Whisper invents text over music
            text, language = transcribe_lyrics(y, asr=asr)
            source = "whisper"
    if not source or len(text.split()) < MIN_WORDS:
        return None
    if language is None:
        detected = detect_language(text)
        language = detected if detected != "unknown" else None
    emotion = text_emotion(text, text_backend=text_backend)
    return LyricsEmotion(source=source, language=language, text=text, emotion=emotion)


def track_emotion_point(
    valence: float, arousal: float, lyrics: LyricsEmotion | Mapping[str, Any] | None
) -> dict[str, Any]:
    """A track's emotion point from its sound and (when known) its lyrics.

    The one builder of the ``emotion_point`` JSON: ``moodtune analyze``, ``POST
    /v1/tracks/analyze`` and ``GET /v1/tracks/{id}`` all give this shape.

    Parameters
    ----------
    valence, arousal : float
        The sound's point on [-1, 1] (e.g. the means of the analysis curves).
    lyrics : LyricsEmotion, mapping or None
        The lyrics emotion, or its stored mapping (:meth:`LyricsEmotion.to_dict`, as
        :meth:`moodtune.catalog.repository.Catalog.get_lyrics` returns it); None leaves
        the sound's point as it is.

    Returns
    -------
    dict
        ``valence``, ``arousal`` (the blended point), ``lyrics_share`` (``LYRICS_WEIGHT *
        confidence``, 0 without lyrics), ``audio`` ({valence, arousal}) and ``lyrics``
        ({valence, arousal, confidence, label, source} or None).
    """
    v, a = float(valence), float(arousal)
    if not (np.isfinite(v) and np.isfinite(a) and -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0):
        raise ParameterError(f"valence={valence!r}, arousal={arousal!r} must lie in [-1, 1]")
    audio = {"valence": round(v, 4), "arousal": round(a, 4)}
    if lyrics is None:
        return {"valence": round(v, 4), "arousal": round(a, 4), "lyrics_share": 0.0,
                "audio": audio, "lyrics": None}  # fmt: skip
    label: str | None
    source: str | None
    if isinstance(lyrics, LyricsEmotion):
        e = lyrics.emotion
        lv, la, conf, label = e.valence, e.arousal, e.confidence, e.label
        source = lyrics.source
    else:
        lv, la = float(lyrics["valence"]), float(lyrics["arousal"])
        conf, source = float(lyrics["confidence"]), lyrics.get("source")
        probs = lyrics.get("probabilities") or {}
        label = lyrics.get("label") or (max(probs, key=lambda k: probs[k]) if probs else None)
    bv, ba, share = blend_lyrics_point(v, a, lv, la, conf)
    return {
        "valence": round(bv, 4),
        "arousal": round(ba, 4),
        "lyrics_share": round(share, 4),
        "audio": audio,
        "lyrics": {
            "valence": round(lv, 4),
            "arousal": round(la, 4),
            "confidence": round(conf, 4),
            "label": label,
            "source": source,
        },
    }
