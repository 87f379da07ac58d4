"""From a point on the emotion circumplex to target values of music features.

:func:`va_to_feature_targets` turns a target point (valence, arousal, both in [-1, 1],
Russell's circumplex as in :mod:`moodtune.types`) into target values of seven Spotify-style
audio features (:data:`TARGET_FEATURES`). The ranking then looks for the tracks nearest
to these targets in a standardised feature space (:mod:`moodtune.recommend.ranking`).

The mapping and why
-------------------
Let ``e = 0.5 + 0.5 * arousal`` (the energy target, clipped to [0.02, 0.98]).

=============  ==========================================  ========================
feature        target                                      range over [-1, 1]²
=============  ==========================================  ========================
valence        ``0.5 + 0.5 * valence`` (clipped)           0.02 … 0.98
energy         ``e``                                       0.02 … 0.98
tempo (BPM)    ``118 + 32 * arousal``                      86 … 150
loudness (dB)  ``-17 + 14 * e``                            -16.7 … -3.3
acousticness   ``0.95 * (1 - e) ** 2``                     0.0004 … 0.91
danceability   ``0.55 + 0.2 * valence + 0.1 * arousal``    0.25 … 0.85
mode           ``0.5 + 0.4 * valence`` (share of major)    0.1 … 0.9
=============  ==========================================  ========================

* **valence**: Spotify defines its valence as "the musical positiveness conveyed by a
  track" (Spotify Web API reference, audio features), the same axis as the listener's
  valence, so the mapping is the identity rescaled from [-1, 1] to [0, 1].
* **energy, tempo, loudness**: Spotify's energy is "a perceptual measure of intensity and
  activity", built from dynamic range, loudness, timbre and onset rate: the arousal axis.
  Fast tempo and high sound level are the most consistent cues of high arousal in music
  (Gabrielsson & Lindström 2010, "The role of structure in the musical expression of
  emotions", Handbook of Music and Emotion, ch. 14; Juslin & Laukka 2004, J. New Music
  Research 33(3); Husain, Thompson & Schellenberg 2002, Music Perception 20(2): tempo
  changes moved arousal, mode changes moved mood). The tempo span (86-150 BPM) sits inside
  the real catalogs' 5-95 % range (about 76-176 BPM). The loudness line is close to a least-
  squares fit of loudness on energy in the two real catalogs we looked at (TidyTuesday
  spotify_songs: -14.4 + 11.4 e; Kaggle Spotify 1921-2020 sample: -18.6 + 16.6 e), so a
  target is a loudness that real tracks of that energy have (-15.6 dB at e = 0.1,
  -4.4 dB at e = 0.9; catalogs span about -20 … -2 dB).
* **acousticness**: calm music is more often acoustic. The quadratic follows the median
  acousticness per energy band in the TidyTuesday catalog (0.87, 0.54, 0.19, 0.08, 0.02
  for energy bands of width 0.2), which is strongly non-linear.
* **danceability**: rises with valence in both catalogs (regression slope 0.22-0.33) and a
  little with arousal; a moodtune choice of small slopes, since the relation is weak.
* **mode**: major mode is the classic cue of positive valence (Hevner 1935; Gabrielsson &
  Lindström 2010). Spotify's mode is 0/1; the target is a share of major in [0.1, 0.9] so
  that it nudges rather than decides. In the real catalogs mode barely correlates with
  Spotify valence, which is why the ranking gives mode a small weight.

The coefficients are moodtune choices guided by these sources and fitted lines; they are
documented here so that they can be tuned against listening tests.
"""

from __future__ import annotations

import math

import numpy as np

from moodtune.errors import ParameterError

#: Features that get a target, in the column order of :func:`va_to_feature_matrix`.
TARGET_FEATURES: tuple[str, ...] = (
    "valence",
    "energy",
    "tempo",
    "loudness",
    "acousticness",
    "danceability",
    "mode",
)


def check_point(valence: float, arousal: float) -> tuple[float, float]:
    """Validate one circumplex point and return it as floats.

    Raises
    ------
    ParameterError
        If a coordinate is not a finite number in [-1, 1].
    """
    out = []
    for name, value in (("valence", valence), ("arousal", arousal)):
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}={value!r} must be a number in [-1, 1]") from None
        if not math.isfinite(x) or not -1.0 - 1e-9 <= x <= 1.0 + 1e-9:
            raise ParameterError(f"{name}={value!r} must be a finite number in [-1, 1]")
        out.append(min(1.0, max(-1.0, x)))
    return out[0], out[1]


def va_to_feature_matrix(points: np.ndarray) -> np.ndarray:
    """Map target points to feature targets, vectorised.

    Parameters
    ----------
    points : np.ndarray
        Shape (n, 2): valence, arousal per row, in [-1, 1] (values outside are clipped).

    Returns
    -------
    np.ndarray
        Shape (n, 7) float64, columns in :data:`TARGET_FEATURES` order, Spotify units
        (tempo in BPM, loudness in dB, the rest in [0, 1]).
    """
    va = np.clip(np.asarray(points, dtype=np.float64).reshape(-1, 2), -1.0, 1.0)
    v, a = va[:, 0], va[:, 1]
    energy = np.clip(0.5 + 0.5 * a, 0.02, 0.98)
    return np.column_stack(
        [
            np.clip(0.5 + 0.5 * v, 0.02, 0.98),  # valence
            energy,  # energy
            118.0 + 32.0 * a,  # tempo, BPM
            -17.0 + 14.0 * energy,  # loudness, dB
            0.95 * (1.0 - energy) ** 2,  # acousticness
            np.clip(0.55 + 0.2 * v + 0.1 * a, 0.0, 1.0),  # danceability
            0.5 + 0.4 * v,  # mode: share of major
        ]
    )


def va_to_feature_targets(valence: float, arousal: float) -> dict[str, float]:
    """Map one target point on the circumplex to target music features.

    Parameters
    ----------
    valence, arousal : float
        Target point, each in [-1, 1].

    Returns
    -------
    dict
        ``{feature: target}`` for :data:`TARGET_FEATURES`: valence, energy, acousticness,
        danceability in [0, 1]; tempo in BPM (86-150); loudness in dB (about -17 … -3);
        mode as the wished share of major keys in [0.1, 0.9]. See the module docstring.

    Raises
    ------
    ParameterError
        If a coordinate is not a finite number in [-1, 1].

    Examples
    --------
    >>> t = va_to_feature_targets(-0.7, -0.4)  # sad
    >>> round(t["valence"], 2), round(t["energy"], 2), round(t["tempo"])
    (0.15, 0.3, 105)
    """
    v, a = check_point(valence, arousal)
    row = va_to_feature_matrix(np.array([[v, a]]))[0]
    return {name: float(x) for name, x in zip(TARGET_FEATURES, row, strict=True)}


#: Valid range of an explicit target per feature (Spotify units; ``mode`` is a share of major).
FEATURE_RANGES: dict[str, tuple[float, float]] = {
    "valence": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "tempo": (40.0, 220.0),
    "loudness": (-60.0, 0.0),
    "acousticness": (0.0, 1.0),
    "danceability": (0.0, 1.0),
    "mode": (0.0, 1.0),
}


def check_feature_targets(targets: object) -> dict[str, float]:
    """Validate explicit feature targets (e.g. an LLM's proposal) and return them as floats.

    Parameters
    ----------
    targets : mapping
        ``{feature: value}`` with feature names from :data:`TARGET_FEATURES` (any subset) and
        values inside :data:`FEATURE_RANGES`.

    Returns
    -------
    dict
        The same targets as ``{feature: float}``.

    Raises
    ------
    ParameterError
        An unknown feature, a value that is not a finite number, or one out of range.
    """
    if not hasattr(targets, "items") or isinstance(targets, str | bytes):
        raise ParameterError(
            f"feature_targets={targets!r} must be a mapping such as {{'energy': 0.3}}"
        )
    out: dict[str, float] = {}
    for name, value in targets.items():
        if name not in FEATURE_RANGES:
            raise ParameterError(
                f"feature target {name!r} is unknown; use some of {', '.join(TARGET_FEATURES)}"
            )
        lo, hi = FEATURE_RANGES[name]
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = math.nan
        if isinstance(value, bool) or not math.isfinite(x) or not lo <= x <= hi:
            raise ParameterError(
                f"feature target {name}={value!r} must be a number from {lo:g} to {hi:g}"
            )
        out[name] = x
    return out
