"""Reusable validation of audio arrays at the edge (in the spirit of librosa's ``valid_audio``)."""

from __future__ import annotations

import numpy as np

from moodtune.errors import ParameterError


def valid_mono(y: np.ndarray) -> np.ndarray:
    """Validate mono audio and return it as contiguous float32.

    Parameters
    ----------
    y : np.ndarray
        Shape (n,), floating point samples.

    Raises
    ------
    ParameterError
        If ``y`` is not 1-D, not floating point, empty, or holds NaN/inf.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"audio must be mono with shape (n,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"audio must be floating point, got dtype {y.dtype}")
    if y.size == 0:
        raise ParameterError("audio is empty (0 samples)")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio holds NaN or infinite samples")
    return np.ascontiguousarray(y, dtype=np.float32)
