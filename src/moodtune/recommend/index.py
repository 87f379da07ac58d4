"""Exact nearest-neighbour search over a large feature matrix, fast per request.

:class:`GridIndex` rotates the rows of a feature matrix onto their principal axes (a
rotation keeps every Euclidean distance) and sorts them by the cell of a grid over the
first few axes (quantile edges, so cells hold similar numbers of rows). A query visits
only the cells whose lower-bound distance (the distance along the gridded axes alone)
could beat its k-th neighbour, so on a million rows a request reads a few percent of
them. The answer is exact: a row outside the visited cells is provably farther than the
k-th neighbour returned.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import numpy as np

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - threadpoolctl is a dependency; stay usable without
    ThreadpoolController = None

logger = logging.getLogger(__name__)

#: Largest (rows x targets) distance block computed at once.
_BLOCK = 4_000_000
#: Rows in the fixed sample used to guess each query's radius.
_SAMPLE = 32_768
#: Rows per grid cell the default bin count aims at.
_ROWS_PER_CELL = 72

_controller: Any = None


def blas_single_thread() -> contextlib.AbstractContextManager[Any]:
    """Context in which BLAS runs on one thread (no-op without threadpoolctl)."""
    global _controller
    if ThreadpoolController is None:
        return contextlib.nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def sq_distances(x: np.ndarray, sqnorm: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (u, m), from targets (u, d) to rows x (m, d).

    Computed as ``|x|² - 2 t·x + |t|²`` in float32 (absolute error about 1e-6 × |x|²)
    with single-threaded BLAS (several threads on a busy small machine make this small
    product erratic); ``sqnorm`` is ``|x|²`` per row, shape (m,).
    """
    t = np.asarray(targets, dtype=np.float32)
    with blas_single_thread():
        dot = t @ x.T
    dot *= -2.0
    dot += sqnorm[None, :]
    dot += (t * t).sum(axis=1)[:, None]
    return dot


def ranges_to_indices(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(start, stop)`` for every pair, vectorised; returns int64."""
    lengths = (stops - starts).astype(np.int64)
    keep = lengths > 0
    starts, lengths = starts[keep].astype(np.int64), lengths[keep]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return offsets + np.arange(total, dtype=np.int64)


class GridIndex:
    """Rows of ``x`` bucketed by a grid over their principal axes, for exact k-NN queries.

    Parameters
    ----------
    x : np.ndarray
        Shape (n, d) feature matrix (any scale; distances are Euclidean on it).
    grid_dims : int
        How many principal axes the grid spans (at most ``d``).
    bins : int, optional
        Bins per gridded axis; default about ``(n / 72) ** (1 / grid_dims)``, at most 64.

    Attributes
    ----------
    order : np.ndarray
        Shape (n,): ``order[p]`` is the row of ``x`` stored at sorted position ``p``.
    position : np.ndarray
        Shape (n,): inverse of ``order`` (sorted position of each row).
    rotation : np.ndarray
        Shape (d, d) orthonormal: stored coordinates are ``x @ rotation``.
    """

    def __init__(self, x: np.ndarray, *, grid_dims: int = 3, bins: int | None = None) -> None:
        x = np.asarray(x, dtype=np.float64)
        n, d = x.shape
        grid_dims = max(1, min(grid_dims, d))
        if n > 1:
            sample = x[:: max(1, n // 200_000)]
            _, vectors = np.linalg.eigh(np.cov(sample, rowvar=False).reshape(d, d))
            self.rotation = np.ascontiguousarray(vectors[:, ::-1])  # largest variance first
        else:
            self.rotation = np.eye(d)
        rotated = (x @ self.rotation).astype(np.float32)
        if bins is None:
            bins = int(np.clip(round((n / _ROWS_PER_CELL) ** (1.0 / grid_dims)), 1, 64))
        self.edges: list[np.ndarray] = []
        bin_of: list[np.ndarray] = []
        for col in range(grid_dims):
            values = rotated[:, col]
            edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
            if edges.size < 2:  # constant axis: one bin of zero width
                edges = np.array([edges[0], edges[0]])
            self.edges.append(edges.astype(np.float64))
            bin_of.append(np.searchsorted(edges[1:-1], values, side="right"))
        self.shape = tuple(e.size - 1 for e in self.edges)
        cell = np.ravel_multi_index(tuple(bin_of), self.shape)
        self.order = np.argsort(cell, kind="stable")
        self.position = np.empty(n, dtype=np.int64)
        self.position[self.order] = np.arange(n)
        self.x = np.ascontiguousarray(rotated[self.order])
        self.sqnorm = np.einsum("ij,ij->i", self.x, self.x)
        counts = np.bincount(cell, minlength=int(np.prod(self.shape)))
        self.counts = counts
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.stops = self.starts + counts
        rng = np.random.default_rng(0)
        self._sample = np.sort(rng.choice(n, size=min(n, _SAMPLE), replace=False))
        self._sample_x = np.ascontiguousarray(self.x[self._sample])
        self._sample_sqnorm = self.sqnorm[self._sample]

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def memory_bytes(self) -> int:
        """Bytes of the index's arrays (rotated features, norms, order, cells, sample)."""
        arrays = (self.x, self.sqnorm, self.order, self.position, self.counts, self.starts)
        extra = (self.stops, self._sample, self._sample_x, self._sample_sqnorm)
        return int(sum(a.nbytes for a in arrays + extra))

    def features(self, pos: np.ndarray) -> np.ndarray:
        """Rows at sorted positions ``pos`` in the original coordinates, (len(pos), d) float64."""
        return np.take(self.x, pos, axis=0).astype(np.float64) @ self.rotation.T

    def sq_distances(self, pos: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Squared distances (u, len(pos)) from targets to the rows at sorted positions ``pos``.

        ``targets`` are in rotated coordinates. See :func:`sq_distances`.
        """
        return sq_distances(np.take(self.x, pos, axis=0), np.take(self.sqnorm, pos), targets)

    def _lower_bounds(self, targets: np.ndarray) -> np.ndarray:
        """Squared distance from each target to each cell along the gridded axes, (u, cells)."""
        u = targets.shape[0]
        total = np.zeros((u,) + (1,) * len(self.edges))
        for axis, edges in enumerate(self.edges):
            t = targets[:, axis][:, None]
            gap = np.maximum(np.maximum(edges[None, :-1] - t, t - edges[None, 1:]), 0.0)
            shape = [u] + [1] * len(self.edges)
            shape[axis + 1] = gap.shape[1]
            total = total + (gap**2).reshape(shape)
        return total.reshape(u, -1)

    def query(
        self, targets: np.ndarray, k: np.ndarray, *, eligible: np.ndarray | None = None
    ) -> tuple[list[np.ndarray], bool]:
        """Find the ``k[i]`` nearest eligible rows of every target.

        Parameters
        ----------
        targets : np.ndarray
            Shape (u, d) query points in the coordinates of the ``x`` given at build.
        k : np.ndarray
            Shape (u,) ints >= 1: neighbours wanted per target.
        eligible : np.ndarray, optional
            Shape (n,) bool in *sorted* order (see :attr:`order`); ``None`` means all.

        Returns
        -------
        neighbours : list of np.ndarray
            Per target, the sorted positions (not rows: map them with :attr:`order`) of
            its ``k[i]`` nearest eligible rows, in no particular order; fewer only if
            fewer rows are eligible.
        exhausted : bool
            True when a target got fewer than ``k[i]`` (every eligible row was returned).
        """
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, self.rotation.shape[0])
        targets = targets @ self.rotation
        u = targets.shape[0]
        k = np.broadcast_to(np.asarray(k, dtype=np.int64), (u,))
        n_eligible = len(self) if eligible is None else int(np.count_nonzero(eligible))
        result: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * u
        if n_eligible == 0 or u == 0:
            return result, True
        radius2 = self._guess_radius2(targets, k, eligible, n_eligible)
        lb = self._lower_bounds(targets)
        exhausted = False
        todo = np.arange(u)
        for _round in range(3):
            retry: list[int] = []
            for chunk in self._chunks(lb, radius2, todo):
                cells = np.flatnonzero((lb[chunk] <= radius2[chunk, None]).any(axis=0))
                all_cells = cells.size == self.counts.size
                pos = ranges_to_indices(self.starts[cells], self.stops[cells])
                if eligible is not None:
                    pos = pos[eligible[pos]]
                t = targets[chunk]
                d2 = self.sq_distances(pos, t)
                for col, i in enumerate(chunk):
                    dist, ki = d2[col], int(k[i])
                    within = np.flatnonzero(dist <= radius2[i])
                    if within.size >= ki:  # every row nearer than the radius was seen
                        result[i] = pos[within[np.argpartition(dist[within], ki - 1)[:ki]]]
                    elif all_cells or _round == 2:  # every eligible row was seen
                        if pos.size > ki:
                            result[i] = pos[np.argpartition(dist, ki - 1)[:ki]]
                        else:
                            result[i] = pos
                            exhausted = exhausted or pos.size < ki
                    else:  # too few inside: widen to a radius known to hold k rows
                        if pos.size >= ki:
                            radius2[i] = (
                                float(np.partition(dist, ki - 1)[ki - 1]) * (1 + 1e-4) + 1e-5
                            )
                        else:
                            radius2[i] = np.inf
                        retry.append(int(i))
            todo = np.array(retry, dtype=np.int64)
            if todo.size == 0:
                break
        return result, exhausted

    def _guess_radius2(
        self, targets: np.ndarray, k: np.ndarray, eligible: np.ndarray | None, n_eligible: int
    ) -> np.ndarray:
        """Squared radius likely to hold k eligible rows or more, from a fixed row sample.

        With ``m`` of the ``n_eligible`` rows in the sample, about ``λ = k m / n_eligible``
        sample rows lie within the k-th neighbour's radius; the ``2λ + 2``-th nearest
        sample row falls short of it rarely (about 1 % of targets for λ ≈ 1), and then
        :meth:`query` widens that target's radius once.
        """
        x, sqnorm = self._sample_x, self._sample_sqnorm
        if eligible is not None:
            keep = eligible[self._sample]
            x, sqnorm = x[keep], sqnorm[keep]
        m = x.shape[0]
        radius2 = np.full(targets.shape[0], np.inf)
        if m == 0:
            return radius2
        # j-th nearest of the sample bounds the k-th of all; exact when it is every row
        j = int(k.max()) if m >= n_eligible else int(np.ceil(2.0 * k.max() * m / n_eligible)) + 2
        if j <= m:
            d2 = sq_distances(x, sqnorm, targets)
            radius2[:] = np.partition(d2, j - 1, axis=1)[:, j - 1] * (1 + 1e-4) + 1e-5
        return radius2

    def _chunks(self, lb: np.ndarray, radius2: np.ndarray, todo: np.ndarray) -> list[np.ndarray]:
        """Split targets into consecutive groups whose cell union keeps blocks small."""
        chunks: list[np.ndarray] = []
        current: list[int] = []
        union = np.zeros(lb.shape[1], dtype=bool)
        for i in todo:
            cells_i = lb[i] <= radius2[i]
            merged = union | cells_i
            rows = int(self.counts[merged].sum())
            if current and rows * (len(current) + 1) > _BLOCK:
                chunks.append(np.array(current))
                current, merged = [], cells_i
            current.append(int(i))
            union = merged
        if current:
            chunks.append(np.array(current))
        return chunks


#: :class:`AnnIndex` scans the eligible rows exactly instead of asking the graph when
#: they are this few ...
_EXACT_ROWS = 20_000
#: ... or this small a share of all rows (the graph would need k / share candidates).
_ANN_MIN_SHARE = 0.1


class AnnIndex:
    """Rows of ``x`` in an approximate-nearest-neighbour graph, with :class:`GridIndex`'s API.

    The graph is :class:`moodtune.music.ann.VectorIndex` (usearch HNSW, half-precision
    vectors, built in batches and grown by :meth:`add`); every shortlist it returns is
    re-ranked by the exact distance on a float32 copy. Rows are stored in their own
    order (``order`` and ``position`` are the identity, ``rotation`` the identity).

    A query with an eligibility mask asks the graph for ``k / share`` candidates (share:
    eligible rows over all rows) and keeps the eligible ones, widening up to
    :data:`_ANN_ROUNDS` times; a mask that leaves few rows (:data:`_EXACT_ROWS`, or a
    share under :data:`_ANN_MIN_SHARE`) is scanned exactly instead, and so is any target
    the graph could not serve. Results are approximate: see ``bench/bench_recommend.py`` for
    recall@10 against :class:`GridIndex` (exact).

    Parameters
    ----------
    x : np.ndarray
        Shape (n, d) feature matrix.
    batch : int
        Rows inserted into the graph at a time.
    connectivity, expansion_add, expansion_search : int
        HNSW parameters. The recommender's targets often lie off the tracks' manifold
        (a mood's ideal point), where HNSW needs a wide beam: at 1,000,000 synthetic
        tracks recall@10 on 300 targets was 0.90 with ``expansion_search=64``, 0.93
        with 128 and 0.95 with 256; on the benchmark's 500 targets it was 0.927 with 256,
        0.950 with 512 and 0.971 with 1024 (the default; 0.54 ms a query). The grid stays
        the recommender's default: it is exact, builds in 2 s (the graph: 105 s) and
        holds 50 MB (the graph: about 330 MB) at that size, and meets the latency target.
    """

    def __init__(
        self,
        x: np.ndarray,
        *,
        batch: int = 100_000,
        connectivity: int = 12,
        expansion_add: int = 48,
        expansion_search: int = 1024,
    ) -> None:
        from moodtune.music.ann import VectorIndex

        x = np.asarray(x, dtype=np.float64)
        d = x.shape[1]
        self.rotation = np.eye(d)
        self._ann = VectorIndex(
            d,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        self.x = np.zeros((0, d), dtype=np.float32)
        self.sqnorm = np.zeros(0, dtype=np.float32)
        self.order = np.zeros(0, dtype=np.int64)
        self.position = self.order
        self.shape: tuple[int, ...] = ()
        self.add(x, batch=batch)

    def add(self, x: np.ndarray, *, batch: int = 100_000) -> np.ndarray:
        """Append rows (m, d) to the graph (incremental build); return their positions."""
        x = np.asarray(x, dtype=np.float32).reshape(-1, self.rotation.shape[0])
        keys = self._ann.add(x, batch=batch)
        self.x = self._ann.vectors
        self.sqnorm = np.einsum("ij,ij->i", self.x, self.x)
        self.order = np.arange(self.x.shape[0], dtype=np.int64)
        self.position = self.order
        return keys

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def memory_bytes(self) -> int:
        """Bytes of the graph, its vectors and the float32 copy used for re-ranking."""
        return self._ann.memory_bytes + int(self.sqnorm.nbytes)

    def features(self, pos: np.ndarray) -> np.ndarray:
        """Rows at positions ``pos``, (len(pos), d) float64."""
        return np.take(self.x, pos, axis=0).astype(np.float64)

    def sq_distances(self, pos: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Squared distances (u, len(pos)) from targets to the rows at ``pos``."""
        return sq_distances(np.take(self.x, pos, axis=0), np.take(self.sqnorm, pos), targets)

    def _exact(self, target: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
        d2 = self.sq_distances(rows, target[None, :])[0]
        if rows.size <= k:
            return rows
        return rows[np.argpartition(d2, k - 1)[:k]]

    def query(
        self, targets: np.ndarray, k: np.ndarray, *, eligible: np.ndarray | None = None
    ) -> tuple[list[np.ndarray], bool]:
        """Approximate ``k[i]`` nearest eligible rows of each target, nearest first.

        Same parameters and returns as :meth:`GridIndex.query` (positions are rows).
        """
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, self.rotation.shape[0])
        u, n = targets.shape[0], len(self)
        k = np.broadcast_to(np.asarray(k, dtype=np.int64), (u,))
        n_eligible = n if eligible is None else int(np.count_nonzero(eligible))
        result: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * u
        if n_eligible == 0 or u == 0:
            return result, True
        exhausted = bool(np.any(k > n_eligible))
        share = n_eligible / n
        if eligible is not None and (n_eligible <= _EXACT_ROWS or share < _ANN_MIN_SHARE):
            rows = np.flatnonzero(eligible)
            found = [self._exact(t, int(kk), rows) for t, kk in zip(targets, k, strict=True)]
            return found, exhausted
        todo = np.arange(u)
        want = np.minimum(k, n_eligible)
        count = int(min(n, np.ceil(want.max() / share * 1.3) + 16))
        for _round in range(_ANN_ROUNDS):
            keys, _ = self._ann.search(targets[todo], count)
            retry: list[int] = []
            for j, i in enumerate(todo.tolist()):
                got = keys[j][keys[j] >= 0]
                if eligible is not None:
                    got = got[eligible[got]]
                if got.size >= want[i]:
                    result[i] = got[: want[i]]  # nearest first (exact re-rank)
                else:
                    retry.append(i)
            todo = np.array(retry, dtype=np.int64)
            if todo.size == 0 or count >= n:
                break
            count = min(n, count * 4)
        if todo.size:  # the graph could not serve these: scan the eligible rows
            rows = np.arange(n) if eligible is None else np.flatnonzero(eligible)
            for i in todo.tolist():
                result[i] = self._exact(targets[i], int(want[i]), rows)
        return result, exhausted


#: Times :class:`AnnIndex` widens a query before it scans exactly.
_ANN_ROUNDS = 3
