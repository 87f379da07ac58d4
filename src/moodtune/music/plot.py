"""A picture of a track's arousal/valence curve (matplotlib, imported only here)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import MissingDependencyError
from moodtune.types import quadrant

if TYPE_CHECKING:
    from moodtune.music.features import TrackAnalysis

_QUADRANT_COLOURS = {
    "happy / excited": "#fde6b0",
    "tense / angry": "#f6c4c0",
    "sad / depressed": "#c9d6ee",
    "calm / relaxed": "#cfe8cf",
}


def plot_analysis(
    analysis: TrackAnalysis,
    path: Path,
    *,
    title: str = "",
    emotion_point: Mapping[str, Any] | None = None,
) -> Path:
    """Draw the curve over time and its path through the circumplex, as a PNG.

    Left: arousal and valence (y, [-1, 1]) over time (x, s), on bands coloured by the
    quadrant the track is in each second. Right: the (valence, arousal) path on the
    circumplex with its four quadrants named, coloured from start to end, and the mean.

    Parameters
    ----------
    analysis : TrackAnalysis
    path : Path
        PNG to write (folders are created).
    title : str
        Shown above the plot with the main features.
    emotion_point : mapping, optional
        The track's point with its lyrics
        (:func:`moodtune.music.lyrics.track_emotion_point`); when it has lyrics, the
        lyrics' point and the blended point are drawn beside the sound's mean.

    Returns
    -------
    Path
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(
            "--plot needs matplotlib: pip install 'moodtune[train]'"
        ) from exc
    a, v = analysis.arousal, analysis.valence
    t = (np.arange(a.shape[0]) + 0.5) * analysis.hop_s
    f = analysis.features
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [2.3, 1]}, constrained_layout=True
    )
    quiet = analysis.silent_seconds
    if quiet is None or quiet.shape != a.shape:
        quiet = np.zeros(a.shape, dtype=bool)
    for k in range(a.shape[0]):
        ax.axvspan(
            k * analysis.hop_s,
            (k + 1) * analysis.hop_s,
            color="0.88" if quiet[k] else _QUADRANT_COLOURS[quadrant(float(v[k]), float(a[k]))],
            lw=0,
        )
    ax.plot(t, a, color="#c0392b", lw=2.2, label="arousal (calm → energetic)")
    ax.plot(t, v, color="#2471a3", lw=2.2, label="valence (negative → positive)")
    ax.axhline(0, color="0.35", lw=0.8)
    ax.set_xlim(0, a.shape[0] * analysis.hop_s)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("[-1, 1]")
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles += [Patch(color=c, label=n) for n, c in _QUADRANT_COLOURS.items()]
    if quiet.any():
        handles.append(Patch(color="0.88", label="silent (not in the means)"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, ncol=3, framealpha=0.9)
    key_names = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"]
    key = f.get("key")
    mode = {1: "major", 0: "minor"}.get(f.get("mode"))  # type: ignore[arg-type]
    key_text = (
        f"{key_names[int(key)]} {mode or ''}".strip() if isinstance(key, int) and key >= 0 else "?"
    )

    def num(name: str, fmt: str) -> str:
        x = f.get(name)
        return format(x, fmt) if isinstance(x, (int, float)) else "?"

    ax.set_title(
        f"{title}   {num('tempo', '.0f')} BPM · {key_text} · {num('loudness', '.1f')} LUFS · "
        f"energy {num('energy', '.2f')} · valence {num('valence', '.2f')}"
        + ("  (silent)" if analysis.silent else ""),
        fontsize=10,
        loc="left",
    )
    # circumplex
    for (x0, y0), name in (
        ((0, 0), "happy / excited"),
        ((-1.05, 0), "tense / angry"),
        ((-1.05, -1.05), "sad / depressed"),
        ((0, -1.05), "calm / relaxed"),
    ):
        ax2.add_patch(plt.Rectangle((x0, y0), 1.05, 1.05, color=_QUADRANT_COLOURS[name], lw=0))
        ax2.text(
            x0 + 0.525, y0 + (0.95 if y0 == 0 else 0.1), name, ha="center", va="center",
            fontsize=9, color="0.25",
        )  # fmt: skip
    keep = ~quiet if not quiet.all() else np.ones(a.shape, dtype=bool)
    ax2.plot(v[keep], a[keep], color="0.4", lw=0.8, alpha=0.7)
    sc = ax2.scatter(v[keep], a[keep], c=t[keep], cmap="viridis", s=14, zorder=3)
    if not analysis.silent:
        ax2.scatter(
            [np.mean(v[keep])], [np.mean(a[keep])], marker="*", s=220, c="black", zorder=4,
            label="sound (mean)",
        )  # fmt: skip
    lyr = (emotion_point or {}).get("lyrics")
    if emotion_point is not None and lyr:
        share = float(emotion_point.get("lyrics_share", 0.0))
        ax2.scatter([lyr["valence"]], [lyr["arousal"]], marker="^", s=110, c="#c2185b",
                    zorder=4, label=f"lyrics ({lyr.get('label', '')})")  # fmt: skip
        ax2.scatter([emotion_point["valence"]], [emotion_point["arousal"]], marker="D", s=80,
                    c="white", edgecolors="black", zorder=5,
                    label=f"sound + lyrics ({share:.0%} words)")  # fmt: skip
        arrow = {"arrowstyle": "->", "color": "black", "lw": 1.2}
        blended = (emotion_point["valence"], emotion_point["arousal"])
        ax2.annotate("", xy=blended, xytext=(np.mean(v), np.mean(a)), arrowprops=arrow, zorder=4)
    ax2.set_xlim(-1.05, 1.05)
    ax2.set_ylim(-1.05, 1.05)
    ax2.set_aspect("equal")
    ax2.set_xlabel("valence")
    ax2.set_ylabel("arousal")
    ax2.legend(loc="upper left", fontsize=8, bbox_to_anchor=(0.0, 0.9))
    fig.colorbar(sc, ax=ax2, label="time (s)", shrink=0.85)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
