"""Shared plumbing of the optional Hugging Face backends (extra ``moodtune[hf]``).

The backends (:mod:`moodtune.text.backends.rubert`, :mod:`moodtune.speech.backends.hubert`,
:mod:`moodtune.speech.asr_backends.transformers_whisper`) import torch and transformers
only through :func:`require_hf`, inside their ``load()``, so the default install never
needs them. This module itself imports neither at import time.

Weights come from ``from_pretrained``: a Hugging Face hub id (downloaded and cached by
``huggingface_hub`` where a network exists; ``HF_HUB_OFFLINE=1`` uses the cache only) or a
local directory written by ``save_pretrained``. A failed load becomes a
:class:`~moodtune.errors.ModelError` that names the model and says what to do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from moodtune.errors import ModelError, ParameterError, missing_extra
from moodtune.types import LABELS, canonical_label

T = TypeVar("T")


def require_hf() -> tuple[ModuleType, ModuleType]:
    """Import and return ``(torch, transformers)``.

    Raises
    ------
    MissingDependencyError
        If either is not installed (the message names ``pip install 'moodtune[hf]'``).
    """
    try:
        torch = importlib.import_module("torch")
    except ImportError as exc:
        raise missing_extra("torch", "hf") from exc
    try:
        transformers = importlib.import_module("transformers")
    except ImportError as exc:
        raise missing_extra("transformers", "hf") from exc
    return torch, transformers


def resolve_device(torch: ModuleType, device: str) -> Any:
    """Return a ``torch.device`` for ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Raises
    ------
    ParameterError
        If the name is not a device torch knows or the device is not available.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(
            f"device={device!r} is not a torch device; use 'cpu' or 'cuda'"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} asked for, but torch sees no CUDA device")
    return dev


def from_pretrained(factory: Callable[..., T], model: str, what: str, **kwargs: Any) -> T:
    """Call ``factory(model, **kwargs)`` (a ``from_pretrained``), turning failures into errors.

    Parameters
    ----------
    factory : callable
        E.g. ``AutoTokenizer.from_pretrained``.
    model : str
        Hub id or local directory.
    what : str
        Human name of the part, for the message (``"tokenizer"``).

    Raises
    ------
    ModelError
        If the files cannot be found, fetched or read.
    """
    try:
        return factory(model, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"cannot load the {what} of {model!r}: {exc}. Pass a local directory written by "
            "save_pretrained, or a hub id that is in the Hugging Face cache or reachable online"
        ) from exc


def label_index_map(
    id2label: Mapping[int, str] | Mapping[str, str],
    aliases: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Map a model's class indices onto :data:`~moodtune.types.LABELS` positions.

    Parameters
    ----------
    id2label : mapping
        The model config's ``id2label`` (keys may be ints or digit strings).
    aliases : mapping, optional
        Extra model-specific names (``{"neu": "neutral"}``), tried before
        :func:`~moodtune.types.canonical_label`.

    Returns
    -------
    numpy.ndarray
        Shape (n_classes,), int: the position in ``LABELS`` of each model class.

    Raises
    ------
    ModelError
        If a class name maps onto none of the seven labels, or indices have gaps.
    """
    names = {int(k): str(v) for k, v in id2label.items()}
    if sorted(names) != list(range(len(names))):
        raise ModelError(f"id2label must number classes 0..n-1, got {sorted(names)}")
    extra = {k.lower(): v for k, v in (aliases or {}).items()}
    out = np.empty(len(names), dtype=np.int64)
    for idx, name in names.items():
        key = name.strip().lower()
        try:
            label = extra[key] if key in extra else canonical_label(key)
        except ParameterError as exc:
            raise ModelError(
                f"model class {idx} {name!r} has no moodtune label; known: "
                f"{', '.join(sorted(set(extra) | {'joy', 'no_emotion', *LABELS}))}"
            ) from exc
        out[idx] = LABELS.index(label)
    return out


def scores_to_probabilities(scores: np.ndarray, index_map: np.ndarray) -> np.ndarray:
    """Sum a model's per-class scores into the seven labels and normalise each row.

    Labels the model has no class for get probability 0.

    Parameters
    ----------
    scores : numpy.ndarray
        Shape (n, n_classes) or (n_classes,), non-negative (softmax or sigmoid outputs).
    index_map : numpy.ndarray
        From :func:`label_index_map`.

    Returns
    -------
    numpy.ndarray
        Shape (n, 7) (or (7,) for a 1-D input), rows summing to 1; a row of all-zero
        scores becomes uniform over the model's labels.
    """
    s = np.asarray(scores, dtype=np.float64)
    one = s.ndim == 1
    s = np.atleast_2d(s)
    if s.shape[1] != index_map.shape[0]:
        raise ModelError(f"the model gave {s.shape[1]} scores for {index_map.shape[0]} classes")
    s = np.clip(np.nan_to_num(s, nan=0.0, posinf=1.0, neginf=0.0), 0.0, None)
    out = np.zeros((s.shape[0], len(LABELS)))
    for j, label in enumerate(index_map):
        out[:, label] += s[:, j]
    totals = out.sum(axis=1, keepdims=True)
    covered = np.zeros(len(LABELS))
    covered[np.unique(index_map)] = 1.0
    out = np.where(totals > 0, out / np.where(totals > 0, totals, 1.0), covered / covered.sum())
    return out[0] if one else out


def split_windows(n: int, window: int) -> Sequence[tuple[int, int]]:
    """Split ``range(n)`` into balanced windows of at most ``window`` samples.

    Returns
    -------
    list of (start, stop)
        Consecutive, covering ``0..n``; all of nearly equal length.
    """
    if window <= 0:
        raise ParameterError(f"window={window} must be a positive number of samples")
    count = max(1, -(-n // window))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
