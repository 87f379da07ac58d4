"""``moodtune mix``: the CLI command (registered by :mod:`moodtune.cli`).

Errors propagate as :class:`~moodtune.errors.MoodtuneError`; ``moodtune.cli.main`` turns
them into one line and an exit code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer


def mix(
    input: Annotated[
        Path, typer.Argument(help="A voice recording (ogg, mp3, wav, m4a, ...) or a video.")
    ],
    track: Annotated[
        str | None,
        typer.Option("--track", help="Catalog id or music file (default: recommended)."),
    ] = None,
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help="match | uplift | calm | energize.")
    ] = "match",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output: .mp3/.m4a/.wav, or .mp4/.mov/.mkv/.webm for video."
        ),
    ] = None,
    loudness: Annotated[
        float,
        typer.Option("--loudness", help="Target LUFS: -16 default, -14 web video, -23 broadcast."),
    ] = -16.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Lay music that fits the mood under a voice track or a video (ducked, loudness-matched)."""
    from moodtune.service import get_service

    result = get_service().mix(
        input, track=track, strategy=strategy, output=output, loudness=loudness
    )
    data = result.to_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    depth = result.duck_depth_db
    depth_txt = f"{depth:.1f} dB" if math.isfinite(depth) else "n/a (no pauses)"
    name = result.track.get("name") or result.track.get("local_path")
    typer.echo(
        f"{result.output}: {result.duration_s:.2f} s{' video' if result.video else ''}, "
        f"music {name!r}, {result.loudness_lufs:.1f} LUFS, "
        f"true peak {result.true_peak_dbtp:.1f} dBTP, music ducked {depth_txt} under speech"
    )
    if result.track.get("note"):
        typer.echo(f"note: {result.track['note']}", err=True)
