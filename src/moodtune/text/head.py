"""A small numpy classifier head: standardise, one hidden ReLU layer (optional), softmax.

The weights live in a plain ``.npz`` (no pickle) with these arrays:

``mean``, ``scale``
    shape (d,), input standardisation
``W1``, ``b1``
    shape (d, h), (h,) — absent for a linear head
``W2``, ``b2``
    shape (h or d, 7), (7,)
``temperature``
    shape (), softmax temperature fitted on validation data
``labels``
    shape (7,), the label names, must equal :data:`moodtune.types.LABELS`
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodtune.errors import ModelError
from moodtune.types import LABELS


class MLPHead:
    """Inference for a head saved by :mod:`moodtune.train`.

    Parameters
    ----------
    arrays : dict of np.ndarray
        The arrays described in the module docstring.
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        try:
            labels = tuple(str(x) for x in arrays["labels"])
            self.mean = np.asarray(arrays["mean"], dtype=np.float32)
            self.scale = np.asarray(arrays["scale"], dtype=np.float32)
            self.W2 = np.asarray(arrays["W2"], dtype=np.float32)
            self.b2 = np.asarray(arrays["b2"], dtype=np.float32)
            self.temperature = float(arrays.get("temperature", np.float32(1.0)))
        except KeyError as exc:
            raise ModelError(f"head weights lack the array {exc}; retrain the head") from exc
        if labels != LABELS:
            raise ModelError(f"head labels {labels} differ from moodtune's {LABELS}; retrain it")
        self.W1 = np.asarray(arrays["W1"], dtype=np.float32) if "W1" in arrays else None
        self.b1 = np.asarray(arrays["b1"], dtype=np.float32) if "b1" in arrays else None
        self.meta = {k: v for k, v in arrays.items() if k.startswith("meta_")}

    @classmethod
    def load(cls, path: Path) -> MLPHead:
        """Load a head from an ``.npz`` file (``allow_pickle=False``).

        Raises
        ------
        ModelError
            If the file is missing or unreadable.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls({k: data[k] for k in data.files})
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read head weights {path}: {exc}") from exc

    @property
    def input_dim(self) -> int:
        """Width of the input features."""
        return int(self.mean.shape[0])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Return raw logits, shape (n, 7), for inputs of shape (n, d)."""
        z = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        if self.W1 is not None and self.b1 is not None:
            z = np.maximum(z @ self.W1 + self.b1, 0.0)
        return np.asarray(z @ self.W2 + self.b2)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities, shape (n, 7), rows sum to 1."""
        logits = self.logits(np.atleast_2d(x)) / self.temperature
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of shape (n, k) logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    return np.asarray(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of shape (n, k) logits."""
    return np.asarray(np.exp(log_softmax(logits)))
