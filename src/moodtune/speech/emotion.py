"""Speech emotion from the Whisper encoder states moodtune already computed for the transcript.

The Whisper encoder runs once per voice message (:mod:`moodtune.speech.whisper`); this
head pools its states over time, adds cheap prosody (:mod:`moodtune.speech.prosody`) and
applies a small linear classifier, all in numpy.

Features
--------
``x = [mean(states), std(states), prosody(y)]``, shape (:data:`FEATURE_DIM`,): mean and
standard deviation over the states that cover real audio (one state per 20 ms; states
of a padded window beyond the audio are dropped), then the prosody vector of the same
audio.

Two classifiers
---------------
*global*: ``z = (x - mean) / scale`` with the training set's statistics.

*speaker*: ``z = (x - mu_u) / sigma_u`` with the running statistics of the same user
(:class:`SpeakerStats`), shrunk towards the global statistics while the user has few
messages. Acted corpora show that per-speaker normalisation removes much of the voice
identity that otherwise dominates the features; the product knows its users (bot
users, API sessions), so it can keep these statistics. The speaker classifier is used
once a user has :attr:`SpeechEmotionHead.min_speaker_count` messages.

Weights file
------------
``speech_emotion_head.npz`` holds plain arrays (loaded with ``allow_pickle=False``):
``labels`` (7,), ``feature_dim`` (), ``g_mean``, ``g_scale`` (d,), ``g_W`` (d, 7), ``g_b``
(7,), ``g_temperature`` (), the same ``s_*`` arrays for the speaker classifier (its
``s_mean``/``s_scale`` standardise the already speaker-normalised features), and
``shrink`` () (pseudo-count of the global statistics in :meth:`SpeakerStats.normalise`),
``min_speaker_count`` () and ``use_prosody`` ().
"""

from __future__ import annotations

import importlib.resources
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import ModelError, ParameterError
from moodtune.types import LABELS, EmotionEstimate

log = logging.getLogger(__name__)

#: Width of one Whisper-base encoder state.
STATE_DIM = 512
#: Audio samples per encoder state at 16 kHz (10 ms mel hop x stride 2).
SAMPLES_PER_STATE = 320
#: File name of the shipped weights inside ``moodtune/models``.
HEAD_FILE = "speech_emotion_head.npz"


def pool_states(states: np.ndarray, *, n_samples: int | None = None) -> np.ndarray:
    """Mean and standard deviation of encoder states over the frames that hold audio.

    Parameters
    ----------
    states : np.ndarray
        Shape (T, 512) or (1, T, 512), Whisper encoder states, one per 20 ms.
    n_samples : int, optional
        Length in samples (16 kHz) of the audio the states came from. When given, only
        the first ``ceil(n_samples / 320)`` states are pooled, so a 30 s padded window
        does not dilute a 3 s message with 27 s of padding.

    Returns
    -------
    np.ndarray
        Shape (1024,), float64: the 512 means, then the 512 standard deviations.

    Raises
    ------
    ParameterError
        If ``states`` has the wrong shape, no frames, or non-finite values.
    """
    s = np.asarray(states)
    if s.ndim == 3 and s.shape[0] == 1:
        s = s[0]
    if s.ndim != 2 or s.shape[1] != STATE_DIM or s.shape[0] == 0:
        raise ParameterError(
            f"states must have shape (T, {STATE_DIM}) with T >= 1, got {np.shape(states)}"
        )
    if n_samples is not None:
        if n_samples <= 0:
            raise ParameterError(f"n_samples={n_samples} must be positive")
        s = s[: max(1, -(-int(n_samples) // SAMPLES_PER_STATE))]
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ParameterError("states hold NaN or infinite values")
    return np.concatenate([s.mean(axis=0), s.std(axis=0)])


@dataclass
class SpeakerStats:
    """Running mean and variance of one user's feature vectors (Welford's algorithm).

    Keep one per user (bot chat, API session) and :meth:`update` it with
    :meth:`SpeechEmotionHead.features` of each voice message; pass it to
    :meth:`SpeechEmotionHead.predict`. :meth:`to_dict` / :meth:`from_dict` store it as JSON.

    Attributes
    ----------
    count : int
        Messages seen.
    mean, m2 : np.ndarray or None
        Shape (d,): running mean and sum of squared deviations (``None`` before the first).
    """

    count: int = 0
    mean: np.ndarray | None = field(default=None, repr=False)
    m2: np.ndarray | None = field(default=None, repr=False)

    def update(self, features: np.ndarray) -> None:
        """Add one feature vector of shape (d,) (or several, shape (n, d))."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if not np.all(np.isfinite(x)):
            raise ParameterError("speaker features hold NaN or infinite values")
        for row in x:
            if self.mean is None or self.m2 is None:
                self.mean = np.zeros_like(row)
                self.m2 = np.zeros_like(row)
            elif row.shape != self.mean.shape:
                raise ParameterError(
                    f"feature width {row.shape[0]} differs from the stored {self.mean.shape[0]}"
                )
            self.count += 1
            delta = row - self.mean
            self.mean = self.mean + delta / self.count
            self.m2 = self.m2 + delta * (row - self.mean)

    def normalise(
        self,
        x: np.ndarray,
        *,
        global_mean: np.ndarray,
        global_var: np.ndarray,
        shrink: float,
    ) -> np.ndarray:
        """Z-score ``x`` (shape (d,) or (n, d)) with this speaker's statistics.

        The speaker's mean and variance are shrunk towards the global ones with a
        pseudo-count ``shrink``: ``mu = (n * mu_u + k * mu_g) / (n + k)`` and likewise for
        the variance, so a user with two messages is not normalised by noise.
        """
        if self.mean is None or self.m2 is None or self.count == 0:
            raise ParameterError("speaker statistics are empty; update() them first")
        n, k = float(self.count), float(shrink)
        var_u = self.m2 / max(n, 1.0)
        mu = (n * self.mean + k * global_mean) / (n + k)
        var = (n * var_u + k * global_var) / (n + k)
        return (np.asarray(x, dtype=np.float64) - mu) / np.sqrt(var + 1e-8)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "count": self.count,
            "mean": None if self.mean is None else self.mean.tolist(),
            "m2": None if self.m2 is None else self.m2.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerStats:
        """Inverse of :meth:`to_dict`."""
        mean, m2 = data.get("mean"), data.get("m2")
        return cls(
            count=int(data.get("count", 0)),
            mean=None if mean is None else np.asarray(mean, dtype=np.float64),
            m2=None if m2 is None else np.asarray(m2, dtype=np.float64),
        )


@dataclass(frozen=True)
class LinearSoftmax:
    """``softmax(((x - mean) / scale) @ W + b) / temperature)`` on numpy arrays.

    Attributes
    ----------
    mean, scale : np.ndarray
        Shape (d,).
    W : np.ndarray
        Shape (d, 7).
    b : np.ndarray
        Shape (7,).
    temperature : float
        Positive; fitted on validation data.
    """

    mean: np.ndarray
    scale: np.ndarray
    W: np.ndarray
    b: np.ndarray
    temperature: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated logits, shape (n, 7), for ``x`` of shape (n, d)."""
        z = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mean) / self.scale
        return np.asarray(z @ self.W + self.b)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, shape (n, 7), rows sum to 1."""
        z = self.logits(x) / self.temperature
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def default_head_path() -> Path:
    """Path of the shipped weights (``moodtune/models/speech_emotion_head.npz``)."""
    return Path(str(importlib.resources.files("moodtune").joinpath("models", HEAD_FILE)))


class SpeechEmotionHead:
    """The speech-emotion classifier; see the module docstring.

    Parameters
    ----------
    arrays : dict of np.ndarray
        The arrays of the weights file.
    """

    #: Messages a user needs before the speaker-normalised classifier is used (the
    #: weights file may set its own as ``min_speaker_count``).
    min_speaker_count: int = 5

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        try:
            labels = tuple(str(x) for x in arrays["labels"])
            self.use_prosody = bool(arrays["use_prosody"])
            self.shrink = float(arrays["shrink"])
            if "min_speaker_count" in arrays:
                self.min_speaker_count = int(arrays["min_speaker_count"])
            self.global_clf = self._linear(arrays, "g_")
            self.speaker_clf = self._linear(arrays, "s_")
            self.feature_mean = np.asarray(arrays["feature_mean"], dtype=np.float64)
            self.feature_var = np.asarray(arrays["feature_var"], dtype=np.float64)
        except KeyError as exc:
            raise ModelError(f"speech head weights lack the array {exc}; retrain the head") from exc
        if labels != LABELS:
            raise ModelError(f"head labels {labels} differ from moodtune's {LABELS}; retrain it")
        d = self.feature_dim
        for clf in (self.global_clf, self.speaker_clf):
            if clf.W.shape != (d, len(LABELS)) or clf.mean.shape != (d,):
                raise ModelError(f"speech head weights have inconsistent shapes (d={d})")
        self.meta = {k: arrays[k] for k in arrays if k.startswith("meta_")}

    @staticmethod
    def _linear(arrays: dict[str, np.ndarray], prefix: str) -> LinearSoftmax:
        return LinearSoftmax(
            mean=np.asarray(arrays[prefix + "mean"], dtype=np.float64),
            scale=np.asarray(arrays[prefix + "scale"], dtype=np.float64),
            W=np.asarray(arrays[prefix + "W"], dtype=np.float64),
            b=np.asarray(arrays[prefix + "b"], dtype=np.float64),
            temperature=float(arrays[prefix + "temperature"]),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpeechEmotionHead:
        """Load weights from an ``.npz`` (default: the shipped head), ``allow_pickle=False``.

        Raises
        ------
        ModelError
            If the file is missing, unreadable or inconsistent.
        """
        p = Path(path) if path is not None else default_head_path()
        try:
            with np.load(p, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot read speech-emotion weights {p}: {exc}; reinstall moodtune or "
                "run 'moodtune train speech-emotion'"
            ) from exc
        return cls(arrays)

    @property
    def feature_dim(self) -> int:
        """Width of the feature vector the head expects."""
        return int(self.global_clf.mean.shape[0])

    def features(self, states: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Feature vector of one message, shape (:attr:`feature_dim`,).

        Parameters
        ----------
        states : np.ndarray
            Shape (T, 512), the Whisper encoder states of ``y``.
        y : np.ndarray, optional
            Shape (n,), the 16 kHz audio the states were computed from. Needed when the
            head uses prosody; also trims padding states beyond the audio.
        """
        pooled = pool_states(states, n_samples=None if y is None else len(y))
        if not self.use_prosody:
            return pooled
        if y is None:
            raise ParameterError("this speech head uses prosody: pass the audio y as well")
        from moodtune.speech.prosody import prosody_features

        return np.concatenate([pooled, prosody_features(np.asarray(y), sr=16000)])

    def predict_features(
        self, x: np.ndarray, *, speaker_stats: SpeakerStats | None = None
    ) -> np.ndarray:
        """Calibrated probabilities, shape (n, 7), for feature rows of shape (n, d) or (d,).

        The speaker classifier is used when ``speaker_stats`` holds at least
        :attr:`min_speaker_count` messages; otherwise the global one.
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.feature_dim:
            raise ParameterError(f"features have width {x.shape[1]}, expected {self.feature_dim}")
        if speaker_stats is not None and speaker_stats.count >= self.min_speaker_count:
            z = speaker_stats.normalise(
                x, global_mean=self.feature_mean, global_var=self.feature_var, shrink=self.shrink
            )
            return self.speaker_clf.predict_proba(z)
        return self.global_clf.predict_proba(x)

    def predict(
        self,
        states: np.ndarray,
        y: np.ndarray | None = None,
        *,
        speaker_stats: SpeakerStats | None = None,
    ) -> EmotionEstimate:
        """Emotion of one voice message.

        Parameters
        ----------
        states : np.ndarray
            Shape (T, 512), Whisper encoder states of the message (from the same encoder
            pass that produced the transcript).
        y : np.ndarray, optional
            Shape (n,), the 16 kHz audio the states came from (needed for prosody).
        speaker_stats : SpeakerStats, optional
            The user's running feature statistics (see the module docstring). The caller
            decides whether to :meth:`SpeakerStats.update` them with this message first.

        Returns
        -------
        EmotionEstimate
            ``source="voice"``; probabilities are temperature-calibrated, the confidence is
            one minus their normalised entropy (as for the text head).
        """
        probs = self.predict_features(self.features(states, y), speaker_stats=speaker_stats)[0]
        return EmotionEstimate.from_probabilities(probs, source="voice")


_HEAD: SpeechEmotionHead | None = None


def get_speech_emotion_head() -> SpeechEmotionHead:
    """Return the shipped head, loaded once per process."""
    global _HEAD
    if _HEAD is None:
        _HEAD = SpeechEmotionHead.load()
    return _HEAD
