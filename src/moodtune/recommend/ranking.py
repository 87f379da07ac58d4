"""Ranking tracks against a strategy's targets: the :class:`Recommender`.

How a playlist is made
----------------------
1. The strategy gives one target point (valence, arousal) per position
   (:func:`moodtune.recommend.strategies.trajectory`), and each point becomes target
   features (:func:`moodtune.recommend.targets.va_to_feature_targets`).
2. Features and targets are standardised with the catalog's own mean and standard
   deviation (z-scores, clipped to ±5; unknown values sit at the mean) and multiplied by
   :data:`FEATURE_WEIGHTS`. The distance of a track to a target is the Euclidean
   distance in this space.
3. Feedback moves the targets: the mean of the liked tracks pulls every target
   :data:`LIKE_PULL` of the way towards it; the mean of the skipped tracks pushes targets
   near it away (:data:`SKIP_PUSH` z-units at most, fading with distance), and skipped
   tracks are never played again.
4. The exact nearest eligible tracks of every target are found with a grid index
   (:class:`moodtune.recommend.index.GridIndex`), so a request reads a few thousand rows,
   not the whole catalog.
5. Positions are filled in order, each with the best-scoring candidate that keeps the
   playlist diverse. Score = distance + :data:`POPULARITY_WEIGHT` × (1 - popularity/100)
   (+ a random jitter in [0, :data:`JITTER`) when a seed is given, which reorders only
   near-equal candidates). Diversity: no artist twice in a playlist and no near-duplicate
   (same normalised title and artists, or near-identical features and duration); if the
   catalog cannot satisfy that, no artist twice in a row; only then anything left.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.catalog.table import TrackTable, spotify_track_url
from moodtune.errors import CatalogError, ParameterError
from moodtune.recommend.index import GridIndex
from moodtune.recommend.reasons import MOOD_WORDS, describe_track, mood_word, strategy_phrase
from moodtune.recommend.strategies import check_strategy, end_point, progress, trajectory
from moodtune.recommend.targets import (
    TARGET_FEATURES,
    check_feature_targets,
    va_to_feature_matrix,
)

if TYPE_CHECKING:
    from moodtune.types import EmotionEstimate

logger = logging.getLogger(__name__)

#: Weight of each feature's z-score in the distance (valence and energy lead).
FEATURE_WEIGHTS: dict[str, float] = {
    "valence": 1.0,
    "energy": 1.0,
    "tempo": 0.35,
    "loudness": 0.35,
    "acousticness": 0.4,
    "danceability": 0.3,
    "mode": 0.2,
}
#: Score added for a track of popularity 0 (popularity 100 adds nothing): a tie-breaker.
POPULARITY_WEIGHT = 0.05
#: Largest random jitter added to a score when a seed is given.
JITTER = 0.05
#: Share of the way liked tracks pull each target towards their mean.
LIKE_PULL = 0.3
#: Largest push (weighted z-units) away from the mean of skipped tracks.
SKIP_PUSH = 0.5
#: A strategy path shorter than this (circumplex units) counts as staying put in reasons.
MOVE_MIN = 0.15
#: Most distinct search points per request; longer paths search near this many anchors.
MAX_ANCHORS = 12
#: z-scores are clipped to this magnitude.
Z_CLIP = 5.0
#: Near-duplicate tolerances: valence, energy, danceability, acousticness, tempo (BPM),
#: duration (s).
DUPLICATE_TOLERANCE = np.array([0.005, 0.005, 0.005, 0.005, 0.5, 2.0])


@dataclass(frozen=True)
class Filters:
    """Constraints on the tracks a playlist may hold.

    Attributes
    ----------
    year_min, year_max : int, optional
        Release year range, inclusive. Tracks of unknown year are left out when set.
    genres : frozenset of str, optional
        Allowed genres (case-insensitive; a catalog genre like ``"pop, dance pop"``
        matches on any of its comma-separated parts). ``None`` allows every genre.
    explicit : bool
        ``True`` allows explicit tracks; ``False`` leaves out tracks marked explicit.
    max_duration_s : float, optional
        Longest track in seconds. Tracks of unknown duration are left out when set.
    """

    year_min: int | None = None
    year_max: int | None = None
    genres: frozenset[str] | None = None
    explicit: bool = True
    max_duration_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("year_min", "year_max"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or not 0 < value < 10_000
            ):
                raise ParameterError(f"{name}={value!r} must be a year such as 1999")
        if (
            self.year_min is not None
            and self.year_max is not None
            and self.year_min > self.year_max
        ):
            raise ParameterError(
                f"year_min={self.year_min} is after year_max={self.year_max}; swap them"
            )
        if self.genres is not None:
            if isinstance(self.genres, str):
                raise ParameterError(
                    f"genres={self.genres!r} must be a set of genre names, e.g. {{'pop'}}"
                )
            wanted = frozenset(str(g).strip().casefold() for g in self.genres) - {""}
            if not wanted:
                raise ParameterError("genres is empty; name at least one genre or leave it out")
            object.__setattr__(self, "genres", wanted)
        if not isinstance(self.explicit, bool):
            raise ParameterError(f"explicit={self.explicit!r} must be True (allow) or False")
        if self.max_duration_s is not None:
            d = self.max_duration_s
            if (
                isinstance(d, bool)
                or not isinstance(d, int | float)
                or not math.isfinite(d)
                or d <= 0
            ):
                raise ParameterError(f"max_duration_s={d!r} must be a positive number of seconds")

    @property
    def active(self) -> bool:
        """Whether any filter constrains the catalog."""
        return (
            self.year_min is not None
            or self.year_max is not None
            or self.genres is not None
            or not self.explicit
            or self.max_duration_s is not None
        )


@dataclass(frozen=True)
class Recommendation:
    """One track of a playlist.

    Attributes
    ----------
    index : int
        Row of the track in the recommender's :class:`TrackTable`.
    track_id : str
        The track's id.
    target_valence, target_arousal : float
        The point on the circumplex this position aimed at, each in [-1, 1].
    distance : float
        Distance from the track to its target in the weighted standardised feature space
        (0 is a perfect match; about 1 is one standard deviation off on valence).
    reason : str
        A short sentence in words, e.g. "bright and calm, major key, 92 BPM — a gentle
        step up from your sad mood".
    """

    index: int
    track_id: str
    target_valence: float
    target_arousal: float
    distance: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def track_json(table: TrackTable, rec: Recommendation) -> dict[str, Any]:
    """The JSON form of one playlist track (the shape ``moodtune recommend --json`` prints).

    Returns
    -------
    dict
        ``id, name, artists, valence, energy, danceability, tempo, mode, acousticness,
        url, reason, target: {valence, arousal}``; unknown numbers become ``None``.
    """
    row = rec.index

    def number(name: str, digits: int = 3) -> float | None:
        value = float(getattr(table, name)[row])
        return round(value, digits) if math.isfinite(value) else None

    mode = int(table.mode[row])
    tempo = number("tempo", 1)
    track_id = str(table.id[row])
    return {
        "id": track_id,
        "name": str(table.name[row]),
        "artists": str(table.artists[row]),
        "valence": number("valence"),
        "energy": number("energy"),
        "danceability": number("danceability"),
        "tempo": tempo if tempo else None,
        "mode": mode if mode in (0, 1) else None,
        "acousticness": number("acousticness"),
        "url": str(table.url[row]) or spotify_track_url(track_id),
        "reason": rec.reason,
        "target": {
            "valence": round(rec.target_valence, 4),
            "arousal": round(rec.target_arousal, 4),
        },
    }


_BRACKETS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_DASH_SUFFIX = re.compile(r"\s+-\s+.*$")
_NON_WORD = re.compile(r"[\W_]+")


def normalise_title(name: str) -> str:
    """Title key for duplicate detection: casefolded, no bracketed or `` - ...`` suffix.

    >>> normalise_title("Yesterday - Remastered 2009")
    'yesterday'
    >>> normalise_title("Halo (feat. X) [Live]")
    'halo'
    """
    s = _BRACKETS.sub(" ", str(name).casefold())
    s = _DASH_SUFFIX.sub("", s)
    return _NON_WORD.sub(" ", s).strip()


def split_artists(artists: str) -> frozenset[str]:
    """Casefolded artist names of a ``", "``-joined artists string (empty set if none)."""
    return frozenset(a.strip().casefold() for a in str(artists).split(",") if a.strip())


def _check_ids(ids: Iterable[str], name: str) -> list[str]:
    if isinstance(ids, str):
        raise ParameterError(f"{name} must be a list of track ids, not the string {ids!r}")
    try:
        return [str(i) for i in ids]
    except TypeError:
        raise ParameterError(f"{name}={ids!r} must be a list of track ids") from None


class Recommender:
    """Playlists from one :class:`TrackTable`; build once, then call :meth:`recommend`.

    Construction standardises the feature matrix and builds the grid index (about 2 s
    per million tracks on 2 busy cores, 0.07 s for the 28k default catalog); each request
    then costs a few milliseconds of CPU (see bench/bench_recommend.py).

    Parameters
    ----------
    table : TrackTable
        The catalog. It is kept by reference: do not change it afterwards.
    weights : mapping, optional
        Feature weights overriding :data:`FEATURE_WEIGHTS` (keys from
        :data:`moodtune.recommend.targets.TARGET_FEATURES`).

    Raises
    ------
    CatalogError
        If the table is empty.
    """

    def __init__(self, table: TrackTable, *, weights: Mapping[str, float] | None = None) -> None:
        n = len(table)
        if n == 0:
            raise CatalogError(
                "the catalog is empty; import tracks with `moodtune catalog import FILE`"
            )
        w = dict(FEATURE_WEIGHTS)
        for key, value in (weights or {}).items():
            if key not in w:
                raise ParameterError(
                    f"weight for {key!r} is unknown; use one of {', '.join(TARGET_FEATURES)}"
                )
            if not math.isfinite(float(value)) or float(value) < 0:
                raise ParameterError(f"weight {key}={value!r} must be a non-negative number")
            w[key] = float(value)
        self.table = table
        raw = self._raw_features(table)
        with np.errstate(invalid="ignore"):
            counts = np.sum(np.isfinite(raw), axis=0)
            mean = np.where(counts > 0, np.nanmean(np.where(counts > 0, raw, 0.0), axis=0), 0.0)
            std = np.where(counts > 1, np.nanstd(np.where(counts > 0, raw, 0.0), axis=0), 0.0)
        weight = np.array([w[f] for f in TARGET_FEATURES])
        weight[~(std > 1e-9)] = 0.0  # a constant column tells tracks apart by nothing
        self.mean = mean
        self.std = np.where(std > 1e-9, std, 1.0)
        self.weight = weight
        z = self._standardise(raw)
        self.index = GridIndex(z)
        order = self.index.order
        self._year = np.asarray(table.year)[order]
        self._explicit = np.asarray(table.explicit)[order]
        self._duration_ms = np.asarray(table.duration_ms, dtype=np.float64)[order]
        self._genre_codes: np.ndarray | None = None
        self._genre_values: list[str] = []
        self._id_to_row: dict[str, int] | None = None
        logger.debug("recommender built over %d tracks, grid %s", n, self.index.shape)

    # ------------------------------------------------------------------ features
    @staticmethod
    def _raw_features(table: TrackTable) -> np.ndarray:
        cols = []
        for name in TARGET_FEATURES:
            col = np.asarray(getattr(table, name), dtype=np.float64)
            if name == "tempo":
                col = np.where(col > 0, col, np.nan)
            elif name == "mode":
                col = np.where((col == 0) | (col == 1), col, np.nan)
            cols.append(np.where(np.isfinite(col), col, np.nan))
        return np.column_stack(cols)

    def _standardise(self, raw: np.ndarray) -> np.ndarray:
        """Raw features (n, 7) in Spotify units -> weighted clipped z-scores (n, 7)."""
        z = np.clip((raw - self.mean) / self.std, -Z_CLIP, Z_CLIP)
        return np.where(np.isfinite(z), z, 0.0) * self.weight

    def target_matrix(self, points: np.ndarray) -> np.ndarray:
        """Map circumplex points (n, 2) to targets (n, 7) in the weighted standardised space."""
        return self._standardise(va_to_feature_matrix(points))

    # ------------------------------------------------------------------ lookups
    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """Rows of the given track ids (unknown ids are skipped), int64 array."""
        if self._id_to_row is None:
            self._id_to_row = {str(t): i for i, t in enumerate(self.table.id)}
        lookup = self._id_to_row
        rows = [lookup[i] for i in ids if i in lookup]
        return np.array(sorted(set(rows)), dtype=np.int64)

    def _genres(self) -> tuple[np.ndarray, list[str]]:
        if self._genre_codes is None:
            codes: dict[str, int] = {}
            per_row = np.fromiter(
                (codes.setdefault(str(g), len(codes)) for g in self.table.genre),
                dtype=np.int64,
                count=len(self.table),
            )
            self._genre_values = list(codes)
            self._genre_codes = per_row[self.index.order]
        return self._genre_codes, self._genre_values

    def available_genres(self) -> list[str]:
        """Sorted genre names present in the catalog (casefolded, comma parts split)."""
        _, values = self._genres()
        return sorted({p.strip().casefold() for v in values for p in v.split(",") if p.strip()})

    # ------------------------------------------------------------------ filters
    def _filter_mask(self, filters: Filters) -> np.ndarray | None:
        """Eligibility in sorted order, or ``None`` if nothing is filtered.

        Raises
        ------
        ParameterError
            If no track passes, naming the filters to relax.
        """
        if not filters.active:
            return None
        parts: list[tuple[str, str, np.ndarray]] = []
        if filters.year_min is not None or filters.year_max is not None:
            lo = filters.year_min if filters.year_min is not None else 0
            hi = filters.year_max if filters.year_max is not None else 10_000
            parts.append(
                (
                    f"years {filters.year_min or '…'}-{filters.year_max or '…'}",
                    "widen the years",
                    (self._year >= max(lo, 0)) & (self._year <= hi),
                )
            )
        if filters.genres is not None:
            codes, values = self._genres()
            lut = np.array(
                [
                    bool(
                        ({p.strip().casefold() for p in v.split(",")} | {v.strip().casefold()})
                        & filters.genres
                    )
                    for v in values
                ],
                dtype=bool,
            )
            parts.append((f"genres {sorted(filters.genres)}", "choose other genres", lut[codes]))
        if not filters.explicit:
            parts.append(("no explicit tracks", "allow explicit tracks", self._explicit != 1))
        if filters.max_duration_s is not None:
            with np.errstate(invalid="ignore"):
                ok = self._duration_ms <= filters.max_duration_s * 1000.0
            parts.append((f"at most {filters.max_duration_s:g} s", "allow longer tracks", ok))
        mask = parts[0][2].copy()
        for _, _, m in parts[1:]:
            mask &= m
        if not mask.any():
            n = len(self.table)
            alone = [(desc, hint, int(np.count_nonzero(m))) for desc, hint, m in parts]
            empty = [hint for _, hint, c in alone if c == 0]
            detail = "; ".join(f"{desc} leaves {c:,} of {n:,}" for desc, _, c in alone)
            # plain words, no setting names: the CLI, the API and the bot name them apart
            if empty:
                advice = " and ".join(empty)
                if "choose other genres" in empty:
                    advice += f" (genres here: {', '.join(self.available_genres()[:20])})"
            else:
                advice = "together they leave none; " + " or ".join(hint for _, hint, _ in alone)
            raise ParameterError(f"no track passes the filters ({detail}): {advice}")
        return mask

    # ------------------------------------------------------------------ requests
    def recommend_for(self, estimate: EmotionEstimate, **kwargs: Any) -> list[Recommendation]:
        """Recommend for an :class:`~moodtune.types.EmotionEstimate` (see :meth:`recommend`)."""
        kwargs.setdefault("mood", MOOD_WORDS.get(estimate.label))
        return self.recommend(estimate.valence, estimate.arousal, **kwargs)

    def recommend(
        self,
        valence: float,
        arousal: float,
        *,
        strategy: str = "match",
        n: int = 10,
        filters: Filters | None = None,
        seed: int | None = None,
        liked_ids: Iterable[str] = (),
        skipped_ids: Iterable[str] = (),
        mood: str | None = None,
        feature_targets: Mapping[str, float] | None = None,
    ) -> list[Recommendation]:
        """Make a playlist for a listener at a point of the circumplex.

        Parameters
        ----------
        valence, arousal : float
            The listener's current point, each in [-1, 1].
        strategy : str
            ``match``, ``uplift``, ``calm`` or ``energize``
            (:mod:`moodtune.recommend.strategies`).
        n : int
            Playlist length, 1 to 100. Fewer tracks come back only if fewer pass the
            filters.
        filters : Filters, optional
            Year, genre, explicit and duration constraints.
        seed : int, optional
            With a seed, near-equal candidates are shuffled by a small jitter and the
            same seed gives the same playlist; without one there is no jitter.
        liked_ids, skipped_ids : iterable of str
            Feedback: liked tracks pull the targets towards them; skipped tracks push
            them away and are left out. Unknown ids are ignored.
        mood : str, optional
            Word for the listener's mood in reasons (default: named from the point).
        feature_targets : mapping, optional
            Explicit targets (any of :data:`~moodtune.recommend.targets.TARGET_FEATURES`,
            Spotify units, inside :data:`~moodtune.recommend.targets.FEATURE_RANGES`) for
            the strategy's end point, e.g. an LLM's proposal
            (:func:`moodtune.llm.propose_targets`). They replace the mapped targets where
            the path arrives: everywhere for ``match``, at the last position for
            ``uplift`` and from the half-way point on for ``calm``/``energize``; in between
            the difference is blended in by the path's progress, so the first ``uplift``
            track still meets the listener's own point (a one-track ``uplift`` ignores
            them). Features left out keep the mapped targets.

        Returns
        -------
        list of Recommendation
            In playlist order.

        Raises
        ------
        ParameterError
            For a bad point, strategy, ``n``, filters, seed, ids or feature targets, or
            filters that no track passes (the message names what to relax).
        """
        check_strategy(strategy)
        path = trajectory(valence, arousal, strategy=strategy, n=n)
        n = path.shape[0]
        if filters is None:
            filters = Filters()
        elif not isinstance(filters, Filters):
            raise ParameterError(f"filters={filters!r} must be a moodtune Filters object")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise ParameterError(f"seed={seed!r} must be a non-negative integer")
        liked_list = _check_ids(liked_ids, "liked_ids")
        skipped_list = _check_ids(skipped_ids, "skipped_ids")
        liked = self.rows_of(liked_list) if liked_list else None
        skipped = self.rows_of(skipped_list) if skipped_list else None

        if feature_targets is None:
            targets = self.target_matrix(path)
        else:
            raw = va_to_feature_matrix(path)
            explicit = check_feature_targets(feature_targets)
            goal = va_to_feature_matrix(
                np.array([end_point(float(valence), float(arousal), strategy=strategy)])
            )[0]
            delta = np.zeros(len(TARGET_FEATURES))
            for name, value in explicit.items():
                j = TARGET_FEATURES.index(name)
                delta[j] = value - goal[j]
            share = np.ones(n) if strategy == "match" else progress(n, strategy=strategy)
            targets = self._standardise(raw + share[:, None] * delta)
        targets = self._apply_feedback(targets, liked, skipped)
        eligible = self._filter_mask(filters)
        if skipped is not None and skipped.size:
            if eligible is None:
                eligible = np.ones(len(self.table), dtype=bool)
            eligible[self.index.position[skipped]] = False
            if not eligible.any():
                raise ParameterError(
                    "every track that passes the filters was skipped; widen the filters "
                    "or clear the skipped tracks"
                )
        if eligible is None:
            n_eligible = len(self.table)
        else:
            n_eligible = int(np.count_nonzero(eligible))

        # Order-preserving unique targets: equal positions share one search.
        _, first, inverse = np.unique(targets, axis=0, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        uniq = targets[np.sort(first)]
        owner = rank[inverse.reshape(-1)]
        per_target = np.bincount(owner, minlength=uniq.shape[0])
        steps = progress(n, strategy=strategy)
        mood_text = mood or mood_word(float(valence), float(arousal))
        start = np.array([float(valence), float(arousal)])
        moving = bool(np.linalg.norm(end_point(*start, strategy=strategy) - start) > MOVE_MIN)

        if uniq.shape[0] > MAX_ANCHORS:  # long paths: search near evenly spaced anchors
            u = uniq.shape[0]
            anchor_of = np.round(np.arange(u) * (MAX_ANCHORS - 1) / (u - 1)).astype(np.int64)
            anchors = uniq[np.round(np.linspace(0, u - 1, MAX_ANCHORS)).astype(np.int64)]
            per_target = np.bincount(anchor_of, weights=per_target, minlength=MAX_ANCHORS)
            uniq = anchors
        k = 3 * per_target.astype(np.int64) + 30
        need = min(n_eligible, 2 * n + 30)  # targets close together share neighbours
        for attempt in range(4):
            neighbours, exhausted = self.index.query(uniq, k, eligible=eligible)
            pool = np.unique(np.concatenate(neighbours))
            complete = exhausted or pool.size >= n_eligible
            if pool.size < need and not complete and attempt < 3:
                k = k * max(2, int(np.ceil(2 * need / max(pool.size, 1))))
                continue
            picks, relaxed = self._select(pool, targets, seed)
            if not relaxed or complete or attempt >= 2:
                break
            k = k * 4
        if len(picks) < n:
            logger.info("only %d tracks pass the filters; playlist has %d", n_eligible, len(picks))

        out = []
        t = self.table
        for i, (pos, dist) in enumerate(picks):
            row = int(self.index.order[pos])
            describe = describe_track(
                valence=float(t.valence[row]),
                energy=float(t.energy[row]),
                mode=int(t.mode[row]),
                tempo=float(t.tempo[row]),
            )
            phrase = strategy_phrase(
                strategy=strategy,
                mood=mood_text,
                step=float(steps[i]),
                first=i == 0,
                last=i == n - 1 and n > 1,
                moving=moving,
            )
            out.append(
                Recommendation(
                    index=row,
                    track_id=str(t.id[row]),
                    target_valence=float(path[i, 0]),
                    target_arousal=float(path[i, 1]),
                    distance=float(dist),
                    reason=f"{describe} — {phrase}",
                )
            )
        return out

    def _apply_feedback(
        self, targets: np.ndarray, liked: np.ndarray | None, skipped: np.ndarray | None
    ) -> np.ndarray:
        """Pull targets towards liked tracks, push them from skipped ones (weighted z space)."""
        if liked is not None and liked.size:
            centre = self.index.features(self.index.position[liked]).mean(axis=0)
            targets = targets + LIKE_PULL * (centre - targets)
        if skipped is not None and skipped.size:
            centre = self.index.features(self.index.position[skipped]).mean(axis=0)
            away = targets - centre
            dist = np.linalg.norm(away, axis=1, keepdims=True)
            push = SKIP_PUSH * np.exp(-(dist**2) / 2.0)
            targets = targets + np.where(dist > 1e-9, push * away / np.maximum(dist, 1e-9), 0.0)
        return targets

    def _select(
        self, pool: np.ndarray, targets: np.ndarray, seed: int | None
    ) -> tuple[list[tuple[int, float]], bool]:
        """Fill positions greedily from ``pool`` (sorted positions) with diversity.

        Returns the picks as (sorted position, distance) and whether any position had to
        relax the no-artist-twice rule.
        """
        t = self.table
        x = self.index.features(pool)
        d2 = (x * x).sum(1)[:, None] - 2.0 * x @ targets.T + (targets * targets).sum(1)[None, :]
        dist = np.sqrt(np.maximum(d2, 0.0))
        rows = self.index.order[pool]
        pop = np.asarray(t.popularity, dtype=np.float64)[rows]
        pop = np.where(np.isfinite(pop), np.clip(pop, 0.0, 100.0), 50.0)
        bonus = POPULARITY_WEIGHT * (1.0 - pop / 100.0)
        if seed is not None:
            bonus = bonus + np.random.default_rng(int(seed)).uniform(0.0, JITTER, pool.size)
        score = dist + bonus[:, None]
        dup_features = np.column_stack(
            [
                np.asarray(t.valence, dtype=np.float64)[rows],
                np.asarray(t.energy, dtype=np.float64)[rows],
                np.asarray(t.danceability, dtype=np.float64)[rows],
                np.asarray(t.acousticness, dtype=np.float64)[rows],
                np.asarray(t.tempo, dtype=np.float64)[rows],
                np.asarray(t.duration_ms, dtype=np.float64)[rows] / 1000.0,
            ]
        )
        artists_cache: dict[int, frozenset[str]] = {}
        title_cache: dict[int, tuple[str, tuple[str, ...]]] = {}

        def artists_of(p: int) -> frozenset[str]:
            if p not in artists_cache:
                artists_cache[p] = split_artists(t.artists[rows[p]])
            return artists_cache[p]

        def title_of(p: int) -> tuple[str, tuple[str, ...]]:
            if p not in title_cache:
                title_cache[p] = (normalise_title(t.name[rows[p]]), tuple(sorted(artists_of(p))))
            return title_cache[p]

        used = np.zeros(pool.size, dtype=bool)
        used_artists: set[str] = set()
        used_titles: set[tuple[str, tuple[str, ...]]] = set()
        picked_features = np.empty((targets.shape[0], dup_features.shape[1]))
        n_picked = 0
        previous: frozenset[str] = frozenset()
        picks: list[tuple[int, float]] = []
        relaxed = False

        def near_duplicate(p: int) -> bool:
            if n_picked == 0:
                return False
            diff = np.abs(picked_features[:n_picked] - dup_features[p])
            return bool((diff <= DUPLICATE_TOLERANCE).all(axis=1).any())

        def allowed(p: int, level: int) -> bool:
            if level <= 1:
                if title_of(p) in used_titles or near_duplicate(p):
                    return False
                banned = used_artists if level == 0 else previous
                return not (artists_of(p) & banned)
            if level == 2:
                return not (artists_of(p) & previous)
            return True

        for i in range(targets.shape[0]):
            col = np.where(used, np.inf, score[:, i])
            free = int(pool.size - used.sum())
            if free == 0:
                break
            head = min(free, 48)
            if head < pool.size:
                best = np.argpartition(col, head - 1)[:head]
            else:
                best = np.arange(pool.size)
            best = best[np.argsort(col[best], kind="stable")]
            full: np.ndarray | None = None
            choice = -1
            for level in range(4):
                choice = next((int(p) for p in best if not used[p] and allowed(int(p), level)), -1)
                if choice < 0 and head < free:
                    if full is None:
                        full = np.argsort(col, kind="stable")[:free]
                    choice = next((int(p) for p in full if allowed(int(p), level)), -1)
                if choice >= 0:
                    relaxed = relaxed or level > 0
                    break
            used[choice] = True
            previous = artists_of(choice)
            used_artists |= previous
            used_titles.add(title_of(choice))
            picked_features[n_picked] = dup_features[choice]
            n_picked += 1
            picks.append((int(pool[choice]), float(dist[choice, i])))
        return picks, relaxed
