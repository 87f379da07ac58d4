"""Speech emotion from the Whisper encoder states moodtune already computed for the transcript.

The Whisper encoder runs once per voice message (:mod:`moodtune.speech.whisper`); this
head pools its states over time, adds cheap prosody (:mod:`moodtune.speech.prosody`) and
applies a small linear classifier, all in numpy. It is built for voices it has never
heard: every choice below was made on leave-one-corpus-out scores (see
``SPEECH_EMOTION_MODEL_CARD.md``).

Features
--------
``x = [mean(states), f(std(states)), prosody(y)[keep]]``: mean and standard deviation over
the states that cover real audio (one state per 20 ms; padding beyond the audio is
dropped), then the prosody vector of the same audio. ``f`` is the logarithm when the
weights say ``log_std``; ``prosody_keep`` drops prosody entries (the MFCC means, which
mostly describe the microphone: per-utterance cepstral mean removal).

Speaker and channel normalisation, from the first message
---------------------------------------------------------
``z = (x - mu_u) / sigma_u`` with the user's running statistics (:class:`SpeakerStats`,
the message itself included) shrunk towards the population statistics with a
pseudo-count ``shrink``: ``mu_u = (n * mean_u + k * mu_pop) / (n + k)``. With one
message (or no user at all) this is a scaled population z-score; with every further
message the user's own voice, microphone and language are removed a little more. The
population statistics are the average of the training corpora's own statistics, and the
classifier learned from rows normalised the same way (random histories of 0 to all other
clips of a speaker; see :class:`moodtune.train.speech_emotion.SpeechHeadConfig`).

First messages
--------------
A first message (no user history) cannot be normalised by its speaker, so where the
weights have one (``f_W``, ``f_b``) it is scored by its own linear classifier, fitted on
the same rows with the leading directions of the speaker subspace projected out (the
directions along which the training speakers' label-balanced means differ most,
``meta_first_nap``): it ignores what mostly tells voices apart. From the second message
on the full classifier (``c_W``) serves, as the user's own statistics remove the speaker.

Honest confidence
-----------------
Logits get a per-class prior correction and a temperature, both fitted on
leave-one-corpus-out predictions (voices of corpora the classifier never saw). Once a
user has two or more messages, a second prior correction (``h_prior``, fitted on the
held-out predictions of simulated users with histories, same temperature) replaces the
first-message one: normalised by their own statistics, their logits are shifted
differently. A voice
unlike the training data is caught by its distance to the training distribution (RMS
Mahalanobis distance over the leading principal components of ``x``): beyond
``ood_low`` the probabilities are mixed with the uniform distribution, up to
``ood_max`` at ``ood_high``.

Valence and arousal
-------------------
Two binary logistic heads on ``z`` (arousal high/low, valence positive/negative, fitted
and calibrated the same way) give the voice's own circumplex point:
``arousal = RADIUS * (2 P(high) - 1)``, likewise valence; the out-of-distribution mix
pulls them towards the origin too.

Weights file
------------
``speech_emotion_head.npz`` holds plain arrays (loaded with ``allow_pickle=False``):
``labels`` (7,), ``use_prosody``, ``log_std``, ``prosody_keep`` (P,), ``relative_pitch``
and ``instance_norm`` (optional, default off), ``speaker_norm``,
``pop_mean``, ``pop_var`` (d,), ``shrink``; the classifier ``c_mean``, ``c_scale`` (d,),
``c_W`` (d, 7), ``c_b`` (7,), ``c_prior`` (7,), ``c_temperature``; the out-of-distribution
check ``ood_mean``, ``ood_scale`` (d,), ``ood_components`` (d, r), ``ood_var`` (r,),
``ood_low``, ``ood_high``, ``ood_max``; ``h_prior`` (7,, optional) the prior correction
for users with a history; ``f_W`` (d, 7) and ``f_b`` (7,) (optional) the first-message
classifier on the same standardised rows as ``c_W``; the binary heads ``a_W``, ``v_W``
(d,), ``a_b``, ``v_b``, ``a_temperature``, ``v_temperature``; ``meta_*`` entries describe
the training.
"""

from __future__ import annotations

import importlib.resources
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import ModelError, ParameterError
from moodtune.types import CIRCUMPLEX_ARRAY, LABELS, RADIUS, EmotionEstimate

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
    """``softmax((((x - mean) / scale) @ W + b + prior) / temperature)`` on numpy arrays.

    Attributes
    ----------
    mean, scale : np.ndarray
        Shape (d,).
    W : np.ndarray
        Shape (d, 7).
    b, prior : np.ndarray
        Shape (7,): bias and the prior correction fitted on held-out corpora.
    temperature : float
        Positive; fitted on held-out corpora.
    """

    mean: np.ndarray
    scale: np.ndarray
    W: np.ndarray
    b: np.ndarray
    temperature: float
    prior: np.ndarray | None = None

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits before prior and temperature, shape (n, 7), for ``x`` of shape (n, d)."""
        z = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mean) / self.scale
        return np.asarray(z @ self.W + self.b)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, shape (n, 7), rows sum to 1."""
        z = self.logits(x)
        if self.prior is not None:
            z = z + self.prior
        return softmax(z / self.temperature)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits of shape (n, k)."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def ood_mix(distance: np.ndarray, *, low: float, high: float, top: float) -> np.ndarray:
    """Share of the uniform distribution mixed in for an out-of-distribution distance.

    0 up to ``low``, rising linearly to ``top`` at ``high`` and staying there.
    """
    d = np.asarray(distance, dtype=np.float64)
    span = max(float(high) - float(low), 1e-9)
    return np.asarray(float(top) * np.clip((d - float(low)) / span, 0.0, 1.0))


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

    #: Messages a user needs before their own statistics are used: one (the message
    #: itself), shrunk towards the population (kept as an attribute for callers).
    min_speaker_count: int = 1

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        try:
            labels = tuple(str(x) for x in arrays["labels"])
            self.use_prosody = bool(arrays["use_prosody"])
            self.log_std = bool(arrays["log_std"])
            self.prosody_keep = np.asarray(arrays["prosody_keep"], dtype=bool)
            # absent in heads trained before these options existed: off
            self.relative_pitch = bool(arrays.get("relative_pitch", False))
            self.instance_norm = bool(arrays.get("instance_norm", False))
            self.speaker_norm = bool(arrays["speaker_norm"])
            self.shrink = float(arrays["shrink"])
            self.pop_mean = np.asarray(arrays["pop_mean"], dtype=np.float64)
            self.pop_var = np.asarray(arrays["pop_var"], dtype=np.float64)
            self.clf = LinearSoftmax(
                mean=np.asarray(arrays["c_mean"], dtype=np.float64),
                scale=np.asarray(arrays["c_scale"], dtype=np.float64),
                W=np.asarray(arrays["c_W"], dtype=np.float64),
                b=np.asarray(arrays["c_b"], dtype=np.float64),
                prior=np.asarray(arrays["c_prior"], dtype=np.float64),
                temperature=float(arrays["c_temperature"]),
            )
            self.ood_mean = np.asarray(arrays["ood_mean"], dtype=np.float64)
            self.ood_scale = np.asarray(arrays["ood_scale"], dtype=np.float64)
            self.ood_components = np.asarray(arrays["ood_components"], dtype=np.float64)
            self.ood_var = np.asarray(arrays["ood_var"], dtype=np.float64)
            self.ood_low = float(arrays["ood_low"])
            self.ood_high = float(arrays["ood_high"])
            self.ood_max = float(arrays["ood_max"])
            # prior correction for users with earlier messages (absent in older heads)
            self.history_prior = (
                np.asarray(arrays["h_prior"], dtype=np.float64) if "h_prior" in arrays else None
            )
            # first-message classifier (``first_nap``; absent in older heads): the same
            # standardised rows, weights that ignore the speaker subspace
            self.first_clf: tuple[np.ndarray, np.ndarray] | None = None
            if "f_W" in arrays:
                self.first_clf = (
                    np.asarray(arrays["f_W"], dtype=np.float64),
                    np.asarray(arrays["f_b"], dtype=np.float64),
                )
            self.dims: dict[str, tuple[np.ndarray, float, float]] = {}
            for key in ("a", "v"):
                if f"{key}_W" in arrays:
                    self.dims[key] = (
                        np.asarray(arrays[f"{key}_W"], dtype=np.float64),
                        float(arrays[f"{key}_b"]),
                        float(arrays[f"{key}_temperature"]),
                    )
        except KeyError as exc:
            raise ModelError(f"speech head weights lack the array {exc}; retrain the head") from exc
        if labels != LABELS:
            raise ModelError(f"head labels {labels} differ from moodtune's {LABELS}; retrain it")
        d = self.feature_dim
        shapes_ok = (
            self.clf.W.shape == (d, len(LABELS))
            and self.clf.mean.shape == (d,)
            and self.pop_mean.shape == (d,)
            and self.pop_var.shape == (d,)
            and self.ood_mean.shape == (d,)
            and self.ood_components.shape[0] == d
            and self.ood_var.shape == (self.ood_components.shape[1],)
            and all(w.shape == (d,) for w, _, _ in self.dims.values())
            and (self.history_prior is None or self.history_prior.shape == (len(LABELS),))
            and (
                self.first_clf is None
                or (
                    self.first_clf[0].shape == (d, len(LABELS))
                    and self.first_clf[1].shape == (len(LABELS),)
                )
            )
        )
        if not shapes_ok:
            raise ModelError(f"speech head weights have inconsistent shapes (d={d})")
        self.meta = {k: arrays[k] for k in arrays if k.startswith("meta_")}

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
        return int(self.clf.mean.shape[0])

    def transform(self, pooled: np.ndarray, prosody: np.ndarray | None = None) -> np.ndarray:
        """Feature rows from pooled states and prosody (see the module docstring).

        Parameters
        ----------
        pooled : np.ndarray
            Shape (n, 1024) or (1024,), from :func:`pool_states`.
        prosody : np.ndarray, optional
            Shape (n, P) or (P,), from :func:`moodtune.speech.prosody.prosody_features`;
            required when the head uses prosody.

        Returns
        -------
        np.ndarray
            Shape (n, :attr:`feature_dim`) (or (:attr:`feature_dim`,) for one row).
        """
        return transform_features(
            pooled,
            prosody if self.use_prosody else None,
            log_std=self.log_std,
            prosody_keep=self.prosody_keep,
            relative_pitch=self.relative_pitch,
            instance_norm=self.instance_norm,
        )

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
            return self.transform(pooled)
        if y is None:
            raise ParameterError("this speech head uses prosody: pass the audio y as well")
        from moodtune.speech.prosody import prosody_features

        return self.transform(pooled, prosody_features(np.asarray(y), sr=16000))

    def normalise(self, x: np.ndarray, *, speaker_stats: SpeakerStats | None = None) -> np.ndarray:
        """Speaker-normalised rows ``z``, shape (n, d), for feature rows ``x`` (n, d) or (d,).

        Without ``speaker_stats`` (or with empty ones) each row is its own one-message
        history; stats of another width (an older head's) are ignored the same way.
        """
        x = self._check(x)
        if not self.speaker_norm:
            return np.asarray((x - self.pop_mean) / np.sqrt(self.pop_var + 1e-8))
        usable = (
            speaker_stats is not None
            and speaker_stats.count > 0
            and speaker_stats.mean is not None
            and speaker_stats.mean.shape == (self.feature_dim,)
        )
        if usable and speaker_stats is not None:
            return speaker_stats.normalise(
                x, global_mean=self.pop_mean, global_var=self.pop_var, shrink=self.shrink
            )
        # a one-message history: mu = (x + k mu_pop) / (1 + k), var = k var_pop / (1 + k)
        k = self.shrink
        mu = (x + k * self.pop_mean) / (1.0 + k)
        var = k * self.pop_var / (1.0 + k)
        return np.asarray((x - mu) / np.sqrt(var + 1e-8))

    def ood_distance(self, x: np.ndarray) -> np.ndarray:
        """RMS Mahalanobis distance of rows ``x`` (n, d) to the training data, shape (n,)."""
        u = (self._check(x) - self.ood_mean) / self.ood_scale
        proj = u @ self.ood_components
        return np.asarray(np.sqrt(np.mean(proj**2 / self.ood_var, axis=1)))

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.ndim != 2 or x.shape[1] != self.feature_dim:
            raise ParameterError(f"features have width {x.shape[-1]}, expected {self.feature_dim}")
        if not np.all(np.isfinite(x)):
            raise ParameterError("speech features hold NaN or infinite values")
        return x

    def raw_scores(self, z: np.ndarray, *, first: bool = False) -> dict[str, np.ndarray]:
        """Uncalibrated scores of normalised rows ``z`` (n, d): before prior and temperature.

        ``first``: the rows are first messages (no user history), so the first-message
        classifier (``f_W``, ``f_b``) gives the logits where the weights have one.

        Returns
        -------
        dict
            ``logits`` (n, 7); ``a`` and ``v`` (n,), the binary heads' logits, where the
            weights have them.
        """
        zs = (np.atleast_2d(z) - self.clf.mean) / self.clf.scale
        W, bias = (
            self.first_clf if first and self.first_clf is not None else (self.clf.W, self.clf.b)
        )
        out = {"logits": np.asarray(zs @ W + bias)}
        for key, (w, b, _) in self.dims.items():
            out[key] = np.asarray(zs @ w + b)
        return out

    def outputs(
        self, z: np.ndarray, distance: np.ndarray, *, history: bool = False
    ) -> dict[str, np.ndarray]:
        """Calibrated outputs of normalised rows ``z`` (n, d) with OOD ``distance`` (n,).

        ``history``: the rows were normalised with a user history of two or more
        messages, so the history prior correction applies (where the weights have one).
        See :meth:`predict_all` for the keys.
        """
        raw = self.raw_scores(z, first=not history)
        dist = np.asarray(distance, dtype=np.float64).reshape(-1)
        lam = ood_mix(dist, low=self.ood_low, high=self.ood_high, top=self.ood_max)
        prior = self.clf.prior
        if history and self.history_prior is not None:
            prior = self.history_prior
        logits = raw["logits"] + (0.0 if prior is None else prior)
        p = softmax(logits / self.clf.temperature)
        p = (1.0 - lam[:, None]) * p + lam[:, None] / len(LABELS)
        va = p @ CIRCUMPLEX_ARRAY
        out = {"probabilities": p, "ood": lam, "distance": dist}
        out["valence"], out["arousal"] = va[:, 0], va[:, 1]
        for key, name in (("a", "arousal"), ("v", "valence")):
            if key in self.dims:
                t = self.dims[key][2]
                prob = 1.0 / (1.0 + np.exp(-np.clip(raw[key] / t, -50.0, 50.0)))
                prob = (1.0 - lam) * prob + lam * 0.5
                out[name] = RADIUS * (2.0 * prob - 1.0)
        return out

    def predict_all(
        self, x: np.ndarray, *, speaker_stats: SpeakerStats | None = None
    ) -> dict[str, np.ndarray]:
        """Everything the head says about feature rows ``x`` (n, d) or (d,).

        Returns
        -------
        dict
            ``probabilities`` (n, 7) calibrated, out-of-distribution mix applied;
            ``ood`` (n,) the mixed-in share of the uniform distribution; ``distance``
            (n,); ``valence``, ``arousal`` (n,) in [-1, 1].
        """
        x = self._check(x)
        history = speaker_stats is not None and speaker_stats.count >= 2
        if history and speaker_stats is not None and speaker_stats.mean is not None:
            history = speaker_stats.mean.shape == (self.feature_dim,)
        return self.outputs(
            self.normalise(x, speaker_stats=speaker_stats),
            self.ood_distance(x),
            history=history and self.speaker_norm,
        )

    def predict_features(
        self, x: np.ndarray, *, speaker_stats: SpeakerStats | None = None
    ) -> np.ndarray:
        """Calibrated probabilities, shape (n, 7), for feature rows of shape (n, d) or (d,)."""
        return self.predict_all(x, speaker_stats=speaker_stats)["probabilities"]

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
            The user's running feature statistics, already updated with this message
            (the service does so); without them the message is its own history.

        Returns
        -------
        EmotionEstimate
            ``source="voice"``; calibrated probabilities, the voice's own valence and
            arousal, confidence one minus the normalised entropy (as for the text head).
        """
        out = self.predict_all(self.features(states, y), speaker_stats=speaker_stats)
        est = EmotionEstimate.from_probabilities(out["probabilities"][0], source="voice")
        return replace(
            est,
            valence=float(np.clip(out["valence"][0], -1.0, 1.0)),
            arousal=float(np.clip(out["arousal"][0], -1.0, 1.0)),
        )


#: Pitch statistics (semitones re 100 Hz) that ``relative_pitch`` re-expresses relative to
#: the utterance's own median pitch ``f0_p50`` (which itself stays absolute).
RELATIVE_PITCH = ("f0_mean", "f0_p10", "f0_p90")


def transform_features(
    pooled: np.ndarray,
    prosody: np.ndarray | None,
    *,
    log_std: bool,
    prosody_keep: np.ndarray,
    relative_pitch: bool = False,
    instance_norm: bool = False,
) -> np.ndarray:
    """The head's feature rows from pooled states (n, 1024) and prosody (n, P) or None.

    ``log_std`` replaces the 512 standard deviations by ``log(std + 1e-3)``;
    ``instance_norm`` standardises the 512 state means of each row across their 512
    dimensions (per-utterance instance normalisation: removes the utterance's overall
    offset and scale of the encoder states); ``relative_pitch`` expresses the pitch
    mean and percentiles of :data:`RELATIVE_PITCH` relative to the utterance's median
    pitch; ``prosody_keep`` (P,) bool selects prosody entries. One-dimensional input
    gives one-dimensional output.
    """
    pooled = np.asarray(pooled, dtype=np.float64)
    single = pooled.ndim == 1
    pooled = np.atleast_2d(pooled)
    if pooled.shape[1] != 2 * STATE_DIM:
        raise ParameterError(f"pooled states have width {pooled.shape[1]}, expected 1024")
    means = pooled[:, :STATE_DIM]
    if instance_norm:
        means = (means - means.mean(axis=1, keepdims=True)) / (
            means.std(axis=1, keepdims=True) + 1e-8
        )
    parts = [means]
    std = pooled[:, STATE_DIM:]
    parts.append(np.log(np.maximum(std, 0.0) + 1e-3) if log_std else std)
    if prosody is not None:
        pros = np.atleast_2d(np.asarray(prosody, dtype=np.float64))
        keep = np.asarray(prosody_keep, dtype=bool)
        if pros.shape[1] != keep.shape[0]:
            raise ParameterError(f"prosody has width {pros.shape[1]}, expected {keep.shape[0]}")
        if relative_pitch:
            from moodtune.speech.prosody import PROSODY_NAMES

            if pros.shape[1] != len(PROSODY_NAMES):
                raise ParameterError("relative_pitch needs the full prosody vector")
            pros = pros.copy()
            median = pros[:, PROSODY_NAMES.index("f0_p50")]
            for name in RELATIVE_PITCH:
                pros[:, PROSODY_NAMES.index(name)] -= median
        parts.append(pros[:, keep])
    out = np.concatenate(parts, axis=1)
    return out[0] if single else out


_HEAD: SpeechEmotionHead | None = None


def get_speech_emotion_head() -> SpeechEmotionHead:
    """Return the shipped head, loaded once per process."""
    global _HEAD
    if _HEAD is None:
        _HEAD = SpeechEmotionHead.load()
    return _HEAD
