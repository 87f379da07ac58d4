"""What moodtune says about one music track: analysis, genre, lyrics, emotion point, words.

The facade (:class:`moodtune.service.Moodtune`) calls these for ``moodtune analyze``,
``POST /v1/tracks/analyze`` (a file: :func:`analyze_track`) and ``GET /v1/tracks/{id}``
(a catalog track: :func:`track_view`). The rules live here, once: where a genre comes
from (:func:`genre_source`), what a track without a stored curve shows, which genre a
description may name (:func:`sure_genre`), and the one emotion point
(:func:`moodtune.music.lyrics.track_emotion_point`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from moodtune.music.features import TrackAnalysis
    from moodtune.text import TextEmotionBackend

#: Below this probability the classifier's genre is left out of a track's description.
SURE_GENRE: float = 0.5

#: ``describe(features, arousal, valence, hop_s, *, genre=None) -> {text, source, model, note}``:
#: what words a report gets (:func:`template_description`, or the facade's LLM describer).
Describer = Callable[..., dict[str, Any]]


@dataclass
class TrackReport:
    """What moodtune finds in one music file: sound, genre, lyrics and a description.

    Attributes
    ----------
    analysis : TrackAnalysis
        Spotify-style features and the per-second arousal/valence curve.
    genre : dict
        ``label`` (the file's own genre tag, else the classifier's genre or ``"other"`` when
        it abstains; None for silence), ``source`` (``"tag"`` or ``"classifier"``), ``guess``
        (the classifier's genre or ``"other"``), ``abstained`` (why, or None),
        ``probabilities`` ({genre: p}, kept when it abstains) and ``model``.
    lyrics : dict or None
        The lyrics emotion (:meth:`moodtune.music.lyrics.LyricsEmotion.to_dict`), or None
        for a track without words.
    emotion_point : dict or None
        The track's point on the circumplex from its sound and its lyrics
        (:func:`moodtune.music.lyrics.track_emotion_point`); None for a silent track.
    description : dict
        ``text``, ``source`` (``"llm"`` or ``"template"``), ``model`` and ``note``.
    """

    analysis: TrackAnalysis
    genre: dict[str, Any]
    lyrics: dict[str, Any] | None
    emotion_point: dict[str, Any] | None
    description: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``moodtune analyze --json`` and ``POST /v1/tracks/analyze``."""
        return self.analysis.to_dict() | {
            "genre": self.genre,
            "lyrics": self.lyrics,
            "emotion_point": self.emotion_point,
            "description": self.description,
        }

    def plot(self, path: Path, *, title: str = "") -> Path:
        """Draw the curve and the emotion point to a PNG (:mod:`moodtune.music.plot`).

        Raises
        ------
        MissingDependencyError
            Without matplotlib.
        """
        from moodtune.music.plot import plot_analysis

        return plot_analysis(
            self.analysis, Path(path), title=title, emotion_point=self.emotion_point
        )


def sure_genre(genre: Mapping[str, Any]) -> str | None:
    """The genre to name in a description: a catalog or tag genre, or a confident guess.

    The classifier's abstention (``"other"``) and any guess under :data:`SURE_GENRE` are
    never named.
    """
    if genre.get("source") in ("catalog", "tag") and genre.get("label") not in (None, "other"):
        return str(genre["label"])
    label = genre.get("label")
    if label in (None, "other"):
        return None
    p = float(genre.get("probabilities", {}).get(label, 0.0))
    return str(label) if p >= SURE_GENRE else None


def genre_guess(features: Mapping[str, Any], *, local: bool = False) -> dict[str, Any]:
    """The genre classifier's guess from a track's features (catalog column names).

    ``local``: the features are moodtune's estimates for a local file, whose length is
    ignored when it is too short to be a whole song
    (:func:`moodtune.music.genre.local_file_features`).
    """
    from moodtune.music.genre import default_genre_model, local_file_features

    model = default_genre_model()
    label, probs, abstained = model.guess(local_file_features(features) if local else features)
    return {
        "label": label,
        "source": "classifier",
        "guess": label,
        "abstained": abstained,
        "probabilities": {g: round(p, 4) for g, p in probs.items()},
        "model": model.model_id,
    }


def template_description(
    features: Mapping[str, Any],
    arousal: Any,
    valence: Any,
    hop_s: float = 1.0,
    *,
    genre: str | None = None,
) -> dict[str, Any]:
    """Two or three sentences on a track's emotional arc, from the template.

    :func:`moodtune.music.describe.describe_arc`'s text with ``source="template"``.
    """
    from moodtune.music.describe import describe_arc

    text = describe_arc(features, arousal, valence, hop_s, genre=genre)
    return {"text": text, "source": "template", "model": None, "note": None}


def silent_report(analysis: TrackAnalysis) -> TrackReport:
    """A silent track: no genre, no words, no emotion point; the description says so."""
    loud = analysis.features.get("loudness")
    text = f"Silence: {float(analysis.features['duration_s'] or 0):.0f} s"
    text += f" at {loud:.0f} LUFS." if isinstance(loud, (int, float)) else "."
    return TrackReport(
        analysis=analysis,
        genre={"label": None, "source": None, "probabilities": {}, "model": None},
        lyrics=None,
        emotion_point=None,
        description={"text": text, "source": "template", "model": None, "note": "silent"},
    )


def analyze_track(
    path: Path,
    *,
    text_backend: TextEmotionBackend | None = None,
    lyrics: bool = True,
    describe: Describer = template_description,
) -> TrackReport:
    """Analyse a music file: features, curve, genre, lyrics emotion and a description.

    Parameters
    ----------
    path : Path
        The music file.
    text_backend : TextEmotionBackend, optional
        What hears the lyrics' emotion (the default backend when None).
    lyrics : bool
        Transcribe sung words with Whisper when the track has vocals (a ``.lrc`` or
        ``.txt`` file next to it is read either way).
    describe : callable
        What words the report gets (:data:`Describer`; the template by default).
    """
    from moodtune.music.features import VIBE_SR, analyze_signal, file_loudness, load_music
    from moodtune.music.files import read_tags
    from moodtune.music.lyrics import lyrics_emotion, track_emotion_point

    y = load_music(path)
    analysis = analyze_signal(y, sr=VIBE_SR, path=str(path), loudness=file_loudness(path, y16=y))
    if analysis.silent:
        return silent_report(analysis)
    genre = genre_guess(analysis.catalog_row(track_id="query"), local=True)
    tag = read_tags(path).get("genre")
    if tag:  # the file's own genre is its genre; the classifier's guess stays beside it
        genre |= {"label": str(tag), "source": "tag"}
    found = lyrics_emotion(
        path, analysis.features, y=y, text_backend=text_backend, transcribe=lyrics
    )
    summary = analysis.summary
    point = track_emotion_point(summary["valence_mean"], summary["arousal_mean"], found)
    description = describe(
        analysis.features,
        analysis.arousal,
        analysis.valence,
        analysis.hop_s,
        genre=sure_genre(genre),
    )
    return TrackReport(
        analysis=analysis,
        genre=genre,
        lyrics=None if found is None else found.to_dict(),
        emotion_point=point,
        description=description,
    )


def genre_source(row: Mapping[str, Any], stored: Mapping[str, Any] | None, label: str) -> str:
    """Where a catalog track's genre ``label`` comes from: ``catalog``, ``tag`` or ``classifier``.

    A genre column with no stored probabilities came with the catalog (e.g. the playlist
    genre of an imported Spotify table); a local file whose tag names the genre has it
    from the tag; anything else is the classifier's.
    """
    from moodtune.music.genre import tag_to_genre

    if stored is None and row.get("genre"):
        return "catalog"
    if (
        row.get("source") == "local"
        and row.get("subgenre")
        and tag_to_genre(row["subgenre"]) == label
    ):
        return "tag"
    return "classifier"


def track_view(
    row: Mapping[str, Any],
    *,
    curve: tuple[np.ndarray, np.ndarray, float] | None = None,
    stored_genres: Mapping[str, Any] | None = None,
    lyrics: Mapping[str, Any] | None = None,
    describe: Describer = template_description,
) -> dict[str, Any]:
    """One catalog track with its curve, genre, lyrics, emotion point and description.

    Parameters
    ----------
    row : mapping
        The track's catalog row.
    curve : (arousal, valence, hop_s), optional
        Its stored curve. Without one (an imported catalog row) the view has ``curve:
        None`` and the sound's point comes from its valence and energy mapped to [-1, 1].
    stored_genres : mapping, optional
        Its stored genre ``probabilities`` and ``model``; the classifier guesses without.
    lyrics : mapping, optional
        Its stored lyrics emotion.
    describe : callable
        What words the view gets (:data:`Describer`).
    """
    from moodtune.music.lyrics import track_emotion_point

    view = dict(row)
    features = dict(row)
    if row.get("duration_ms") is not None:
        features["duration_s"] = float(row["duration_ms"]) / 1000.0
    if curve is None:
        view["curve"] = None
        arousal = valence = np.zeros(0)
        hop_s = 1.0
        sv = 2.0 * float(row["valence"]) - 1.0 if row.get("valence") is not None else 0.0
        sa = 2.0 * float(row["energy"]) - 1.0 if row.get("energy") is not None else 0.0
    else:
        arousal, valence, hop_s = curve
        view["curve"] = {
            "hop_s": float(hop_s),
            "arousal": [round(float(x), 4) for x in arousal],
            "valence": [round(float(x), 4) for x in valence],
        }
        sv, sa = float(np.mean(valence)), float(np.mean(arousal))
    if stored_genres is not None:
        probs, model_id = stored_genres["probabilities"], stored_genres["model"]
    else:
        guess = genre_guess(features, local=row.get("source") == "local")
        probs, model_id = guess["probabilities"], guess["model"]
    label = row.get("genre") or max(probs, key=lambda g: probs[g])
    genre = {
        "label": label,
        "source": genre_source(row, stored_genres, label),
        "probabilities": probs,
        "model": model_id,
    }
    view["genre_info"] = genre
    view["lyrics"] = None if lyrics is None else dict(lyrics)
    sv, sa = min(max(sv, -1.0), 1.0), min(max(sa, -1.0), 1.0)
    view["emotion_point"] = track_emotion_point(sv, sa, lyrics)
    view["description"] = describe(
        features, arousal, valence, float(hop_s), genre=sure_genre(genre)
    )
    return view
