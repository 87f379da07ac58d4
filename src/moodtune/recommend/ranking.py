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
   not the whole catalog. An approximate graph (``Recommender(table, index="ann")``,
   :class:`moodtune.recommend.index.AnnIndex`) was measured against it at 1,000,000
   tracks (``bench/bench_recommend.py 1000000 200 grid,ann``): in this 7-dimensional
   space, whose targets often lie off the tracks' manifold, the graph found 0.93 of
   the exact ten nearest (recall@10, with a wide beam of 256) and saved 1-2 ms of CPU
   per request, but took 80-270 s to build (the grid 2 s) and 327 MB (the grid 50 MB);
   the grid is exact and meets the 20 ms p95, so it stays the default.
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

from moodtune.catalog.table import TrackTable
from moodtune.errors import CatalogError, ParameterError
from moodtune.music.space import Z_CLIP as Z_CLIP
from moodtune.music.space import FeatureSpace, raw_features
from moodtune.recommend.index import AnnIndex, GridIndex
from moodtune.recommend.reasons import MOOD_WORDS, describe_track, mood_word, strategy_phrase
from moodtune.recommend.songs import MIN_DURATION_S, song_mask
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
#: Default temperature (distance units) of the draw among well-fitting candidates.
VARIETY = 0.05
#: A position draws only among candidates whose score is within this of its best.
FIT_WINDOW = 0.15
#: Most candidates a position draws among (the best fitting ones inside the window).
MAX_DRAW = 12
#: Tracks whose tempo is this close (BPM) to a chosen track's score :data:`TEMPO_CLASH` worse.
TEMPO_CLASH_BPM = 3.0
TEMPO_CLASH = 0.03
#: Score taken off a liked track (it stays in the listener's playlists while it fits);
#: at most a third of a playlist gets it.
LIKED_BONUS = 0.15
#: Score added to a recently played track when too few others pass the filters.
REPEAT_PENALTY = 100.0
#: Share of a playlist that recent tracks may take back when they fit better than fresh
#: ones by more than :data:`RECENT_PENALTY` (0: listener memory leaves them all out).
#: Measured on the default catalog (``evaluate_variety``): 0.1 gives 8 % repeats over 5
#: same-mood requests and a mean target distance 4 % lower (0.488 vs 0.509; the nearest
#: ten without memory: 0.404). Off by default: issue 16 asks for no repeat within the
#: last playlists, and no setting reaches +10 % distance at <= 10 % repeats (the best
#: possible, ignoring the one-artist rule, is +18 %).
RECENT_SHARE = 0.0
#: Score added to a recent track that :data:`RECENT_SHARE` lets back.
RECENT_PENALTY = 0.0
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
        ``True`` allows explicit tracks; ``False`` leaves out tracks marked explicit and
        tracks whose flag is unknown (the playlist's notes say how many). When no track
        of the catalog says, the filter cannot be applied and a note says so.
    max_duration_s : float, optional
        Longest track in seconds. Tracks of unknown duration are left out when set.
    min_duration_s : float, optional
        Shortest track in seconds (default :data:`~moodtune.recommend.songs.MIN_DURATION_S`,
        60 s: no jingles); ``None`` or 0 allows short tracks. Silent tracks are always
        left out (:func:`~moodtune.recommend.songs.song_mask`).
    """

    year_min: int | None = None
    year_max: int | None = None
    genres: frozenset[str] | None = None
    explicit: bool = True
    max_duration_s: float | None = None
    min_duration_s: float | None = MIN_DURATION_S

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
        if self.min_duration_s is not None:
            d = self.min_duration_s
            if (
                isinstance(d, bool)
                or not isinstance(d, int | float)
                or not math.isfinite(d)
                or d < 0
            ):
                raise ParameterError(
                    f"min_duration_s={d!r} must be a number of seconds >= 0 (0 allows jingles)"
                )

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


class Playlist(list["Recommendation"]):
    """A playlist: a list of :class:`Recommendation` with ``notes``.

    ``notes`` holds one line per thing the listener should know about the request: a
    filter that could not be applied, how many tracks of unknown explicit flag were left
    out, repeats because the catalog slice is small, a shorter playlist.
    """

    def __init__(self, items: Iterable[Recommendation] = (), *, notes: Iterable[str] = ()) -> None:
        super().__init__(items)
        self.notes: list[str] = list(notes)


def _check_variety(variety: float) -> float:
    if (
        isinstance(variety, bool)
        or not isinstance(variety, int | float | np.floating)
        or not math.isfinite(float(variety))
        or not 0 <= float(variety) <= 10
    ):
        raise ParameterError(f"variety={variety!r} must be a number from 0 (none) to 10")
    return float(variety)


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
    index : {"grid", "ann"}
        Candidate search: ``grid`` (default) is :class:`~moodtune.recommend.index.GridIndex`,
        exact; ``ann`` is :class:`~moodtune.recommend.index.AnnIndex`, an approximate
        HNSW graph (usearch, the ``ann`` extra) with exact re-ranking of its shortlist.
        The grid is the default: see step 4 of the module docstring for why.

    Raises
    ------
    CatalogError
        If the table is empty.
    """

    def __init__(
        self,
        table: TrackTable,
        *,
        weights: Mapping[str, float] | None = None,
        index: str = "grid",
    ) -> None:
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
        raw = raw_features(table, TARGET_FEATURES)
        #: The weighted standardised space distances are measured in (shared with
        #: :mod:`moodtune.recommend.similar`: :class:`moodtune.music.space.FeatureSpace`).
        self.space = FeatureSpace.fit(raw, w, names=TARGET_FEATURES, clip=Z_CLIP)
        self.mean = self.space.mean
        self.std = self.space.std
        self.weight = self.space.weight
        z = self.space.transform(raw)
        if index == "grid":
            self.index: GridIndex | AnnIndex = GridIndex(z)
        elif index == "ann":
            self.index = AnnIndex(z)
        else:
            raise ParameterError(f"index={index!r} must be 'grid' (exact) or 'ann' (approximate)")
        order = self.index.order
        self._year = np.asarray(table.year)[order]
        self._explicit = np.asarray(table.explicit)[order]
        self._duration_ms = np.asarray(table.duration_ms, dtype=np.float64)[order]
        self._genre_codes: np.ndarray | None = None
        self._genre_values: list[str] = []
        self._id_to_row: dict[str, int] | None = None
        self._song_cache: dict[float, np.ndarray | None] = {}
        logger.debug("recommender built over %d tracks, grid %s", n, self.index.shape)

    # ------------------------------------------------------------------ features
    def _standardise(self, raw: np.ndarray) -> np.ndarray:
        """Raw features (n, 7) in Spotify units -> weighted clipped z-scores (n, 7)."""
        return self.space.transform(raw)

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
    def _filter_mask(self, filters: Filters) -> tuple[np.ndarray | None, list[str]]:
        """Eligibility in sorted order (``None``: every track) and notes on the filters.

        Raises
        ------
        ParameterError
            If no track passes, naming the filters to relax.
        """
        notes: list[str] = []
        parts: list[tuple[str, str, np.ndarray]] = []
        songs = self._songs(filters.min_duration_s)
        if songs is not None:
            desc = (
                f"songs of {filters.min_duration_s:g} s or more, not silent"
                if filters.min_duration_s
                else "not silent"
            )
            parts.append((desc, "allow shorter tracks", songs))
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
            unknown = (self._explicit != 0) & (self._explicit != 1)
            n_unknown = int(np.count_nonzero(unknown))
            if n_unknown == len(self.table):
                notes.append(
                    "--no-explicit could not be applied: no track in this catalog says "
                    "whether it is explicit"
                )
            else:
                parts.append(("no explicit tracks", "allow explicit tracks", self._explicit == 0))
                if n_unknown:
                    notes.append(
                        f"--no-explicit also left out {n_unknown:,} tracks whose explicit "
                        "flag is unknown"
                    )
        if filters.max_duration_s is not None:
            with np.errstate(invalid="ignore"):
                ok = self._duration_ms <= filters.max_duration_s * 1000.0
            parts.append((f"at most {filters.max_duration_s:g} s", "allow longer tracks", ok))
        if not parts:
            return None, notes
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
        return mask, notes

    def _songs(self, min_duration_s: float | None) -> np.ndarray | None:
        """:func:`song_mask` in sorted order (cached per minimum), ``None`` when all pass."""
        key = float(min_duration_s or 0.0)
        if key not in self._song_cache:
            mask = song_mask(self.table, min_duration_s=key)[self.index.order]
            self._song_cache[key] = None if mask.all() else mask
        return self._song_cache[key]

    # ------------------------------------------------------------------ requests
    def recommend_for(self, estimate: EmotionEstimate, **kwargs: Any) -> list[Recommendation]:
        """Recommend for an :class:`~moodtune.types.EmotionEstimate` (see :meth:`recommend`)."""
        kwargs.setdefault("mood", MOOD_WORDS.get(estimate.label))
        return self.recommend(estimate.valence, estimate.arousal, **kwargs)

    def recommend(  # noqa: PLR0913 (the public request: every option keyword-only)
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
        avoid_ids: Iterable[str] = (),
        variety: float = VARIETY,
        keep: Mapping[int, str] | None = None,
    ) -> Playlist:
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
        avoid_ids : iterable of str
            The listener's recent tracks (listener memory): left out while enough other
            tracks pass the filters; otherwise they come last and a note says so.
        variety : float
            Temperature (distance units) of the draw among well-fitting candidates:
            each position samples a track with probability ``exp(-(score - best) /
            variety)`` among candidates within :data:`FIT_WINDOW` of its best score,
            and tracks whose tempo is within :data:`TEMPO_CLASH_BPM` of a chosen one
            score :data:`TEMPO_CLASH` worse. 0 takes the best candidate (the method
            before listener memory); the draw is seeded by ``seed`` (``None``: 0).
        keep : mapping of int to str, optional
            Positions whose track stays (a playlist revised after feedback): position
            -> track id. The other positions are filled around them, with no artist or
            near-duplicate of a kept track.

        Returns
        -------
        Playlist
            Recommendations in playlist order, with ``notes``: one line per filter
            that could not be applied as asked or per fallback taken.

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
        variety = _check_variety(variety)
        eligible, notes = self._filter_mask(filters)
        if skipped is not None and skipped.size:
            if eligible is None:
                eligible = np.ones(len(self.table), dtype=bool)
            eligible[self.index.position[skipped]] = False
            if not eligible.any():
                raise ParameterError(
                    "every track that passes the filters was skipped; widen the filters "
                    "or clear the skipped tracks"
                )
        fixed = self._fixed_positions(keep, n)
        picks = self._pick(
            targets,
            eligible,
            notes,
            n=n,
            fixed=fixed,
            avoid_ids=avoid_ids,
            liked=liked,
            seed=seed,
            variety=variety,
            what="playlist",
        )
        steps = progress(n, strategy=strategy)
        mood_text = mood or mood_word(float(valence), float(arousal))
        start = np.array([float(valence), float(arousal)])
        moving = bool(np.linalg.norm(end_point(*start, strategy=strategy) - start) > MOVE_MIN)

        def phrase(i: int) -> str:
            return strategy_phrase(
                strategy=strategy,
                mood=mood_text,
                step=float(steps[i]),
                first=i == 0,
                last=i == n - 1 and n > 1,
                moving=moving,
            )

        return self._playlist(picks, path, phrase, notes)

    def journey(
        self,
        start: str | tuple[float, float],
        end: str | tuple[float, float],
        *,
        n: int = 12,
        filters: Filters | None = None,
        seed: int | None = None,
        variety: float = VARIETY,
        avoid_ids: Iterable[str] = (),
    ) -> Playlist:
        """A smooth path of real tracks from one mood or track to another.

        The targets move in equal steps along the straight line between the two ends in
        the weighted standardised feature space (where the ranking measures fit), so
        tempo, loudness and acousticness glide along with valence and energy: the iso
        principle generalised from "start at the listener's mood" to any two points. A
        track end is the track itself, at the first or last position.

        Parameters
        ----------
        start, end : str or (float, float)
            A track id of the catalog, or a (valence, arousal) point in [-1, 1]².
        n : int
            Steps, 2 to 100, ends included.
        filters, seed, variety, avoid_ids
            As in :meth:`recommend`.

        Returns
        -------
        Playlist
            The path in order; ``target_valence``/``target_arousal`` of each step is its
            point on the circumplex (a track end sits at ``(2 valence - 1, 2 energy - 1)``).

        Raises
        ------
        ParameterError
            Unknown track id, bad point, ``n`` out of range, or filters no track passes.
        """
        from moodtune.recommend.targets import check_point

        if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= 100:
            raise ParameterError(f"n={n!r} must be an integer from 2 to 100 (ends included)")
        if filters is None:
            filters = Filters()
        elif not isinstance(filters, Filters):
            raise ParameterError(f"filters={filters!r} must be a moodtune Filters object")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise ParameterError(f"seed={seed!r} must be a non-negative integer")
        variety = _check_variety(variety)

        def end_of(
            value: str | tuple[float, float], name: str
        ) -> tuple[np.ndarray, np.ndarray, str | None]:
            if isinstance(value, str):
                rows = self.rows_of([value])
                if rows.size == 0:
                    raise ParameterError(f"{name} track {value!r} is not in the catalog")
                row = int(rows[0])
                z = self.index.features(self.index.position[rows])[0]
                v = float(np.nan_to_num(self.table.valence[row], nan=0.5))
                e = float(np.nan_to_num(self.table.energy[row], nan=0.5))
                return z, np.array([2 * v - 1, 2 * e - 1]), value
            try:
                v, a = (float(x) for x in value)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"{name}={value!r} must be a track id or a (valence, arousal) point"
                ) from None
            v, a = check_point(v, a)
            point = np.array([[v, a]])
            return self.target_matrix(point)[0], point[0], None

        z0, p0, id0 = end_of(start, "start")
        z1, p1, id1 = end_of(end, "end")
        share = np.linspace(0.0, 1.0, int(n))[:, None]
        targets = (1 - share) * z0 + share * z1
        path = (1 - share) * p0 + share * p1
        keep = {i: t for i, t in ((0, id0), (int(n) - 1, id1)) if t is not None}
        if id0 is not None and id0 == id1:
            raise ParameterError("start and end are the same track; choose two tracks")
        fixed = self._fixed_positions(keep, int(n))
        eligible, notes = self._filter_mask(filters)
        picks = self._pick(
            targets,
            eligible,
            notes,
            n=int(n),
            fixed=fixed,
            avoid_ids=avoid_ids,
            liked=None,
            seed=seed,
            variety=variety,
            what="journey",
        )
        words = (mood_word(*p0), mood_word(*p1))

        def phrase(i: int) -> str:
            if i in keep:
                return "where you start" if i == 0 else "where you arrive"
            return f"step {i + 1} of {n} from {words[0]} to {words[1]}"

        return self._playlist(picks, path, phrase, notes)

    def _title_keys(self, track_ids: Iterable[str]) -> set[tuple[str, tuple[str, ...]]]:
        """(normalised title, artists) of tracks: another version of one counts as it."""
        t = self.table
        return {
            (normalise_title(t.name[r]), tuple(sorted(split_artists(t.artists[r]))))
            for r in self.rows_of(list(track_ids)).tolist()
        }

    def _fixed_positions(self, keep: Mapping[int, str] | None, n: int) -> dict[int, int]:
        """Validate ``keep`` (position -> track id) into position -> sorted index position."""
        if not keep:
            return {}
        if not isinstance(keep, Mapping):
            raise ParameterError(f"keep={keep!r} must map playlist positions to track ids")
        fixed: dict[int, int] = {}
        for i, track_id in keep.items():
            if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < n:
                raise ParameterError(f"keep position {i!r} must be an integer from 0 to {n - 1}")
            rows = self.rows_of([str(track_id)])
            if rows.size == 0:
                raise ParameterError(f"kept track {track_id!r} is not in the catalog")
            fixed[int(i)] = int(self.index.position[rows[0]])
        if len(set(fixed.values())) < len(fixed):
            raise ParameterError("keep names the same track at two positions")
        return fixed

    def _avoid(
        self, eligible: np.ndarray | None, avoid_ids: list[str], need: int
    ) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
        """Leave out recently played tracks while enough others remain.

        Returns the new eligibility, the sorted positions to put last instead (when too
        few others remain) and notes.
        """
        if not avoid_ids:
            return eligible, None, []
        rows = self.rows_of(avoid_ids)
        if rows.size == 0:
            return eligible, None, []
        pos = self.index.position[rows]
        fresh = np.ones(len(self.table), dtype=bool) if eligible is None else eligible.copy()
        fresh[pos] = False
        n_fresh = int(np.count_nonzero(fresh))
        if n_fresh >= max(need, 1):
            if int(RECENT_SHARE * need) >= 1:  # a few best-fitting recent tracks may return
                return eligible, np.sort(pos), []
            return fresh, None, []
        note = (
            f"only {n_fresh} tracks that pass the filters were not in your recent playlists, "
            "so some tracks repeat"
        )
        return eligible, np.sort(pos), [note]

    def _pick(
        self,
        targets: np.ndarray,
        eligible: np.ndarray | None,
        notes: list[str],
        *,
        n: int,
        fixed: Mapping[int, int],
        avoid_ids: Any,
        liked: np.ndarray | None,
        seed: int | None,
        variety: float,
        what: str,
    ) -> list[tuple[int, float]]:
        """Leave out (or penalise) recent plays, favour liked tracks, search and select.

        Shared by playlists and journeys; appends what it had to give up to ``notes``.
        """
        avoid_list = _check_ids(avoid_ids, "avoid_ids")
        eligible, penalised, memo = self._avoid(eligible, avoid_list, n - len(fixed))
        notes.extend(memo)
        soft = penalised is not None and not memo  # recent tracks may return, capped
        repeat_cap = int(RECENT_SHARE * (n - len(fixed))) if soft else None
        favoured = None
        if liked is not None and liked.size:
            favoured = np.sort(self.index.position[liked])
            if eligible is not None:
                favoured = favoured[eligible[favoured]]
        picks = self._search_and_select(
            targets,
            eligible,
            seed=seed,
            variety=variety,
            fixed=fixed,
            penalised=penalised,
            favoured=favoured,
            banned_titles=self._title_keys(avoid_list) if penalised is None else None,
            repeat_cap=repeat_cap,
        )
        if len(picks) < n:
            notes.append(f"only {len(picks)} tracks pass the filters; the {what} is shorter")
        return picks

    def _search_and_select(
        self,
        targets: np.ndarray,
        eligible: np.ndarray | None,
        *,
        seed: int | None,
        variety: float,
        fixed: Mapping[int, int] | None = None,
        penalised: np.ndarray | None = None,
        favoured: np.ndarray | None = None,
        banned_titles: set[tuple[str, tuple[str, ...]]] | None = None,
        repeat_cap: int | None = None,
    ) -> list[tuple[int, float]]:
        """Candidate search around the targets (n, 7) and the diverse fill of positions."""
        n = targets.shape[0]
        n_eligible = len(self.table) if eligible is None else int(np.count_nonzero(eligible))
        # Order-preserving unique targets: equal positions share one search.
        _, first, inverse = np.unique(targets, axis=0, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        uniq = targets[np.sort(first)]
        owner = rank[inverse.reshape(-1)]
        per_target = np.bincount(owner, minlength=uniq.shape[0])
        if uniq.shape[0] > MAX_ANCHORS:  # long paths: search near evenly spaced anchors
            u = uniq.shape[0]
            anchor_of = np.round(np.arange(u) * (MAX_ANCHORS - 1) / (u - 1)).astype(np.int64)
            anchors = uniq[np.round(np.linspace(0, u - 1, MAX_ANCHORS)).astype(np.int64)]
            per_target = np.bincount(anchor_of, weights=per_target, minlength=MAX_ANCHORS)
            uniq = anchors
        k = 3 * per_target.astype(np.int64) + 30
        need = min(n_eligible, 2 * n + 30)  # targets close together share neighbours
        extra = np.array(sorted((fixed or {}).values()), dtype=np.int64)
        if favoured is not None and favoured.size:
            extra = np.union1d(extra, favoured)
        picks: list[tuple[int, float]] = []
        for attempt in range(4):
            neighbours, exhausted = self.index.query(uniq, k, eligible=eligible)
            pool = np.unique(np.concatenate([*neighbours, extra]))
            complete = exhausted or pool.size >= n_eligible + extra.size
            if pool.size < need and not complete and attempt < 3:
                k = k * max(2, int(np.ceil(2 * need / max(pool.size, 1))))
                continue
            if penalised is not None and not complete:  # repeats come last: see them all
                pool = np.union1d(pool, penalised)
            picks, relaxed = self._select(
                pool,
                targets,
                seed,
                variety=variety,
                fixed=fixed,
                penalised=penalised,
                favoured=favoured,
                banned_titles=banned_titles,
                repeat_cap=repeat_cap,
            )
            if not relaxed or complete or attempt >= 2:
                break
            k = k * 4
        return picks

    def _playlist(
        self,
        picks: list[tuple[int, float]],
        path: np.ndarray,
        phrase: Any,
        notes: list[str],
    ) -> Playlist:
        """Recommendations from picks (sorted position, distance) with reasons."""
        out = Playlist(notes=notes)
        t = self.table
        for i, (pos, dist) in enumerate(picks):
            row = int(self.index.order[pos])
            describe = describe_track(
                valence=float(t.valence[row]),
                energy=float(t.energy[row]),
                mode=int(t.mode[row]),
                tempo=float(t.tempo[row]),
            )
            out.append(
                Recommendation(
                    index=row,
                    track_id=str(t.id[row]),
                    target_valence=float(path[i, 0]),
                    target_arousal=float(path[i, 1]),
                    distance=float(dist),
                    reason=f"{describe} — {phrase(i)}",
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
        self,
        pool: np.ndarray,
        targets: np.ndarray,
        seed: int | None,
        *,
        variety: float = 0.0,
        fixed: Mapping[int, int] | None = None,
        penalised: np.ndarray | None = None,
        favoured: np.ndarray | None = None,
        banned_titles: set[tuple[str, tuple[str, ...]]] | None = None,
        repeat_cap: int | None = None,
    ) -> tuple[list[tuple[int, float]], bool]:
        """Fill positions from ``pool`` (sorted positions) with diversity.

        ``penalised`` positions score :data:`REPEAT_PENALTY` worse; with ``repeat_cap``
        they score :data:`RECENT_PENALTY` worse instead and at most ``repeat_cap`` of
        them are taken. Returns the picks as (sorted position, distance) and whether any
        position had to relax the no-artist-twice rule.
        """
        fill = _Fill(
            self,
            pool,
            targets,
            seed,
            variety=variety,
            penalised=penalised,
            favoured=favoured,
            banned_titles=banned_titles,
            repeat_cap=repeat_cap,
        )
        kept = {i: int(np.searchsorted(pool, q)) for i, q in (fixed or {}).items()}
        for p in kept.values():
            fill.take(p)
        picks: list[tuple[int, float]] = []
        relaxed = False
        for i in range(targets.shape[0]):
            if i in kept:
                p = kept[i]
                fill.previous = fill.artists_of(p)
                picks.append((int(pool[p]), float(fill.dist[p, i])))
                continue
            col = fill.column(i)
            free = int(pool.size - fill.used.sum())
            if free == 0:
                break
            choice, level = fill.choose(col, free)
            if choice >= 0:
                relaxed = relaxed or level > 0
            fill.take(choice)
            fill.liked_left -= int(fill.liked_mask[choice])
            fill.previous = fill.artists_of(choice)
            picks.append((int(pool[choice]), float(fill.dist[choice, i])))
        return picks, relaxed


class _Fill:
    """The state of one diverse fill (:meth:`Recommender._select`) over a candidate pool.

    Positions index ``pool``; ``dist`` (pool, n targets) is the distance of each candidate
    to each target and ``score`` adds the popularity bonus, jitter and repeat penalties.
    Rules relax by level: 0 no artist twice, 1 not the previous track's artist (both with
    no title twice and no near-duplicate), 2 not the previous artist, 3 anything unused.
    """

    def __init__(
        self,
        rec: Recommender,
        pool: np.ndarray,
        targets: np.ndarray,
        seed: int | None,
        *,
        variety: float,
        penalised: np.ndarray | None,
        favoured: np.ndarray | None,
        banned_titles: set[tuple[str, tuple[str, ...]]] | None,
        repeat_cap: int | None,
    ) -> None:
        t = self.table = rec.table
        self.variety = variety
        x = rec.index.features(pool)
        d2 = (x * x).sum(1)[:, None] - 2.0 * x @ targets.T + (targets * targets).sum(1)[None, :]
        self.dist = np.sqrt(np.maximum(d2, 0.0))
        self.rows = rows = rec.index.order[pool]
        pop = np.asarray(t.popularity, dtype=np.float64)[rows]
        pop = np.where(np.isfinite(pop), np.clip(pop, 0.0, 100.0), 50.0)
        bonus = POPULARITY_WEIGHT * (1.0 - pop / 100.0)
        self.rng = np.random.default_rng(0 if seed is None else int(seed))
        if seed is not None and variety == 0:
            bonus = bonus + self.rng.uniform(0.0, JITTER, pool.size)
        self.recent = np.zeros(pool.size, dtype=bool)
        if penalised is not None and penalised.size:
            self.recent = np.isin(pool, penalised)
            penalty = REPEAT_PENALTY if repeat_cap is None else RECENT_PENALTY
            bonus = bonus + penalty * self.recent
        self.repeats_left = repeat_cap
        self.score = self.dist + bonus[:, None]
        self.liked_mask = np.zeros(pool.size, dtype=bool)
        if favoured is not None and favoured.size:
            self.liked_mask = np.isin(pool, favoured)
        self.liked_left = max(1, targets.shape[0] // 3)
        self.tempo = np.asarray(t.tempo, dtype=np.float64)[rows]
        self.dup_features = np.column_stack(
            [
                np.asarray(t.valence, dtype=np.float64)[rows],
                np.asarray(t.energy, dtype=np.float64)[rows],
                np.asarray(t.danceability, dtype=np.float64)[rows],
                np.asarray(t.acousticness, dtype=np.float64)[rows],
                self.tempo,
                np.asarray(t.duration_ms, dtype=np.float64)[rows] / 1000.0,
            ]
        )
        self._artists: dict[int, frozenset[str]] = {}
        self._titles: dict[int, tuple[str, tuple[str, ...]]] = {}
        self.used = np.zeros(pool.size, dtype=bool)
        self.used_artists: set[str] = set()
        self.used_titles: set[tuple[str, tuple[str, ...]]] = set(banned_titles or ())
        self.picked_features = np.empty((targets.shape[0], self.dup_features.shape[1]))
        self.n_picked = 0
        self.clash = np.zeros(pool.size, dtype=bool)  # tempo within TEMPO_CLASH_BPM of a pick
        self.previous: frozenset[str] = frozenset()
        self.dup_known: dict[int, bool] = {}  # near-duplicate flags of this position's head

    def artists_of(self, p: int) -> frozenset[str]:
        """The artists of candidate ``p`` (cached)."""
        if p not in self._artists:
            self._artists[p] = split_artists(self.table.artists[self.rows[p]])
        return self._artists[p]

    def title_of(self, p: int) -> tuple[str, tuple[str, ...]]:
        """The normalised title and sorted artists of candidate ``p`` (cached)."""
        if p not in self._titles:
            name = self.table.name[self.rows[p]]
            self._titles[p] = (normalise_title(name), tuple(sorted(self.artists_of(p))))
        return self._titles[p]

    def near_duplicate(self, p: int) -> bool:
        """Whether ``p`` is within :data:`DUPLICATE_TOLERANCE` of a pick in every feature."""
        if self.n_picked == 0:
            return False
        if p in self.dup_known:
            return self.dup_known[p]
        diff = np.abs(self.picked_features[: self.n_picked] - self.dup_features[p])
        return bool((diff <= DUPLICATE_TOLERANCE).all(axis=1).any())

    def allowed(self, p: int, level: int) -> bool:
        """Whether ``p`` passes the diversity rules of relaxation ``level`` (0 to 3)."""
        if level <= 1:
            if self.title_of(p) in self.used_titles or self.near_duplicate(p):
                return False
            banned = self.used_artists if level == 0 else self.previous
            return not (self.artists_of(p) & banned)
        if level == 2:
            return not (self.artists_of(p) & self.previous)
        return True

    def take(self, p: int) -> None:
        """Mark ``p`` picked: its artists, title, features and tempo count from now on."""
        self.used[p] = True
        if self.repeats_left is not None and self.recent[p]:
            self.repeats_left -= 1
            if self.repeats_left <= 0:  # the cap is reached: no more recent tracks
                self.used[self.recent] = True
        self.used_artists.update(self.artists_of(p))
        self.used_titles.add(self.title_of(p))
        self.picked_features[self.n_picked] = self.dup_features[p]
        self.n_picked += 1
        if self.variety > 0 and self.tempo[p] > 0:
            with np.errstate(invalid="ignore"):
                clashes = np.abs(self.tempo - self.tempo[p]) < TEMPO_CLASH_BPM
                np.logical_or(self.clash, clashes, out=self.clash)

    def column(self, i: int) -> np.ndarray:
        """Scores of every candidate for target ``i``; used candidates score infinity."""
        col = np.where(self.used, np.inf, self.score[:, i])
        if self.liked_left > 0:
            col = col - LIKED_BONUS * self.liked_mask
        if self.variety > 0:
            col = col + TEMPO_CLASH * self.clash
        return col

    def _head(self, col: np.ndarray, free: int) -> np.ndarray:
        """The best (at most 48) candidates by ``col``, sorted; flags their near-duplicates."""
        head = min(free, 48)
        best = np.argpartition(col, head - 1)[:head] if head < col.size else np.arange(col.size)
        best = best[np.argsort(col[best], kind="stable")]
        self.dup_known.clear()
        if self.n_picked:  # one vectorised test for the front of the head
            front = best[: 2 * MAX_DRAW]
            picked = self.picked_features[None, : self.n_picked]
            diff = np.abs(self.dup_features[front][:, None, :] - picked)
            flags = np.any(np.all(diff <= DUPLICATE_TOLERANCE, axis=2), axis=1)
            self.dup_known.update(zip(front.tolist(), flags.tolist(), strict=True))
        return best

    def _fits(self, best: np.ndarray, col: np.ndarray, level: int) -> list[int]:
        """Allowed candidates of the head, in score order, within the draw window."""
        fits: list[int] = []
        for q in best.tolist():  # sorted by score: stop past the window
            if fits and (
                self.variety == 0 or len(fits) >= MAX_DRAW or col[q] > col[fits[0]] + FIT_WINDOW
            ):
                break
            if not self.used[q] and self.allowed(q, level):
                fits.append(q)
        return fits

    def _draw(self, fits: list[int], col: np.ndarray) -> int:
        """One of ``fits``: the best, or with variety a tempered draw near the best."""
        if self.variety <= 0:
            return fits[0]
        c = col[fits]
        near = np.flatnonzero(c <= c[0] + FIT_WINDOW)
        w = np.exp(-(c[near] - c[0]) / self.variety)
        cum = np.cumsum(w)
        j = int(np.searchsorted(cum, self.rng.random() * cum[-1], side="right"))
        return fits[int(near[min(j, near.size - 1)])]

    def choose(self, col: np.ndarray, free: int) -> tuple[int, int]:
        """The candidate for one position and the relaxation level it needed.

        The head of the ranking is tried first; when nothing there passes a level, the
        whole free pool is searched at that level before relaxing further. The choice is
        -1 when nothing passes even level 3.
        """
        best = self._head(col, free)
        full: np.ndarray | None = None
        choice = -1
        level = 0
        for level in range(4):
            fits = self._fits(best, col, level)
            if fits:
                choice = self._draw(fits, col)
            if choice < 0 and best.size < free:
                if full is None:
                    full = np.argsort(col, kind="stable")[:free]
                choice = next((int(p) for p in full if self.allowed(int(p), level)), -1)
            if choice >= 0:
                break
        return choice, level
