"""Tracks like a given one: standardised features plus the shape of the arousal/valence curve.

Distance between a query track q and a catalog track t (documented weights below):

``d = (1 - CURVE_SHARE) * d_features + CURVE_SHARE * d_curve`` when both have a curve, else
``d = d_features``, where

* ``d_features`` is the root-mean-square of the weighted z-scores of the feature differences
  (:data:`SIMILARITY_WEIGHTS`; z-scores use the catalog's mean and standard deviation, clipped to
  ±5, unknown values count as the mean), so 1.0 is "one standard deviation apart on average";
* ``d_curve`` averages two parts in the same units: the RMS z-difference of the curves'
  summary statistics (mean and spread of arousal and valence, standardised over the catalog's
  curves) and the DTW distance of the two curves resampled to :data:`CURVE_POINTS` points
  (DTW on (valence, arousal) points, cost per step divided by the pooled standard
  deviation of curve values).

The :data:`SHORTLIST` nearest tracks by features (and curve summary) are re-ranked with DTW.

Large catalogs (:data:`ANN_MIN_TRACKS` tracks or more, with the ``ann`` extra) find that
shortlist with :class:`SimilarIndex`, an approximate-nearest-neighbour graph
(:class:`moodtune.music.ann.VectorIndex`, HNSW from usearch; why usearch is said there)
over the same weighted z-vectors, and compute the exact feature distance for the
shortlist only. The feature space itself is :class:`moodtune.music.space.FeatureSpace`,
the one the recommender measures fit in (with its own weights).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import CatalogError, ParameterError
from moodtune.music.ann import VectorIndex
from moodtune.music.space import FeatureSpace, raw_features

if TYPE_CHECKING:
    from moodtune.catalog.repository import Catalog
    from moodtune.catalog.table import TrackTable

log = logging.getLogger(__name__)

#: Weight of each feature's z-score (valence and energy lead, as in the recommender).
SIMILARITY_WEIGHTS: dict[str, float] = {
    "valence": 1.0,
    "energy": 1.0,
    "danceability": 0.6,
    "acousticness": 0.6,
    "instrumentalness": 0.4,
    "loudness": 0.4,
    "tempo": 0.4,
    "speechiness": 0.3,
    "liveness": 0.2,
    "mode": 0.2,
}
#: Share of the curve part in the distance when both tracks have a curve.
CURVE_SHARE = 0.4
#: Points each curve is resampled to before DTW.
CURVE_POINTS = 32
#: Candidates re-ranked with DTW.
SHORTLIST = 200
#: Catalogs this large use :class:`SimilarIndex` (when usearch is installed).
ANN_MIN_TRACKS = 100_000
#: Feature order of the similarity vectors.
SIMILARITY_FEATURES = tuple(SIMILARITY_WEIGHTS)
_FEATURES = SIMILARITY_FEATURES


@dataclass
class SimilarTrack:
    """One result of :func:`similar_tracks`.

    Attributes
    ----------
    id, name, artists, local_path : str
    distance : float
        Combined distance (smaller is more similar).
    feature_distance : float
    curve_distance : float or None
        None when either track has no curve.
    """

    id: str
    name: str
    artists: str
    local_path: str
    distance: float
    feature_distance: float
    curve_distance: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (distances rounded to 4 digits)."""
        return {
            "id": self.id,
            "name": self.name,
            "artists": self.artists,
            "local_path": self.local_path or None,
            "distance": round(self.distance, 4),
            "feature_distance": round(self.feature_distance, 4),
            "curve_distance": None
            if self.curve_distance is None
            else round(self.curve_distance, 4),
        }


def similarity_raw(table: TrackTable) -> np.ndarray:
    """Raw features of :data:`SIMILARITY_FEATURES`, shape (n, 10); unknown is NaN."""
    return raw_features(table, SIMILARITY_FEATURES)


def similarity_space(raw: np.ndarray) -> FeatureSpace:
    """The similarity space standardised over ``raw`` (n, 10): unit RMS weight.

    A feature distance of 1.0 then reads "one standard deviation apart on average".
    """
    return FeatureSpace.fit(raw, SIMILARITY_WEIGHTS, unit_rms=True)


def _summary(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.array([a.mean(), a.std(), v.mean(), v.std()])


def resample_curve(a: np.ndarray, v: np.ndarray, *, n: int = CURVE_POINTS) -> np.ndarray:
    """Resample a curve to ``n`` points (linear interpolation over relative time).

    Returns
    -------
    np.ndarray, shape (2, n)
        Rows valence, arousal.
    """
    src = np.linspace(0.0, 1.0, a.shape[0]) if a.shape[0] > 1 else np.zeros(1)
    dst = np.linspace(0.0, 1.0, n)
    if a.shape[0] == 1:
        return np.vstack([np.full(n, v[0]), np.full(n, a[0])])
    return np.vstack([np.interp(dst, src, v), np.interp(dst, src, a)])


def dtw_distance(x: np.ndarray, y: np.ndarray) -> float:
    """DTW cost per step between two resampled curves, in curve units.

    Classic DTW (steps right, down, diagonal; Euclidean point cost). For 32-point curves a
    plain dynamic programme costs well under a millisecond; librosa's numba DTW gives the
    same answer but costs about 3 s of JIT start-up in every new process, too much for a
    command-line lookup.

    Parameters
    ----------
    x, y : np.ndarray, shape (2, n) and (2, m)

    Returns
    -------
    float
        Accumulated cost of the best alignment divided by its number of steps.
    """
    from scipy.spatial.distance import cdist

    c = cdist(x.T, y.T).tolist()
    n, m = len(c), len(c[0])
    inf = float("inf")
    # rows of (accumulated cost, steps); plain floats are ~20x faster than numpy scalars here
    prev = [(0.0, 0)] + [(inf, 0)] * m
    for i in range(n):
        row = [(inf, 0)]
        ci = c[i]
        for j in range(m):
            best = min(prev[j], prev[j + 1], row[j])
            row.append((best[0] + ci[j], best[1] + 1))
        prev = row
    cost, steps = prev[m]
    return float(cost / steps)


def similar_tracks(
    catalog: Catalog,
    query: str | Path,
    *,
    n: int = 10,
    genres: Iterable[str] | None = None,
    table: TrackTable | None = None,
    index: SimilarIndex | None = None,
) -> tuple[dict[str, Any], list[SimilarTrack]]:
    """Find the ``n`` tracks most like ``query``.

    Parameters
    ----------
    catalog : Catalog
    query : str or Path
        A catalog track id, or the path of an audio file (analysed now unless the catalog
        already holds the same content).
    n : int
        How many results, 1 to 1000.
    genres : iterable of str, optional
        Only tracks of these genres (case-insensitive; a genre like ``"pop, dance pop"``
        matches on any comma-separated part). Scanned local tracks carry the genre the
        classifier gave them (or their tag's, when it names one of the six).
    table : TrackTable, optional
        The catalog's playable tracks, already loaded (default: loaded now).
    index : SimilarIndex, optional
        An index synced with ``table``: the shortlist then comes from it (with exact
        distances) instead of a scan of every track. Ignored with ``genres``.

    Returns
    -------
    query_info : dict
        ``id`` (or None for a file not in the catalog), ``name``, ``source`` (``catalog``/``file``).
    results : list of SimilarTrack
        Most similar first; the query itself is left out.

    Raises
    ------
    ParameterError
        ``n`` out of range, or ``query`` is neither a known id nor a readable audio file.
    CatalogError
        The catalog is empty.
    """
    from moodtune.music.files import file_sha256

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
        raise ParameterError(f"n={n!r} must be an integer from 1 to 1000")
    if table is None:
        table = catalog.load_table()
        playable = table.playable()
        if not playable.all():  # scanned tracks whose files are gone
            table = table.take(np.flatnonzero(playable))
    if len(table) == 0:
        raise CatalogError("the catalog is empty; add music with `moodtune scan DIR`")
    if index is not None and genres is None:
        return _similar_indexed(catalog, table, index, query, n)
    ids = np.asarray(table.id).astype(str)
    raw = similarity_raw(table)
    q_curve: tuple[np.ndarray, np.ndarray] | None = None
    qid: str | None = None
    qstr = str(query)
    hit = np.flatnonzero(ids == qstr)
    if hit.size:
        qid = qstr
        q_raw = raw[hit[0]]
        info: dict[str, Any] = {"id": qid, "name": str(table.name[hit[0]]), "source": "catalog"}
    else:
        path = Path(query).expanduser()
        if not path.is_file():
            raise ParameterError(
                f"{query!s}: not a track id in the catalog and not an audio file; "
                "give a catalog id (see `moodtune scan`) or a path"
            )
        known = f"local:{file_sha256(path)[:16]}"
        hit = np.flatnonzero(ids == known)
        if hit.size:
            qid = known
            q_raw = raw[hit[0]]
            info = {"id": qid, "name": str(table.name[hit[0]]), "source": "catalog"}
        else:
            q_raw, q_curve = _query_file(path)
            info = {"id": None, "name": path.stem, "source": "file"}

    space = similarity_space(raw)
    diff = space.transform(raw) - space.transform(q_raw)
    d_feat = np.sqrt(np.sum(diff**2, axis=1))
    if qid is not None:
        d_feat[ids == qid] = np.inf
    if genres is not None:
        wanted = {str(g).strip().casefold() for g in genres} - {""}
        if not wanted:
            raise ParameterError("genres is empty; name at least one genre or leave it out")
        keep = np.array(
            [bool(wanted & {p.strip().casefold() for p in str(g).split(",")}) for g in table.genre],
            dtype=bool,
        )
        if not keep.any():
            names = sorted(
                {p.strip().casefold() for g in table.genre for p in str(g).split(",") if p.strip()}
            )
            raise ParameterError(
                f"no tracks with genre {', '.join(sorted(wanted))}; known genres: "
                f"{', '.join(names[:20]) or '(none)'}"
            )
        d_feat[~keep] = np.inf
    order = np.argsort(d_feat, kind="stable")
    short = order[: max(SHORTLIST, n)]
    short = short[np.isfinite(d_feat[short])]

    return info, _rerank(catalog, table, short, d_feat[short], q_curve=q_curve, qid=qid, n=n)


def _query_file(path: Path) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Analyse a query file: raw features (10,) and its (arousal, valence) curve."""
    from moodtune.music.features import analyze_file

    res = analyze_file(path)
    if res.silent:
        raise ParameterError(f"{path} is silent: no track is offered as like silence")
    row = res.catalog_row(track_id="query")
    q_raw = np.array(
        [np.nan if row.get(f) is None else float(row[f]) for f in _FEATURES], dtype=float
    )
    if not q_raw[_FEATURES.index("tempo")] > 0:
        q_raw[_FEATURES.index("tempo")] = np.nan
    return q_raw, (res.arousal, res.valence)


def _similar_indexed(
    catalog: Catalog, table: TrackTable, index: SimilarIndex, query: str | Path, n: int
) -> tuple[dict[str, Any], list[SimilarTrack]]:
    """:func:`similar_tracks` with the shortlist from an ANN index (no full scan)."""
    from moodtune.music.files import file_sha256

    q_curve: tuple[np.ndarray, np.ndarray] | None = None
    qid: str | None = None
    q_vec = index.vector_of(str(query))
    if q_vec is not None:
        qid = str(query)
    else:
        path = Path(query).expanduser()
        if not path.is_file():
            raise ParameterError(
                f"{query!s}: not a track id in the catalog and not an audio file; "
                "give a catalog id (see `moodtune scan`) or a path"
            )
        known = f"local:{file_sha256(path)[:16]}"
        q_vec = index.vector_of(known)
        if q_vec is not None:
            qid = known
        else:
            q_raw, q_curve = _query_file(path)
            q_vec = index.vectors(q_raw[None, :])[0]
    if qid is not None:
        row = index.row_of(qid)
        info: dict[str, Any] = {"id": qid, "name": str(table.name[row]), "source": "catalog"}
    else:
        info = {"id": None, "name": Path(query).stem, "source": "file"}
    rows, dist = index.search_vector(q_vec, max(SHORTLIST, n) + 1)
    keep = rows >= 0
    if qid is not None:
        keep &= rows != index.row_of(qid)
    return info, _rerank(catalog, table, rows[keep], dist[keep], q_curve=q_curve, qid=qid, n=n)


def _rerank(
    catalog: Catalog,
    table: TrackTable,
    short: np.ndarray,
    d_short: np.ndarray,
    *,
    q_curve: tuple[np.ndarray, np.ndarray] | None,
    qid: str | None,
    n: int,
) -> list[SimilarTrack]:
    """Re-rank a shortlist (rows, feature distances) with the curves; return the best ``n``."""
    from moodtune.catalog.scan import load_curves

    ids = table.id
    curves = load_curves(catalog)  # scanned libraries are small next to the feature table
    if qid is not None and qid in curves:
        q_curve = (curves[qid][0], curves[qid][1])
    d_curve = np.full(short.size, np.nan)
    if q_curve is not None and curves:
        summaries = np.array([_summary(a, v) for a, v, _ in curves.values()])
        s_std = summaries.std(axis=0)
        s_std = np.where(s_std > 1e-6, s_std, 1.0)
        pooled = float(np.std(np.concatenate([np.r_[a, v] for a, v, _ in curves.values()])))
        pooled = pooled if pooled > 1e-6 else 1.0
        q_sum = _summary(*q_curve)
        q_res = resample_curve(*q_curve)
        for k, row_i in enumerate(short):
            c = curves.get(ids[row_i])
            if c is None:
                continue
            d_sum = float(np.sqrt(np.mean(((_summary(c[0], c[1]) - q_sum) / s_std) ** 2)))
            d_dtw = dtw_distance(q_res, resample_curve(c[0], c[1])) / pooled
            d_curve[k] = 0.5 * (d_sum + d_dtw)
    total = np.where(
        np.isfinite(d_curve),
        (1 - CURVE_SHARE) * d_short + CURVE_SHARE * np.nan_to_num(d_curve),
        d_short,
    )
    best = np.argsort(total, kind="stable")[:n]
    results = [
        SimilarTrack(
            id=str(ids[short[k]]),
            name=str(table.name[short[k]]),
            artists=str(table.artists[short[k]]),
            local_path=str(table.local_path[short[k]] or ""),
            distance=float(total[k]),
            feature_distance=float(d_short[k]),
            curve_distance=None if not np.isfinite(d_curve[k]) else float(d_curve[k]),
        )
        for k in best
    ]
    return results


class SimilarIndex:
    """Approximate nearest neighbours of tracks in the similarity space, kept in sync.

    The vectors are the similarity space's weighted z-scores
    (:func:`similarity_space`); the standardisation is frozen when the index is first
    built, so tracks added later (:meth:`sync`) are placed without touching the others.
    :meth:`search` asks the graph (:class:`moodtune.music.ann.VectorIndex`) for a
    shortlist and returns it re-ranked by the exact distance.

    Parameters
    ----------
    space : FeatureSpace
        The standardisation of the raw features.
    connectivity, expansion_add, expansion_search : int
        HNSW parameters (edges per node, beam width when adding and when searching).

    Raises
    ------
    ParameterError
        If usearch is not installed (``pip install 'moodtune[ann]'``).
    """

    def __init__(
        self,
        space: FeatureSpace,
        *,
        connectivity: int = 12,
        expansion_add: int = 48,
        expansion_search: int = 96,
    ) -> None:
        self.space = space
        self._ann = VectorIndex(
            len(SIMILARITY_FEATURES),
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        self._key_of: dict[str, int] = {}
        self._row_of_key = np.zeros(0, dtype=np.int64)  # by key: row in the synced table

    @classmethod
    def build(cls, table: TrackTable, *, batch: int = 100_000, **kwargs: Any) -> SimilarIndex:
        """Build an index over ``table`` (in batches of ``batch`` tracks)."""
        raw = similarity_raw(table)
        index = cls(similarity_space(raw), **kwargs)
        index.sync(table, batch=batch, raw=raw)
        return index

    def __len__(self) -> int:
        return len(self._key_of)

    @property
    def memory_bytes(self) -> int:
        """Bytes of the graph and its vectors, plus the float32 vectors kept for re-ranking."""
        return self._ann.memory_bytes + int(self._row_of_key.nbytes)

    def vectors(self, raw: np.ndarray) -> np.ndarray:
        """Raw features (m, 10) -> weighted z-vectors (m, 10) float32 (unit RMS weight)."""
        return self.space.transform(raw).astype(np.float32)

    def sync(
        self, table: TrackTable, *, batch: int = 100_000, raw: np.ndarray | None = None
    ) -> int:
        """Add the table's tracks the index lacks and remove those gone; return tracks added.

        Only new tracks are inserted, in batches, so a catalog that grows by a scan costs
        the new tracks alone. ``raw`` (the table's :func:`similarity_raw`) saves reading it.
        """
        ids = np.asarray(table.id).astype(str)
        known = self._key_of
        present = set(ids.tolist())
        gone = [t for t in known if t not in present]
        if gone:
            self._ann.remove(np.array([known.pop(t) for t in gone], dtype=np.int64))
        new_rows = np.array([i for i, t in enumerate(ids) if t not in known], dtype=np.int64)
        start = self._ann.size
        self._row_of_key = np.full(start + new_rows.size, -1, dtype=np.int64)
        for row, t in enumerate(ids.tolist()):
            key = known.get(t)
            if key is not None:
                self._row_of_key[key] = row
        if new_rows.size == 0:
            return 0
        new_raw = similarity_raw(table.take(new_rows)) if raw is None else raw[new_rows]
        keys = self._ann.add(self.vectors(new_raw), batch=batch)
        self._row_of_key[keys] = new_rows
        for key, row in zip(keys.tolist(), new_rows.tolist(), strict=True):
            known[ids[row]] = key
        return int(new_rows.size)

    def row_of(self, track_id: str) -> int | None:
        """Row of ``track_id`` in the table last synced, or ``None``."""
        key = self._key_of.get(str(track_id))
        return None if key is None else int(self._row_of_key[key])

    def vector_of(self, track_id: str) -> np.ndarray | None:
        """Similarity vector (10,) of an indexed track, or ``None``."""
        key = self._key_of.get(str(track_id))
        return None if key is None else self._ann.vectors[key].astype(np.float64)

    def search(
        self, q_raw: np.ndarray, k: int, *, shortlist: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest tracks of one raw feature vector, exactly re-ranked.

        Parameters
        ----------
        q_raw : np.ndarray
            Shape (10,) raw features (NaN: unknown).
        k : int
            Results wanted.
        shortlist : int, optional
            Candidates asked of the graph (default ``max(2 k, k + 20)``).

        Returns
        -------
        rows : np.ndarray
            Rows in the table last synced (:meth:`sync`), nearest first.
        distance : np.ndarray
            Their exact feature distances (RMS of weighted z differences).
        """
        q = self.vectors(np.asarray(q_raw, dtype=np.float64)[None, :])
        return self.search_vector(q[0], k, shortlist=shortlist)

    def search_vector(
        self, q: np.ndarray, k: int, *, shortlist: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` for a vector already in the similarity space."""
        m = shortlist or max(2 * k, k + 20)
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        keys, dist = self._ann.search(q, m, k=k)
        keep = keys[0] >= 0
        return self._row_of_key[keys[0][keep]], dist[0][keep]

    def exact_search(self, q_raw: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The exact ``k`` nearest tracks by brute force, as :meth:`search` (for recall)."""
        q = self.vectors(np.asarray(q_raw, dtype=np.float64)[None, :])
        keys, dist = self._ann.exact_search(q, k)
        return self._row_of_key[keys[0]], dist[0]
