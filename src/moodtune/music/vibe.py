"""vibenet's pretrained ONNX model (GPL-3) run on log-mel windows.

vibenet predicts seven Spotify-style perceptual features from a 16 kHz log-mel spectrogram
(128 bands, hop 20 ms). Its own ``EfficientNetModel`` builds the session without its thread
options, so moodtune opens the same ONNX file itself with one thread (scans parallelise over
files instead) and reuses vibenet's mel front end, so the inputs match what it was trained on.
"""

from __future__ import annotations

import importlib.resources
import logging
import threading
import warnings
from typing import Any

import numpy as np

from moodtune.errors import MissingDependencyError

log = logging.getLogger(__name__)

#: Sample rate the vibenet model expects, Hz.
VIBE_SR = 16000
#: Mel frames per second of vibenet's front end (hop 320 samples at 16 kHz).
FRAMES_PER_S = 50
#: The model's outputs, in order.
VIBE_LABELS: tuple[str, ...] = (
    "acousticness",
    "danceability",
    "energy",
    "instrumentalness",
    "liveness",
    "speechiness",
    "valence",
)
#: Outputs that are logits of a likelihood (squashed by a sigmoid); the rest are clipped to [0, 1].
_LIKELIHOODS = frozenset({"acousticness", "liveness", "instrumentalness"})
_SIGMOID = np.array([lbl in _LIKELIHOODS for lbl in VIBE_LABELS])

_session: Any = None
_lock = threading.Lock()


def _get_session() -> Any:
    global _session
    with _lock:
        if _session is None:
            try:
                import onnxruntime as ort
            except ImportError as exc:  # pragma: no cover - a base dependency
                raise MissingDependencyError(
                    "music analysis needs onnxruntime: pip install 'moodtune'"
                ) from exc
            try:
                model = importlib.resources.files("vibenet.artifacts") / "efficientnet_model.onnx"
            except ModuleNotFoundError as exc:
                raise MissingDependencyError(
                    "music analysis needs vibenet: pip install 'vibenet==0.1.0'"
                ) from exc
            so = ort.SessionOptions()
            model_bytes = _with_embedding_outputs(model.read_bytes())
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            _session = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
            log.debug("vibenet ONNX session loaded from %s", model)
        return _session


#: Internal tensors of vibenet's graph exposed as extra outputs: the pooled EfficientNet-B0
#: backbone vector (the input of ``trunk.0``) and the 256-d trunk output feeding the heads.
EMBEDDING_OUTPUTS: tuple[str, ...] = ("view", "gelu")
#: Width of the backbone embedding (:func:`embed`).
EMBEDDING_DIM = 1280


def _with_embedding_outputs(model_bytes: bytes) -> bytes:
    """Return vibenet's ONNX model with :data:`EMBEDDING_OUTPUTS` added to its outputs."""
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise MissingDependencyError("music analysis needs onnx: pip install 'moodtune'") from exc
    proto = onnx.load_from_string(model_bytes)
    have = {o.name for o in proto.graph.output}
    produced = {name for node in proto.graph.node for name in node.output}
    for name in EMBEDDING_OUTPUTS:
        if name not in produced:
            raise MissingDependencyError(
                f"vibenet's ONNX graph has no tensor {name!r}: moodtune needs vibenet==0.1.0"
            )
        if name not in have:
            proto.graph.output.append(
                onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
            )
    return bytes(proto.SerializeToString())


#: vibenet front end: hop and window in samples at 16 kHz, and the dB range kept.
_HOP, _WIN, _TOP_DB = 320, 640, 80.0
#: Frames per block when computing long spectrograms (60 s: bounds the FFT buffers).
_BLOCK_FRAMES = 3000


def log_mel(y16: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram of 16 kHz audio with vibenet's own front end.

    Long audio is processed in 60 s blocks of whole frames (vibenet frames are
    independent), then the 80 dB floor is applied against the global maximum, so the result
    equals one call on the whole signal with a fraction of the memory.

    Parameters
    ----------
    y16 : np.ndarray, shape (n,), float32
        Mono audio at :data:`VIBE_SR`.

    Returns
    -------
    np.ndarray, shape (128, n_frames), float32
        Power in dB (top 80 dB), :data:`FRAMES_PER_S` frames per second.
    """
    with warnings.catch_warnings():  # vibenet.core imports pydub, which warns without ffmpeg
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from vibenet.core import extract_mel

    y16 = np.asarray(y16, dtype=np.float32)
    n_frames = 1 + max(0, y16.shape[0] - _WIN) // _HOP
    if n_frames <= _BLOCK_FRAMES:
        return np.ascontiguousarray(extract_mel(y16, VIBE_SR))
    blocks = []
    for f0 in range(0, n_frames, _BLOCK_FRAMES):
        f1 = min(n_frames, f0 + _BLOCK_FRAMES)
        blocks.append(extract_mel(y16[f0 * _HOP : (f1 - 1) * _HOP + _WIN], VIBE_SR))
    mel = np.concatenate(blocks, axis=1)
    return np.ascontiguousarray(np.maximum(mel, mel.max() - _TOP_DB), dtype=np.float32)


def raw_outputs(mel: np.ndarray) -> np.ndarray:
    """Run the model on one log-mel window and return its raw outputs.

    Parameters
    ----------
    mel : np.ndarray, shape (128, n_frames)
        A window from :func:`log_mel`; at least 32 frames (0.64 s).

    Returns
    -------
    np.ndarray, shape (7,), float64
        Logits (likelihood outputs) or raw regression values, in :data:`VIBE_LABELS` order.
    """
    if mel.shape[1] < 32:
        mel = np.pad(mel, ((0, 0), (0, 32 - mel.shape[1])), constant_values=float(mel.min()))
    out = _get_session().run(["out"], {"x": mel[np.newaxis].astype(np.float32, copy=False)})
    return np.asarray(out[0][0], dtype=np.float64)


def embed(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the model on a batch of equal-length log-mel windows: outputs and embeddings.

    Parameters
    ----------
    windows : np.ndarray, shape (n_windows, 128, n_frames)
        Windows from :func:`log_mel`; shorter than 32 frames are padded.

    Returns
    -------
    raw : np.ndarray, shape (n_windows, 7), float64
        As :func:`raw_outputs`.
    view : np.ndarray, shape (n_windows, EMBEDDING_DIM), float64
        The pooled backbone vector of each window.
    """
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 3 or windows.shape[1] != 128:
        raise ValueError(f"windows of shape {windows.shape} must be (n, 128, n_frames)")
    if windows.shape[2] < 32:
        pad = ((0, 0), (0, 0), (0, 32 - windows.shape[2]))
        windows = np.pad(windows, pad, constant_values=float(windows.min()))
    session = _get_session()
    raw = np.empty((windows.shape[0], len(VIBE_LABELS)))
    view = np.empty((windows.shape[0], EMBEDDING_DIM))
    for i in range(windows.shape[0]):  # the exported graph's batch size is fixed at 1
        out, vec = session.run(["out", "view"], {"x": windows[i : i + 1]})
        raw[i], view[i] = out[0], vec[0]
    return raw, view


def outputs_to_features(raw: np.ndarray) -> np.ndarray:
    """Map raw outputs to feature values on Spotify's [0, 1] scales.

    Parameters
    ----------
    raw : np.ndarray, shape (..., 7)
        Raw outputs from :func:`raw_outputs`.

    Returns
    -------
    np.ndarray, shape (..., 7)
        Sigmoid of the likelihood logits, the other values clipped to [0, 1].
    """
    raw = np.asarray(raw, dtype=np.float64)
    return np.where(_SIGMOID, 1.0 / (1.0 + np.exp(-raw)), np.clip(raw, 0.0, 1.0))
