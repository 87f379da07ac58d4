"""An approximate-nearest-neighbour index over feature vectors, grown incrementally.

:class:`VectorIndex` is an HNSW graph from `usearch <https://github.com/unum-cloud/usearch>`_
(half-precision vectors in the graph) plus a float32 copy of every vector, so a search
asks the graph for a shortlist and re-ranks it by the exact distance. Keys are row
numbers given in order of :meth:`VectorIndex.add`; :meth:`VectorIndex.remove` drops rows.
Used by :class:`moodtune.recommend.similar.SimilarIndex` and by the recommender's optional
candidate search (:class:`moodtune.recommend.index.AnnIndex`).

Why usearch: a wheel with no dependencies beyond numpy for every platform moodtune
targets (hnswlib ships only a source archive for Python 3.11 and needs a compiler;
faiss-cpu is a 30 MB wheel whose HNSW cannot delete), incremental ``add`` and ``remove``
by key, half-precision storage (memory bounded: about 70 bytes of graph per vector at
connectivity 12), and an index that can be saved and memory-mapped back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moodtune.errors import ParameterError


class VectorIndex:
    """Approximate k-NN by squared Euclidean distance, with exact re-ranking.

    Parameters
    ----------
    ndim : int
        Vector length.
    connectivity, expansion_add, expansion_search : int
        HNSW parameters (edges per node, beam width when adding and when searching).

    Raises
    ------
    ParameterError
        If usearch is not installed (``pip install 'moodtune[ann]'``).
    """

    def __init__(
        self,
        ndim: int,
        *,
        connectivity: int = 12,
        expansion_add: int = 48,
        expansion_search: int = 96,
    ) -> None:
        try:
            from usearch.index import Index
        except ImportError:  # pragma: no cover - depends on the install
            raise ParameterError(
                "an approximate-nearest-neighbour index needs usearch: pip install 'moodtune[ann]'"
            ) from None
        self.ndim = int(ndim)
        self._index: Any = Index(
            ndim=self.ndim,
            metric="l2sq",
            dtype="f16",
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        self._x = np.zeros((0, self.ndim), dtype=np.float32)  # by key, for re-ranking
        self._live = np.zeros(0, dtype=bool)  # by key
        self._n_live = 0
        self.threads = 1

    def __len__(self) -> int:
        """Live (not removed) vectors."""
        return self._n_live

    @property
    def size(self) -> int:
        """Keys handed out so far (removed ones included): the next key is this."""
        return int(self._x.shape[0])

    @property
    def memory_bytes(self) -> int:
        """Bytes of the graph with its half-precision vectors plus the float32 copy."""
        return int(self._index.memory_usage) + int(self._x.nbytes) + int(self._live.nbytes)

    @property
    def vectors(self) -> np.ndarray:
        """Every vector by key, float32 (m, ndim); removed keys keep their old vector."""
        return self._x

    def add(self, vectors: np.ndarray, *, batch: int = 100_000) -> np.ndarray:
        """Append vectors (m, ndim); return their keys (consecutive int64)."""
        v = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, self.ndim))
        if not np.all(np.isfinite(v)):
            raise ParameterError("vectors must be finite numbers")
        start = self.size
        self._x = np.concatenate([self._x, v])
        self._live = np.concatenate([self._live, np.ones(v.shape[0], dtype=bool)])
        for lo in range(0, v.shape[0], batch):
            hi = min(lo + batch, v.shape[0])
            keys = np.arange(start + lo, start + hi, dtype=np.uint64)
            self._index.add(keys, v[lo:hi], threads=self.threads)
        self._n_live += int(v.shape[0])
        return np.arange(start, start + v.shape[0], dtype=np.int64)

    def remove(self, keys: np.ndarray) -> None:
        """Drop the given keys (unknown or already removed keys are ignored)."""
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        keys = keys[(keys >= 0) & (keys < self.size)]
        keys = np.unique(keys[self._live[keys]])
        if keys.size:
            self._index.remove(keys.astype(np.uint64))
            self._live[keys] = False
            self._n_live -= int(keys.size)

    def search(
        self, queries: np.ndarray, count: int, *, k: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Shortlist ``count`` keys per query from the graph, re-ranked exactly.

        Parameters
        ----------
        queries : np.ndarray
            Shape (u, ndim) (or (ndim,)).
        count : int
            Candidates asked of the graph per query.
        k : int, optional
            Keep the best ``k`` of them (default all).

        Returns
        -------
        keys : np.ndarray
            Shape (u, min(k, count)) int64, nearest first; ``-1`` pads where the graph
            returned fewer.
        distance : np.ndarray
            Matching exact Euclidean distances (``inf`` at the padding).
        """
        q = np.asarray(queries, dtype=np.float32).reshape(-1, self.ndim)
        u = q.shape[0]
        count = max(1, min(int(count), len(self)))
        keep = count if k is None else max(1, min(int(k), count))
        if len(self) == 0 or u == 0:
            return np.full((u, 0), -1, dtype=np.int64), np.zeros((u, 0))
        found = self._index.search(q if u > 1 else q[0], count, threads=self.threads)
        if u == 1:  # one query: Matches, only the keys found
            keys = np.asarray(found.keys, dtype=np.int64).reshape(1, -1)
            counts = np.array([keys.shape[1]], dtype=np.int64)
        else:
            keys = np.asarray(found.keys, dtype=np.int64).reshape(u, -1)
            counts = np.asarray(found.counts, dtype=np.int64).reshape(u)
        valid = np.arange(keys.shape[1])[None, :] < counts[:, None]
        safe = np.where(valid, keys, 0)
        diff = self._x[safe].astype(np.float64) - q.astype(np.float64)[:, None, :]
        dist = np.sqrt(np.sum(diff * diff, axis=2))
        dist = np.where(valid, dist, np.inf)
        order = np.argsort(dist, axis=1, kind="stable")[:, :keep]
        keys = np.where(valid, keys, -1)
        return np.take_along_axis(keys, order, 1), np.take_along_axis(dist, order, 1)

    def exact_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The exact ``k`` nearest live keys by brute force, as :meth:`search` (for recall)."""
        q = np.asarray(queries, dtype=np.float64).reshape(-1, self.ndim)
        x = self._x.astype(np.float64)
        k = max(1, min(int(k), len(self)))
        keys_out = np.empty((q.shape[0], k), dtype=np.int64)
        dist_out = np.empty((q.shape[0], k))
        sq = np.sum(x * x, axis=1)
        for i, qi in enumerate(q):
            d = np.sqrt(np.maximum(sq - 2.0 * x @ qi + qi @ qi, 0.0))
            d[~self._live] = np.inf
            part = np.argpartition(d, k - 1)[:k]
            part = part[np.argsort(d[part], kind="stable")]
            keys_out[i], dist_out[i] = part, d[part]
        return keys_out, dist_out
