"""The standardised feature space shared by ranking, similar tracks and their evaluation.

A track's Spotify-style features (valence, energy, tempo, ...) become a vector of
weighted z-scores: each feature minus the catalog's mean, divided by its standard
deviation, clipped to ±:data:`Z_CLIP`, unknown values at the mean (z = 0), times the
feature's weight. Euclidean distance in this space is what "fits" and "is similar" mean
everywhere in moodtune: :class:`moodtune.recommend.Recommender` (weights
``FEATURE_WEIGHTS``), :mod:`moodtune.recommend.similar` (weights ``SIMILARITY_WEIGHTS``,
scaled to unit root-mean-square weight) and :mod:`moodtune.recommend.evaluation`.

The table is any object with one array attribute per feature name (a
:class:`~moodtune.catalog.table.TrackTable`), so this module needs nothing above ``music``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moodtune.errors import ParameterError

#: z-scores are clipped to this magnitude.
Z_CLIP = 5.0


def raw_features(table: Any, names: Sequence[str]) -> np.ndarray:
    """Feature columns of a table as floats, shape (n, len(names)); unknown is NaN.

    A tempo of 0 or less, a mode other than 0/1 and any non-finite value count as unknown.
    """
    cols = []
    for name in names:
        col = np.asarray(getattr(table, name), dtype=np.float64)
        if name == "tempo":
            col = np.where(col > 0, col, np.nan)
        elif name == "mode":
            col = np.where((col == 0) | (col == 1), col, np.nan)
        cols.append(np.where(np.isfinite(col), col, np.nan))
    if not cols:
        return np.zeros((len(table), 0))
    return np.column_stack(cols)


class FeatureSpace:
    """Weighted, clipped z-scores of named features, with frozen statistics.

    Parameters
    ----------
    names : sequence of str
        Feature names (table attributes), in vector order.
    mean, std : np.ndarray
        Shape (d,): the standardisation. ``std`` of a column whose values do not vary
        (or are unknown) is 1 and its weight 0.
    weight : np.ndarray
        Shape (d,) effective weights (0 for a constant column).
    scale : float
        Every vector is multiplied by this too (1, or ``1/sqrt(sum(w²))`` for a space of
        unit root-mean-square weight, where a distance of 1 reads "one standard deviation
        apart on average").
    """

    def __init__(
        self,
        names: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        weight: np.ndarray,
        *,
        scale: float = 1.0,
        clip: float = Z_CLIP,
    ) -> None:
        self.names = tuple(names)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.weight = np.asarray(weight, dtype=np.float64)
        self.scale = float(scale)
        self.clip = float(clip)
        d = len(self.names)
        if not self.mean.shape == self.std.shape == self.weight.shape == (d,):
            raise ParameterError(f"mean, std and weight must each have shape ({d},)")

    @classmethod
    def fit(
        cls,
        raw: np.ndarray,
        weights: Mapping[str, float],
        *,
        names: Sequence[str] | None = None,
        unit_rms: bool = False,
        clip: float = Z_CLIP,
    ) -> FeatureSpace:
        """Standardisation of ``raw`` (n, d) features (NaN: unknown) with ``weights``.

        Parameters
        ----------
        raw : np.ndarray
            Shape (n, d), from :func:`raw_features`.
        weights : mapping
            Weight of each feature; its keys give the order unless ``names`` does.
        names : sequence of str, optional
            Feature order (default: the keys of ``weights``).
        unit_rms : bool
            Scale vectors by ``1/sqrt(sum of squared weights)`` (nominal weights).
        clip : float
            Largest |z|.
        """
        names = tuple(weights) if names is None else tuple(names)
        raw = np.asarray(raw, dtype=np.float64).reshape(-1, len(names))
        w = np.array([float(weights[f]) for f in names])
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ParameterError(f"weights {dict(zip(names, w, strict=True))} must be >= 0")
        mean, std = feature_stats(raw)
        varies = std > 1e-9
        scale = 1.0
        if unit_rms:
            total = float(np.sum(w**2))
            scale = 1.0 / math.sqrt(total) if total > 0 else 1.0
        return cls(
            names,
            mean,
            np.where(varies, std, 1.0),
            np.where(varies, w, 0.0),
            scale=scale,
            clip=clip,
        )

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw features (m, d) -> weighted clipped z-vectors (m, d) float64 (NaN -> 0)."""
        raw = np.asarray(raw, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            z = np.clip((raw - self.mean) / self.std, -self.clip, self.clip)
        return np.where(np.isfinite(z), z, 0.0) * (self.weight * self.scale)

    def table_vectors(self, table: Any) -> np.ndarray:
        """:meth:`transform` of a table's features, shape (len(table), d)."""
        return self.transform(raw_features(table, self.names))


def feature_stats(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column, unknowns (NaN) ignored.

    A column with no known value gets mean 0 and std 0; with one, std 0.
    """
    raw = np.asarray(raw, dtype=np.float64)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-unknown columns
        mean = np.nanmean(raw, axis=0) if raw.shape[0] else np.zeros(raw.shape[1])
        std = np.nanstd(raw, axis=0) if raw.shape[0] else np.zeros(raw.shape[1])
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std), std, 0.0)
    return mean, std
