"""Per-second arousal/valence of music: descriptors per second and a calibrated linear model.

Each second ``k`` of a track (centre ``k + 0.5`` s) gets a descriptor vector from a 3 s window
around it: vibenet's seven perceptual outputs plus three acoustic arousal cues (RMS level in
dBFS, mean onset strength, spectral centroid in mel bands). A linear map of the standardised
descriptors, fitted to human per-second annotations (:mod:`moodtune.train.music_emotion`),
gives arousal and valence; the curves are clipped to [-1, 1] and smoothed over a few seconds,
as the annotations are. The fitted weights ship in ``moodtune/models/music_emotion.npz``.
"""

from __future__ import annotations

import importlib.resources
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodtune.errors import ModelError
from moodtune.music.vibe import FRAMES_PER_S, VIBE_LABELS, outputs_to_features, raw_outputs

log = logging.getLogger(__name__)

#: Names of the per-second descriptors, in column order.
DESCRIPTORS: tuple[str, ...] = (*VIBE_LABELS, "level_db", "onset", "centroid")
#: Length of the analysis window around each second, s.
WINDOW_S = 3.0
#: Curve hop, s.
HOP_S = 1.0
#: vibenet runs on every ``VIBE_STEP``-th second and is interpolated in between (its 3 s windows
#: overlap and the curves are smoothed over :attr:`EmotionModel.smooth_s` anyway; this halves
#: the model's cost, the largest part of the analysis time).
VIBE_STEP = 2
#: File name of the shipped calibration inside ``moodtune.models``.
MODEL_FILE = "music_emotion.npz"


def n_seconds(duration_s: float) -> int:
    """Number of curve points for a track of ``duration_s`` seconds (at least 1)."""
    return max(1, int(np.floor(duration_s + 0.5)))


def curve_descriptors(mel: np.ndarray, *, duration_s: float) -> np.ndarray:
    """Descriptors of each second of a track.

    Parameters
    ----------
    mel : np.ndarray, shape (128, n_frames)
        vibenet log-mel spectrogram (dB) of the whole track (:func:`moodtune.music.vibe.log_mel`).
    duration_s : float
        Track duration, s.

    Returns
    -------
    np.ndarray, shape (n_seconds, len(DESCRIPTORS)), float64
        vibenet features on [0, 1], level (dB of the mean mel power on vibenet's
        unnormalised scale: +6 dB per doubling of amplitude, -80 floor), onset strength (mean of
        librosa's spectral flux on the mel bands) and centroid (mel band index, 0-127).
    """
    import librosa

    n = n_seconds(duration_s)
    n_frames = mel.shape[1]
    power = librosa.db_to_power(mel)
    frame_db = 10.0 * np.log10(np.maximum(power.sum(axis=0) / mel.shape[0], 1e-8))
    onset = librosa.onset.onset_strength(S=mel, sr=16000, hop_length=320)
    bands = np.arange(mel.shape[0], dtype=np.float64)[:, None]
    centroid = (bands * power).sum(axis=0) / np.maximum(power.sum(axis=0), 1e-12)
    half = int(WINDOW_S * FRAMES_PER_S / 2)
    out = np.empty((n, len(DESCRIPTORS)), dtype=np.float64)
    n_vibe = len(VIBE_LABELS)
    vibe_at = sorted({*range(0, n, VIBE_STEP), n - 1})
    vibe = np.empty((len(vibe_at), n_vibe))
    for row, k in enumerate(vibe_at):
        centre = int((k + 0.5) * HOP_S * FRAMES_PER_S)
        lo = max(0, min(centre - half, n_frames - 2 * half))
        vibe[row] = outputs_to_features(raw_outputs(mel[:, lo : lo + 2 * half]))
    for col in range(n_vibe):
        out[:, col] = np.interp(np.arange(n), vibe_at, vibe[:, col])
    for k in range(n):
        centre = int((k + 0.5) * HOP_S * FRAMES_PER_S)
        lo = max(0, min(centre - half, n_frames - 2 * half))
        hi = min(n_frames, lo + 2 * half)
        # mean power of the window in dB (a level, not an average of dB values)
        out[k, -3] = 10.0 * np.log10(max(float(np.mean(10.0 ** (frame_db[lo:hi] / 10.0))), 1e-8))
        out[k, -2] = float(np.mean(onset[lo:hi])) if hi > lo else 0.0
        out[k, -1] = float(np.mean(centroid[lo:hi])) if hi > lo else 0.0
    out[:, -3] = np.maximum(out[:, -3], -80.0)
    return out


def smooth(curve: np.ndarray, *, width: int) -> np.ndarray:
    """Moving average over ``width`` points with edges held (``width`` <= 1: unchanged).

    Parameters
    ----------
    curve : np.ndarray, shape (n,)
    width : int
        Window length in curve points (seconds at hop 1 s).

    Returns
    -------
    np.ndarray, shape (n,)
    """
    if width <= 1 or curve.shape[0] < 2:
        return curve.copy()
    pad = width // 2
    padded = np.pad(curve, (pad, width - 1 - pad), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


@dataclass(frozen=True)
class EmotionModel:
    """Linear map from standardised per-second descriptors to arousal and valence.

    Attributes
    ----------
    mean, scale : np.ndarray, shape (n_descriptors,)
        Standardisation of the descriptors.
    coef : np.ndarray, shape (2, n_descriptors)
        Weights for arousal (row 0) and valence (row 1) on the standardised descriptors.
    intercept : np.ndarray, shape (2,)
    smooth_s : int
        Width of the moving average applied to the predicted curves, s.
    descriptors : tuple of str
        Descriptor names the weights belong to.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    smooth_s: int = 5
    descriptors: tuple[str, ...] = DESCRIPTORS

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arousal and valence curves from descriptors.

        Parameters
        ----------
        x : np.ndarray, shape (n_seconds, n_descriptors)

        Returns
        -------
        arousal, valence : np.ndarray, shape (n_seconds,)
            On [-1, 1].
        """
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        pred = z @ self.coef.T + self.intercept
        arousal = np.clip(smooth(pred[:, 0], width=self.smooth_s), -1.0, 1.0)
        valence = np.clip(smooth(pred[:, 1], width=self.smooth_s), -1.0, 1.0)
        return arousal, valence

    def save(self, path: Path) -> Path:
        """Write the weights to an ``.npz`` file (no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(
            buf,
            mean=self.mean,
            scale=self.scale,
            coef=self.coef,
            intercept=self.intercept,
            smooth_s=np.array(self.smooth_s),
            descriptors=np.array(self.descriptors),
        )
        path.write_bytes(buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> EmotionModel:
        """Load weights from ``path``, or the shipped calibration when ``path`` is None.

        Raises
        ------
        ModelError
            The file is missing, unreadable, or made for other descriptors.
        """
        try:
            if path is None:
                ref = importlib.resources.files("moodtune.models") / MODEL_FILE
                data: Any = np.load(io.BytesIO(ref.read_bytes()), allow_pickle=False)
            else:
                data = np.load(Path(path), allow_pickle=False)
            names = tuple(str(s) for s in data["descriptors"])
            model = cls(
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=np.asarray(data["intercept"], dtype=np.float64),
                smooth_s=int(data["smooth_s"]),
                descriptors=names,
            )
        except (OSError, KeyError, ValueError) as exc:
            where = path or f"moodtune/models/{MODEL_FILE}"
            raise ModelError(f"cannot load the music emotion model {where}: {exc}") from exc
        if names != DESCRIPTORS or model.coef.shape != (2, len(DESCRIPTORS)):
            raise ModelError(
                f"music emotion model {path or MODEL_FILE} was fitted on descriptors {names}, "
                f"this moodtune computes {DESCRIPTORS}; "
                "retrain it with `moodtune train music-emotion`"
            )
        return model


_default: EmotionModel | None = None


def default_model() -> EmotionModel:
    """The shipped calibration, loaded once."""
    global _default
    if _default is None:
        _default = EmotionModel.load()
    return _default
