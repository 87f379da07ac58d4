"""Load the labelled emotional-speech corpora and turn clips into cached features.

Expected layout (as in the project's shared data folder)::

    DIR/<dataset>/metadata.csv      path, dataset, speaker, emotion, split, ...
    DIR/<dataset>/audio/<stem>.ogg  16 kHz mono Ogg Opus

``emotion`` uses the shared speech vocabulary (neutral, calm, happy, sad, angry,
fearful, disgust, surprised, boredom). We map it onto moodtune's seven labels with
:func:`moodtune.types.canonical_label` (calm folds into neutral, surprised becomes
surprise) and drop labels outside them (EmoDB's boredom).

Features of one clip are computed once and cached on disk as ``.npz`` keyed by the
clip's path, its file size and modification time, the augmentation name and the
encoder's identity, so re-running training costs only the head fit.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodtune.errors import ParameterError
from moodtune.types import LABEL_ALIASES, LABELS

log = logging.getLogger(__name__)

#: Corpora the shipped head learns from (all four are non-commercial; see the model card).
SPEECH_SETS: tuple[str, ...] = ("ravdess", "tess", "emodb", "turev_db")

#: Corpora used only to evaluate (no licence to train on): scored as one more unseen corpus.
EVAL_ONLY_SETS: tuple[str, ...] = ("spanish_student_ser",)

#: The sample rate every clip is decoded to, in Hz.
SR = 16000

Encoder = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SpeechClip:
    """One labelled clip.

    Attributes
    ----------
    path : Path
        Absolute path of the audio file.
    dataset, speaker, split : str
        Corpus name, speaker id (unique within the corpus) and ``train``/``validation``/``test``.
    label : int
        Index into :data:`moodtune.types.LABELS`.
    """

    path: Path
    dataset: str
    speaker: str
    split: str
    label: int

    @property
    def speaker_key(self) -> str:
        """Speaker id made unique across corpora (``dataset:speaker``)."""
        return f"{self.dataset}:{self.speaker}"


def read_metadata(data_dir: Path, dataset: str) -> list[SpeechClip]:
    """Read ``DIR/<dataset>/metadata.csv``; rows whose emotion is not one of the seven are dropped.

    Raises
    ------
    ParameterError
        If the metadata file does not exist.
    """
    root = Path(data_dir) / dataset
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise ParameterError(
            f"{meta} not found; --data must point at a speech_emotion folder holding "
            f"<dataset>/metadata.csv for {', '.join(SPEECH_SETS)}"
        )
    clips: list[SpeechClip] = []
    dropped: dict[str, int] = {}
    with meta.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            emotion = (rec.get("emotion") or "").strip().lower()
            if emotion not in LABEL_ALIASES:
                dropped[emotion] = dropped.get(emotion, 0) + 1
                continue
            clips.append(
                SpeechClip(
                    path=root / rec["path"],
                    dataset=dataset,
                    speaker=rec["speaker"],
                    split=rec["split"],
                    label=LABELS.index(LABEL_ALIASES[emotion]),
                )
            )
    if dropped:
        log.info("%s: dropped %s (outside the seven labels)", dataset, dropped)
    return clips


def load_clips(data_dir: Path, *, datasets: Sequence[str] = SPEECH_SETS) -> list[SpeechClip]:
    """Read the clips of several corpora (see :func:`read_metadata`)."""
    out: list[SpeechClip] = []
    for name in datasets:
        out.extend(read_metadata(data_dir, name))
    return out


def load_clip_audio(path: Path) -> np.ndarray:
    """Decode one clip to 16 kHz mono float32, shape (n,), with moodtune's audio loader."""
    from moodtune.audio.decode import load_audio

    return np.asarray(load_audio(path, sr=SR), dtype=np.float32)


def _cache_key(path: Path, aug: str, encoder_id: str) -> str:
    """Cache key of a clip's features: what the file holds, not where it is or when it changed.

    Copying or moving the data (new paths, new modification times) keeps the cache valid;
    changing a clip's bytes, the augmentation or the encoder does not.
    """
    digest = hashlib.sha1(path.read_bytes()).hexdigest()
    raw = f"content:{digest}|{aug}|{encoder_id}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def _legacy_cache_key(path: Path, aug: str, encoder_id: str) -> str:
    """The key caches written before content keys used (path, size and mtime)."""
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{aug}|{encoder_id}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def clip_features(
    clip: SpeechClip,
    *,
    cache_dir: Path,
    encoder: Encoder,
    encoder_id: str,
    aug: str = "orig",
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
    loader: Callable[[Path], np.ndarray] = load_clip_audio,
) -> dict[str, np.ndarray]:
    """Return the cached feature arrays of one clip (computing and caching them if needed).

    Parameters
    ----------
    clip : SpeechClip
        The clip.
    cache_dir : Path
        Folder of the ``.npz`` cache.
    encoder : callable
        ``encoder(y16k) -> states`` of shape (T, 512) (Whisper encoder states).
    encoder_id : str
        Names the encoder in the cache key (change it when the encoder changes).
    aug : str
        Name of the augmentation variant (``"orig"`` for the clean clip).
    augment : callable, optional
        ``augment(y) -> y`` applied before encoding; must be deterministic for ``aug``.
    loader : callable
        ``loader(path) -> y`` decoding to 16 kHz mono float32.

    Returns
    -------
    dict
        ``{"pooled": (1024,), "prosody": (P,)}`` as float32 (see
        :func:`moodtune.speech.emotion.pool_states` and
        :func:`moodtune.speech.prosody.prosody_features`).
    """
    from moodtune.speech.emotion import pool_states
    from moodtune.speech.prosody import prosody_features

    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{_cache_key(clip.path, aug, encoder_id)}.npz"
    legacy = cache_dir / f"{_legacy_cache_key(clip.path, aug, encoder_id)}.npz"
    if not target.is_file() and legacy.is_file():
        legacy.replace(target)  # an older cache of the same file: keep it under the new key
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError):
            log.warning("cache entry %s unreadable; recomputing", target)
    y = loader(clip.path)
    if augment is not None:
        y = np.asarray(augment(y), dtype=np.float32)
    states = encoder(y)
    feats = {
        "pooled": pool_states(states, n_samples=len(y)).astype(np.float32),
        "prosody": prosody_features(y, sr=SR).astype(np.float32),
    }
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, **feats)  # type: ignore[arg-type]
    tmp.replace(target)
    return feats
