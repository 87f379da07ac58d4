"""Per-second arousal/valence of music: vibenet embeddings of sliding windows and linear heads.

Every ``VIBE_STEP``-th second ``k`` of a track (centre ``k + 0.5`` s) gets a 3 s log-mel window
around it. vibenet's ONNX network runs on the window and gives its seven perceptual outputs and
its pooled 1,280-d backbone vector (:func:`moodtune.music.vibe.embed`). Two separate linear heads
on the standardised vector (plus vibenet's own outputs) give an arousal and a valence score;
``tanh`` puts them on [-1, 1]. The heads were trained on whole clips (the mean of their window
vectors), so the mean of a track's window scores is the clip-level score and the curve is the
same model read over time (:mod:`moodtune.train.music_emotion`; weights in
``moodtune/models/music_emotion.npz``). The curve is interpolated to every second and smoothed
over a few seconds.

Silent seconds (RMS below :data:`SILENCE_DBFS`, or far below the track's loud parts) are
marked, carry the nearest sounding second's values instead of being read as "sad", and are
left out of the track's means.
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
from moodtune.music.vibe import (
    EMBEDDING_DIM,
    FRAMES_PER_S,
    VIBE_LABELS,
    VIBE_SR,
    embed,
    outputs_to_features,
)

log = logging.getLogger(__name__)

#: Length of the analysis window around each second, s.
WINDOW_S = 3.0
#: Curve hop, s.
HOP_S = 1.0
#: vibenet runs on every ``VIBE_STEP``-th second and is interpolated in between (its 3 s windows
#: overlap and the curves are smoothed over :attr:`EmotionModel.smooth_s` anyway; this halves
#: the model's cost, the largest part of the analysis time).
VIBE_STEP = 2
#: Acoustic descriptors of each window (:func:`second_descriptors`), after vibenet's outputs.
ACOUSTIC: tuple[str, ...] = ("level_db", "onset", "centroid", "log_flatness")
#: Model inputs per window: the backbone vector, vibenet's seven outputs on [0, 1], then
#: :data:`ACOUSTIC`.
N_INPUTS = EMBEDDING_DIM + len(VIBE_LABELS) + len(ACOUSTIC)
#: A second whose RMS level is below this is silent, dBFS (about -60 LUFS).
SILENCE_DBFS = -60.0
#: A second this far below the track's loud level (95th percentile of its seconds) is a fade
#: or a pause and is marked silent too, dB.
FADE_DB = 45.0
#: Standardised inputs are clipped to this many standard deviations, in training and use alike:
#: sounds unlike any training clip (a pure synthetic chord put 1,200 of the 1,280 embedding
#: values beyond 5 SD, up to 150) would otherwise swing the linear scores to +-1.
Z_CLIP = 4.0
#: File name of the shipped model inside ``moodtune.models``.
MODEL_FILE = "music_emotion.npz"
#: Format tag stored in the model file.
MODEL_FORMAT = "vibenet-embedding-linear-v2"


def n_seconds(duration_s: float) -> int:
    """Number of curve points for a track of ``duration_s`` seconds (at least 1)."""
    return max(1, int(np.floor(duration_s + 0.5)))


def second_levels(y16: np.ndarray, *, duration_s: float) -> np.ndarray:
    """RMS level of each second of 16 kHz audio, dBFS (floor -120).

    Parameters
    ----------
    y16 : np.ndarray, shape (n,)
        Mono audio at 16 kHz.
    duration_s : float
        Track duration, s.

    Returns
    -------
    np.ndarray, shape (n_seconds(duration_s),)
    """
    n = n_seconds(duration_s)
    y = np.asarray(y16, dtype=np.float64)
    out = np.full(n, -120.0)
    for k in range(n):
        seg = y[k * VIBE_SR : (k + 1) * VIBE_SR]
        if seg.size:
            out[k] = 10.0 * np.log10(max(float(np.mean(seg * seg)), 1e-12))
    return out


def silent_mask(levels_db: np.ndarray) -> np.ndarray:
    """Which seconds are silent: below :data:`SILENCE_DBFS` or :data:`FADE_DB` under the loud level.

    Parameters
    ----------
    levels_db : np.ndarray, shape (n,)
        From :func:`second_levels`.

    Returns
    -------
    np.ndarray, shape (n,), bool
    """
    levels_db = np.asarray(levels_db, dtype=np.float64)
    if levels_db.size == 0:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(levels_db, 95))
    return (levels_db < SILENCE_DBFS) | (levels_db < loud - FADE_DB)


def second_descriptors(y16: np.ndarray, mel: np.ndarray, *, duration_s: float) -> np.ndarray:
    """Acoustic arousal cues of each second: level, onset strength, centroid, flatness.

    Parameters
    ----------
    y16 : np.ndarray, shape (n,)
        Mono audio at 16 kHz.
    mel : np.ndarray, shape (128, n_frames)
        Its vibenet log-mel spectrogram (:func:`moodtune.music.vibe.log_mel`).
    duration_s : float
        Track duration, s.

    Returns
    -------
    np.ndarray, shape (n_seconds, 4)
        RMS level (dBFS, :func:`second_levels`), mean onset strength (librosa's spectral flux
        on the log-mel bands), mean spectral centroid (mel band index 0-127) and mean spectral
        flatness (0-1) of each second.
    """
    import librosa

    n = n_seconds(duration_s)
    onset = librosa.onset.onset_strength(S=mel, sr=VIBE_SR, hop_length=320)
    bands = np.arange(mel.shape[0], dtype=np.float32)[:, None]
    n_frames = mel.shape[1]
    centroid = np.zeros(n_frames)
    flatness = np.zeros(n_frames)
    for f0 in range(0, n_frames, 3000):  # in blocks: a long track's full-size copies add up
        power = librosa.db_to_power(mel[:, f0 : f0 + 3000])
        centroid[f0 : f0 + 3000] = (bands * power).sum(axis=0) / np.maximum(
            power.sum(axis=0), 1e-12
        )
        # librosa.feature.spectral_flatness(S=power) (its power=2 squares S once more)
        flatness[f0 : f0 + 3000] = librosa.feature.spectral_flatness(S=power)[0]
    out = np.zeros((n, 4))
    out[:, 0] = second_levels(y16, duration_s=duration_s)
    for col, frames in ((1, onset), (2, centroid), (3, flatness)):
        for k in range(n):
            seg = frames[k * FRAMES_PER_S : (k + 1) * FRAMES_PER_S]
            out[k, col] = float(seg.mean()) if seg.size else 0.0
    return out


def window_acoustics(per_second: np.ndarray, at: np.ndarray) -> np.ndarray:
    """:data:`ACOUSTIC` of the 3 s windows centred on seconds ``at``.

    Parameters
    ----------
    per_second : np.ndarray, shape (n_seconds, 4)
        From :func:`second_descriptors`.
    at : np.ndarray, shape (m,), int
        Window centres (second indices).

    Returns
    -------
    np.ndarray, shape (m, 4)
        Level of the window's mean power (dBFS, floor -80), mean onset strength, mean
        centroid and the log of the mean flatness.
    """
    n = per_second.shape[0]
    out = np.zeros((len(at), 4))
    for row, k in enumerate(at):
        seg = per_second[max(0, k - 1) : min(n, k + 2)]
        power = float(np.mean(10.0 ** (seg[:, 0] / 10.0)))
        out[row, 0] = max(10.0 * np.log10(max(power, 1e-12)), -80.0)
        out[row, 1] = float(seg[:, 1].mean())
        out[row, 2] = float(seg[:, 2].mean())
        out[row, 3] = float(np.log(seg[:, 3].mean() + 1e-6))
    return out


@dataclass
class WindowFeatures:
    """vibenet's view of the windows of one track.

    Attributes
    ----------
    at : np.ndarray, shape (m,), int
        Second index of each window (its centre is ``at + 0.5`` s).
    vibe : np.ndarray, shape (m, 7)
        vibenet's outputs on [0, 1] (:data:`moodtune.music.vibe.VIBE_LABELS` order).
    view : np.ndarray, shape (m, 1280)
        The pooled backbone vector of each window.
    n_seconds : int
        Curve length the windows describe.
    acoustic : np.ndarray, shape (m, 4)
        :data:`ACOUSTIC` of each window (:func:`window_acoustics`).
    """

    at: np.ndarray
    vibe: np.ndarray
    view: np.ndarray
    n_seconds: int
    acoustic: np.ndarray

    def inputs(self) -> np.ndarray:
        """Model inputs of each window, shape (m, :data:`N_INPUTS`)."""
        return np.hstack([self.view, self.vibe, self.acoustic])


def window_features(
    mel: np.ndarray,
    *,
    duration_s: float,
    y16: np.ndarray,
    step: int = VIBE_STEP,
    per_second: np.ndarray | None = None,
) -> WindowFeatures:
    """Run vibenet on the 3 s window around every ``step``-th second (and the last one).

    Parameters
    ----------
    mel : np.ndarray, shape (128, n_frames)
        vibenet log-mel spectrogram (dB) of the whole track (:func:`moodtune.music.vibe.log_mel`).
    duration_s : float
        Track duration, s.
    y16 : np.ndarray, shape (n,)
        The audio at 16 kHz (for the levels).
    step : int
        Seconds between windows.
    per_second : np.ndarray, shape (n_seconds, 4), optional
        :func:`second_descriptors`, when already computed.

    Returns
    -------
    WindowFeatures
    """
    n = n_seconds(duration_s)
    n_frames = mel.shape[1]
    half = int(WINDOW_S * FRAMES_PER_S / 2)
    at = np.array(sorted({*range(0, n, max(1, step)), n - 1}), dtype=int)
    width = min(2 * half, n_frames)
    windows = np.empty((at.size, mel.shape[0], width), dtype=np.float32)
    for row, k in enumerate(at):
        centre = int((k + 0.5) * HOP_S * FRAMES_PER_S)
        lo = max(0, min(centre - half, n_frames - width))
        windows[row] = mel[:, lo : lo + width]
    raw, view = embed(windows)
    if per_second is None:
        per_second = second_descriptors(y16, mel, duration_s=duration_s)
    return WindowFeatures(
        at=at,
        vibe=outputs_to_features(raw),
        view=view,
        n_seconds=n,
        acoustic=window_acoustics(per_second, at),
    )


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


def _hold_over(curve: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Replace silent points by the values of the sounding points around them."""
    if not silent.any() or silent.all():
        return curve
    idx = np.arange(curve.size)
    return np.interp(idx, idx[~silent], curve[~silent])


@dataclass(frozen=True)
class EmotionModel:
    """Linear arousal and valence heads on standardised window inputs.

    ``score = clip((x - mean) / scale, -Z_CLIP, Z_CLIP) @ coef.T + intercept``; arousal and
    valence are ``tanh(score)``, so a score of 0 is the boundary between the halves of the
    circumplex.

    Attributes
    ----------
    mean, scale : np.ndarray, shape (N_INPUTS,)
        Standardisation of the inputs (:meth:`WindowFeatures.inputs`).
    coef : np.ndarray, shape (2, N_INPUTS)
        Weights for arousal (row 0) and valence (row 1).
    intercept : np.ndarray, shape (2,)
    smooth_s : int
        Width of the moving average applied to the per-second curves, s.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    smooth_s: int = 5

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Linear scores of inputs, shape (m, 2): arousal, valence (unbounded)."""
        z = np.clip((np.asarray(x, dtype=np.float64) - self.mean) / self.scale, -Z_CLIP, Z_CLIP)
        return np.asarray(z @ self.coef.T + self.intercept)

    def predict_windows(self, x: np.ndarray) -> np.ndarray:
        """Arousal and valence of each window on [-1, 1], shape (m, 2)."""
        return np.tanh(self.scores(x))

    def curve(
        self, windows: WindowFeatures, *, silent: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-second arousal and valence of a track.

        Parameters
        ----------
        windows : WindowFeatures
        silent : np.ndarray, shape (n_seconds,), bool, optional
            Silent seconds (:func:`silent_mask`): they take the values of the sounding seconds
            around them instead of their own.

        Returns
        -------
        arousal, valence : np.ndarray, shape (n_seconds,)
            On [-1, 1].
        """
        n = windows.n_seconds
        pred = self.predict_windows(windows.inputs())
        secs = np.arange(n)
        out = []
        for dim in range(2):
            c = np.interp(secs, windows.at, pred[:, dim])
            if silent is not None and silent.shape == (n,):
                c = _hold_over(c, silent)
            out.append(np.clip(smooth(c, width=self.smooth_s), -1.0, 1.0))
        return out[0], out[1]

    def save(self, path: Path) -> Path:
        """Write the weights to an ``.npz`` file (no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(
            buf,
            mean=self.mean.astype(np.float32),
            scale=self.scale.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept,
            smooth_s=np.array(self.smooth_s),
            format=np.array(MODEL_FORMAT),
        )
        path.write_bytes(buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> EmotionModel:
        """Load weights from ``path``, or the shipped model when ``path`` is None.

        Raises
        ------
        ModelError
            The file is missing, unreadable, or made for other inputs.
        """
        where = path or f"moodtune/models/{MODEL_FILE}"
        try:
            if path is None:
                ref = importlib.resources.files("moodtune.models") / MODEL_FILE
                data: Any = np.load(io.BytesIO(ref.read_bytes()), allow_pickle=False)
            else:
                data = np.load(Path(path), allow_pickle=False)
            fmt = str(data["format"]) if "format" in data.files else "v1"
            model = cls(
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=np.asarray(data["intercept"], dtype=np.float64),
                smooth_s=int(data["smooth_s"]),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"cannot load the music emotion model {where}: {exc}") from exc
        if fmt != MODEL_FORMAT or model.coef.shape != (2, N_INPUTS):
            raise ModelError(
                f"music emotion model {where} has format {fmt!r} and weights of shape "
                f"{model.coef.shape}; this moodtune needs {MODEL_FORMAT!r} with (2, {N_INPUTS}): "
                "retrain it with `moodtune train music-emotion`"
            )
        return model


_default: EmotionModel | None = None


def default_model() -> EmotionModel:
    """The shipped model, loaded once."""
    global _default
    if _default is None:
        _default = EmotionModel.load()
    return _default
