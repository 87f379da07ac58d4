"""The ``moodtune`` command line: a thin adapter over :mod:`moodtune.service`.

Errors are turned into exit codes in ONE place, :func:`main`: 2 for usage errors
(bad value, bad input file), 1 for runtime errors; the message is one line on stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from moodtune.config import DEFAULT_TRACKS
from moodtune.errors import MoodtuneError, ParameterError

app = typer.Typer(
    name="moodtune",
    help="Hears how you feel (voice or text, Russian or English) and answers with music.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="Manage the music catalog.", no_args_is_help=True)
train_app = typer.Typer(help="Train moodtune's model heads (needs the train extra).")
evaluate_app = typer.Typer(help="Evaluate model heads on held-out data.")
app.add_typer(catalog_app, name="catalog")
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")
subsonic_app = typer.Typer(
    help="A Subsonic server (Navidrome, gonic, Airsonic...) from MOODTUNE_SUBSONIC_URL, "
    "MOODTUNE_SUBSONIC_USER and MOODTUNE_SUBSONIC_PASSWORD.",
    no_args_is_help=True,
)
app.add_typer(subsonic_app, name="subsonic")

out = Console()
err = Console(stderr=True)
#: Terminals at least this wide show the playlist's reasons in a table column.
WIDE_TABLE_COLUMNS = 120

TextOpt = Annotated[str | None, typer.Option("--text", "-t", help="A typed message.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the playlist to a .m3u8, .xspf or .json file."),
]
LocalOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--local-only",
        help="Only tracks with a local file: recommend picks among your scanned files; "
        "similar and journey leave the others out of --out (and count them).",
    ),
]
ToOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        "--player",
        help="Send the playlist to a player: mpd, mpd://host:port, or subsonic "
        "(the server in MOODTUNE_SUBSONIC_URL).",
    ),
]
#: For commands whose ``--to`` means something else (``journey --to MOOD``).
PlayerOpt = Annotated[
    str | None,
    typer.Option(
        "--player",
        help="Send the playlist to a player: mpd, mpd://host:port, or subsonic "
        "(the server in MOODTUNE_SUBSONIC_URL).",
    ),
]
ReplaceOpt = Annotated[
    bool, typer.Option("--replace", help="With --to mpd: replace the queue and play it.")
]


FileArg = Annotated[
    Path | None,
    typer.Argument(help="A voice message: ogg/opus, webm, mp3, wav, flac, m4a, mp4/mov."),
]
LanguageOpt = Annotated[
    str, typer.Option("--language", "-l", help="Language of the voice message: auto | ru | en.")
]


def _need_message(file: Path | None, text: str | None) -> None:
    if file is None and text is None:
        raise ParameterError("give a message: a voice FILE or --text 'how you feel'")


def _bar(p: float, width: int = 24) -> str:
    filled = round(p * width)
    return "█" * filled + "·" * (width - filled)


def _print_emotion(result: Any) -> None:
    from moodtune.types import LABELS

    if result.transcript is not None:
        said = result.transcript or "(no words heard: the voice alone decides)"
        out.print(f"[bold]Transcript[/] ({result.language}): {said}", highlight=False)
    elif "given" not in result.parts:
        out.print(f"[bold]Language[/]: {result.language}")
    rows = list(result.parts.items())
    if len(result.parts) > 1:
        rows.append(("fused", result.emotion))
    from moodtune.fusion import is_unsure

    for name, est in rows:
        if name == "voice" and is_unsure(est):
            out.print(
                f"\n[bold]{name}[/]: unsure  valence {est.valence:+.2f}  "
                f"arousal {est.arousal:+.2f}  confidence {est.confidence:.2f}"
            )
            continue
        out.print(
            f"\n[bold]{name}[/]: [bold cyan]{est.label}[/]  valence {est.valence:+.2f}  "
            f"arousal {est.arousal:+.2f}  confidence {est.confidence:.2f}"
        )
        if getattr(est, "mixed", ()):
            out.print(f"  mixed feelings: [bold cyan]{' + '.join(est.mixed)}[/]")
        probs = est.probability_dict()
        for lab in sorted(LABELS, key=lambda k: -probs[k]):
            out.print(f"  {lab:<10} {_bar(probs[lab])} {probs[lab] * 100:5.1f}%")


@app.command()
def emotion(
    file: FileArg = None,
    text: TextOpt = None,
    language: LanguageOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Show the emotion heard in a voice message (voice, words, fused) or a text."""
    from moodtune.service import get_service

    _need_message(file, text)
    result = get_service().emotion_of(text=text, audio=file, language=language)
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _print_emotion(result)


@app.command()
def recommend(
    file: FileArg = None,
    text: TextOpt = None,
    language: LanguageOpt = "auto",
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help="match | uplift | calm | energize")
    ] = "match",
    n: Annotated[int, typer.Option("--n", "-n", help="Playlist length (1-100).")] = DEFAULT_TRACKS,
    seed: Annotated[int | None, typer.Option(help="Seed for a reproducible playlist.")] = None,
    year_min: Annotated[int | None, typer.Option(help="Earliest release year.")] = None,
    year_max: Annotated[int | None, typer.Option(help="Latest release year.")] = None,
    genre: Annotated[
        list[str] | None, typer.Option("--genre", "-g", help="Only these genres (repeatable).")
    ] = None,
    no_explicit: Annotated[bool, typer.Option(help="Leave out explicit tracks.")] = False,
    max_duration: Annotated[float | None, typer.Option(help="Longest track, in seconds.")] = None,
    min_duration: Annotated[
        float, typer.Option(help="Shortest track, in seconds (0 allows jingles).")
    ] = 60.0,
    profile: Annotated[
        str,
        typer.Option(
            help="Listener profile: its last 5 playlists are not repeated (ignored with --seed)."
        ),
    ] = "local",
    llm: Annotated[
        bool | None,
        typer.Option(
            "--llm/--no-llm",
            help="Ask the LLM at MOODTUNE_LLM_URL for the music targets (default: when set).",
        ),
    ] = None,
    valence: Annotated[
        float | None,
        typer.Option(help="Instead of a message: a mood's valence, -1..1 (with --arousal)."),
    ] = None,
    arousal: Annotated[
        float | None, typer.Option(help="Instead of a message: a mood's arousal, -1..1.")
    ] = None,
    out_file: OutOpt = None,
    local_only: LocalOnlyOpt = False,
    to: ToOpt = None,
    replace: ReplaceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Recommend a playlist for the mood of a voice message, a text, or a valence/arousal point."""
    from moodtune.recommend import Filters
    from moodtune.service import get_service

    _check_delivery(to, replace)
    point = valence is not None or arousal is not None
    if point and (file is not None or text is not None):
        raise ParameterError("give a message or --valence/--arousal, not both")
    if not point:
        _need_message(file, text)
    filters = Filters(
        year_min=year_min,
        year_max=year_max,
        genres=frozenset(genre) if genre else None,
        explicit=not no_explicit,
        max_duration_s=max_duration,
        min_duration_s=min_duration,
    )
    svc = get_service()
    listener = f"cli:{profile}"
    only = _playable_on(to) or (("local:",) if local_only else None)
    if point:
        playlist = svc.recommend(
            svc.emotion_given(valence=valence, arousal=arousal),
            strategy=strategy,
            n=n,
            filters=filters,
            seed=seed,
            llm=llm,
            listener=listener,
            only_prefixes=only,
        )
    else:
        playlist = svc.recommend_for(
            text=text,
            audio=file,
            language=language,
            strategy=strategy,
            n=n,
            filters=filters,
            seed=seed,
            llm=llm,
            listener=listener,
            only_prefixes=only,
        )
    result = playlist.emotion
    if out_file is not None or to is not None:
        _deliver(
            [t["id"] for t in playlist.tracks],
            title=f"moodtune: {result.emotion.label} ({strategy})",
            out_file=out_file,
            local_only=local_only,
            to=to,
            replace=replace,
            quiet=as_json,
        )
    if as_json:
        print(json.dumps(playlist.to_dict(), ensure_ascii=False))
        return
    _print_emotion(result)
    _print_targets(playlist.targets)
    # a narrow terminal gets the reasons under the table, one wrapped line per track,
    # rather than a squeezed "why" column that wraps to many lines per row
    wide = out.width >= WIDE_TABLE_COLUMNS
    table = Table(title=f"\nPlaylist ({strategy})", show_lines=False)
    for col in ("#", "track", "artists", "genre", "val", "energy", "bpm", "why")[
        : None if wide else -1
    ]:
        table.add_column(col, overflow="fold")
    for i, t in enumerate(playlist.tracks, 1):
        name = f"[link={t['url']}]{t['name']}[/link]" if t["url"] else t["name"]
        cells = [
            str(i),
            name,
            ", ".join(t["artists"]),
            t["genre"] or "",
            f"{t['valence']:.2f}",
            f"{t['energy']:.2f}",
            f"{t['tempo']:.0f}",
        ]
        table.add_row(*cells, *([t["reason"]] if wide else []))
    out.print(table)
    for note in playlist.notes:
        err.print(f"note: {note}", highlight=False)
    for i, t in enumerate(playlist.tracks, 1):
        if not wide and t["reason"]:
            out.print(Text(f"{i:>2}. why: {t['reason']}"), highlight=False)
        if t["url"]:
            out.print(f"{i:>2}. {t['url']}" if wide else f"    {t['url']}", style="dim")


def _check_delivery(to: str | None, replace: bool) -> None:
    """Validate ``--to``/``--replace`` before any model runs."""
    if to is not None and not (to in {"subsonic", "mpd"} or to.startswith("mpd://")):
        raise ParameterError(f"--to {to!r}: use mpd, mpd://host:port or subsonic")
    if replace and (to is None or to == "subsonic"):
        raise ParameterError("--replace goes with --to/--player mpd (it replaces MPD's queue)")


def _playable_on(to: str | None) -> tuple[str, ...] | None:
    """Catalog id prefixes of the tracks ``--to`` can play (None: every track).

    MPD plays local files; a Subsonic server its own songs.
    """
    if to is None:
        return None
    if to == "subsonic":
        from moodtune.service import get_service

        return (f"subsonic:{get_service().subsonic_client().config.server_key}:",)
    return ("local:",)


def _deliver(
    track_ids: list[str],
    *,
    title: str,
    out_file: Path | None,
    local_only: bool,
    to: str | None,
    replace: bool,
    quiet: bool,
) -> None:
    """Write a playlist file and/or send the playlist to MPD or a Subsonic server."""
    from moodtune.service import get_service

    _check_delivery(to, replace)
    console = err if quiet else out
    svc = get_service()
    if out_file is not None:
        rep = svc.export_playlist(track_ids, out_file, local_only=local_only, title=title)
        note = f", {rep.skipped} without a local file left out" if rep.skipped else ""
        console.print(
            f"playlist file: {rep.path} ({rep.fmt}: {rep.local} local files, "
            f"{rep.links} links{note})",
            highlight=False,
        )
    if to == "subsonic":
        pushed = svc.subsonic_push(track_ids, name=title)
        console.print(
            f"Subsonic playlist {pushed.name!r}: {len(pushed.song_ids)} songs "
            f"({pushed.matched} found by title and artist), {len(pushed.missing)} not on "
            "the server",
            highlight=False,
        )
    elif to is not None:
        queued = svc.queue_on_mpd(track_ids, to, replace=replace)
        how = "replaced the queue with" if queued.replaced else "queued"
        console.print(
            f"MPD {queued.host}:{queued.port}: {how} {len(queued.queued)} tracks"
            + (f"; {queued.no_file} have no local file" if queued.no_file else "")
            + (f"; {len(queued.not_found)} not in MPD's library" if queued.not_found else ""),
            highlight=False,
        )


def _print_targets(targets: dict[str, Any] | None) -> None:
    if not targets:
        return
    t = targets["targets"]
    line = (
        f"targets ({targets['source']}): valence {t['valence']:.2f}, energy {t['energy']:.2f}, "
        f"tempo {t['tempo']:.0f} BPM, loudness {t['loudness']:.1f} dB, "
        f"acousticness {t['acousticness']:.2f}, danceability {t['danceability']:.2f}, "
        f"major {t['mode']:.0%}"
    )
    out.print(line, highlight=False)
    if targets.get("why"):
        out.print(f"  why: {targets['why']}", style="dim", highlight=False)
    if targets.get("note") and targets["source"] == "llm":
        out.print(f"  note: {targets['note']}", style="dim", highlight=False)
    elif targets.get("note") and not targets["note"].startswith("LLM not requested"):
        out.print(f"  {targets['note']}", style="yellow", highlight=False)


LlmOpt = Annotated[
    bool | None,
    typer.Option(
        "--llm/--no-llm",
        help="Describe the track with the LLM at MOODTUNE_LLM_URL (default: when it is set).",
    ),
]


def _check_png(path: Path, *, option: str) -> None:
    """Refuse a plot path that is not a .png or whose folder does not exist (before work)."""
    if path.suffix.lower() != ".png":
        raise ParameterError(
            f"{option} {path}: the plot is a PNG image; give a file name ending in .png"
        )
    folder = path.expanduser().parent
    if not folder.is_dir():
        raise ParameterError(
            f"{option} {path}: the folder {folder} does not exist; create it first "
            "or choose another"
        )


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="A music file: mp3, ogg, opus, flac, wav, m4a.")],
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the arousal/valence curve as a PNG.")
    ] = None,
    lyrics: Annotated[
        bool,
        typer.Option(
            "--lyrics/--no-lyrics",
            help="Transcribe sung words with Whisper (a .lrc/.txt beside the file is read anyway).",
        ),
    ] = True,
    llm: LlmOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Features, arousal/valence curve, genre, lyrics emotion and a description of a track."""
    from moodtune.service import get_service

    if plot is not None:
        _check_png(plot, option="--plot")
    report = get_service().analyze_track(file, lyrics=lyrics, llm=llm)
    if plot is not None:
        report.plot(plot, title=file.stem)
    data = report.to_dict()
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    table = Table(title=f"{file.name}", show_header=False)
    for key, value in data["features"].items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    out.print(table)
    if data.get("silent"):
        out.print(f"\n[bold]silent[/bold]: {data['description']['text']}", highlight=False)
        out.print("no tempo, key, genre or emotion point; playlists never offer it")
        if plot:
            out.print(f"plot: {plot}")
        return
    summary = Table(title="arousal/valence curve (hop 1 s, -1..1)", show_header=False)
    for key, value in data["summary"].items():
        text = f"{value:+.3f}" if isinstance(value, float) else str(value)
        summary.add_row(key, text)
    out.print(summary)
    _print_genre(data["genre"])
    _print_lyrics(data["lyrics"])
    point = data["emotion_point"]
    spans = data["curve"].get("silent_spans") or []
    if spans:
        out.print(
            "\nsilent stretches (marked, left out of the means): "
            + ", ".join(f"{a:.0f}-{b:.0f} s" for a, b in spans),
            highlight=False,
        )
    out.print(
        f"\nemotion point: valence {point['valence']:+.2f}  arousal {point['arousal']:+.2f}"
        f"  (sound {point['audio']['valence']:+.2f}/{point['audio']['arousal']:+.2f}, "
        f"lyrics share {point['lyrics_share']:.0%})",
        highlight=False,
    )
    desc = data["description"]
    out.print(f"\n{desc['text']}", highlight=False)
    if desc["source"] == "llm":
        out.print(f"  (described by {desc['model']})", style="dim")
    elif desc.get("note"):
        out.print(f"  ({desc['note']})", style="yellow", highlight=False)
    if plot:
        out.print(f"plot: {plot}")


def _print_genre(genre: dict[str, Any]) -> None:
    """The genre lines of ``analyze``: label, where it comes from, and the probabilities."""
    guess = genre.get("guess", genre["label"])
    if guess == "other":
        said = f"the classifier abstains: {genre.get('abstained') or 'no genre likely'}"
    else:
        unsure = genre["probabilities"].get(guess, 0.0) < 0.5
        said = f"classifier: {guess}" + (", an uncertain guess" if unsure else "")
    if genre["source"] == "tag":
        out.print(f"\ngenre: [bold]{genre['label']}[/bold] (the file's tag; {said})")
    else:
        out.print(f"\ngenre: [bold]{genre['label']}[/bold]  ({genre['model']}; {said})")
    for name, p in sorted(genre["probabilities"].items(), key=lambda kv: -kv[1]):
        out.print(f"  {name:<6} {_bar(p)} {p:6.1%}", highlight=False)


def _print_lyrics(lyr: dict[str, Any] | None) -> None:
    """The lyrics lines of ``analyze``: where the words come from and their emotion."""
    if lyr is None:
        out.print("\nlyrics: none (no vocals heard and no .lrc/.txt next to the file)")
    else:
        where = {"lrc": "from the .lrc file", "txt": "from the .txt file"}.get(
            lyr["source"], "heard by Whisper"
        )
        out.print(
            f"\nlyrics ({where}, {lyr['language'] or 'language unknown'}): "
            f"[bold]{lyr['label']}[/bold]  valence {lyr['valence']:+.2f}  "
            f"arousal {lyr['arousal']:+.2f}  confidence {lyr['confidence']:.2f}",
            highlight=False,
        )
        words = lyr["text"] if len(lyr["text"]) <= 200 else lyr["text"][:197] + "..."
        out.print(f"  “{words}”", style="dim", highlight=False)


@app.command()
def scan(
    directory: Annotated[Path, typer.Argument(help="A folder of music files (searched deeply).")],
    workers: Annotated[int | None, typer.Option(help="Parallel workers (default: cores).")] = None,
    engine: Annotated[str, typer.Option(help="local | ray (needs moodtune[ray]).")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    lyrics: Annotated[
        bool,
        typer.Option(
            "--lyrics/--no-lyrics",
            help="Transcribe sung words of tracks with vocals (.lrc/.txt files are read anyway).",
        ),
    ] = True,
    write_tags: Annotated[
        bool,
        typer.Option(
            "--write-tags",
            help="Write BPM, key, mood, arousal/valence, energy and danceability into the "
            "files' tags (MP3, FLAC, Ogg, M4A).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --write-tags: only show what would change.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a local music library to the catalog: analysed in parallel, incremental, resumable.

    Each track gets features, a per-second arousal/valence curve, genre probabilities and,
    when it has words, the emotion of its lyrics.
    """
    from moodtune.catalog.scan import rich_progress
    from moodtune.service import get_service

    if not directory.is_dir():
        raise ParameterError(f"{directory} is not a folder; give the folder of your music")
    if dry_run and not write_tags:
        raise ParameterError("--dry-run goes with --write-tags")
    with rich_progress() as progress:
        report = get_service().scan(
            directory,
            engine=engine,
            workers=workers,
            ray_address=ray_address,
            progress=progress,
            lyrics=lyrics,
        )
    data = report.to_dict()
    tags = None
    if write_tags and not report.interrupted:
        tags = get_service().write_tags(directory, dry_run=dry_run)
        data["tags"] = tags.to_dict()
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        if tags is not None:
            _print_tag_report(tags)
        out.print(
            f"{data['found']} audio files: {data['analysed']} analysed, {data['unchanged']} "
            f"unchanged, {data['reused']} recognised by content, {len(report.failed)} failed "
            f"({data['seconds']} s, {data['realtime_factor']}x real time)"
        )
        for path, reason in report.failed:
            err.print(f"failed: {path}: {reason}", highlight=False)
    if report.interrupted:
        err.print(
            f"interrupted: {report.pending} of {report.found} files not done yet; "
            "run the same command again to continue"
        )
        raise typer.Exit(130)


def _print_tag_report(tags: Any) -> None:
    verb = "would change" if tags.dry_run else "changed"
    for path, changes in tags.changes.items():
        out.print(f"{path}:", highlight=False)
        for name, (old, new) in changes.items():
            out.print(f"  {name}: {old if old is not None else '(none)'} -> {new}", highlight=False)
    for path, reason in tags.skipped:
        err.print(f"tags not written: {path}: {reason}", highlight=False)
    out.print(
        f"tags: {tags.written} files {verb}, {tags.unchanged} already up to date, "
        f"{len(tags.skipped)} skipped" + (" (dry run: nothing written)" if tags.dry_run else "")
    )


@app.command()
def journey(
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="Start: an emotion (sad, calm, ...), a valence,arousal point or a track id.",
        ),
    ],
    end: Annotated[str, typer.Option("--to", help="End: the same kinds as --from.")],
    n: Annotated[int, typer.Option("--n", "-n", help="Steps, ends included (2-100).")] = 12,
    seed: Annotated[int | None, typer.Option(help="Seed for a reproducible journey.")] = None,
    min_duration: Annotated[
        float, typer.Option(help="Shortest track, in seconds (0 allows jingles).")
    ] = 60.0,
    profile: Annotated[str, typer.Option(help="Listener profile (see recommend).")] = "local",
    out_file: OutOpt = None,
    local_only: LocalOnlyOpt = False,
    player: PlayerOpt = None,
    replace: ReplaceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """A smooth path of real tracks from one mood or track to another."""
    from moodtune.recommend import Filters
    from moodtune.service import get_service

    _check_delivery(player, replace)
    playlist = get_service().journey(
        start,
        end,
        n=n,
        seed=seed,
        filters=Filters(min_duration_s=min_duration),
        listener=f"cli:{profile}",
    )
    if out_file is not None or player is not None:
        _deliver(
            [t["id"] for t in playlist.tracks],
            title=f"moodtune: journey from {start} to {end}",
            out_file=out_file,
            local_only=local_only,
            to=player,
            replace=replace,
            quiet=as_json,
        )
    if as_json:
        print(json.dumps(playlist.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"Journey from {start} to {end}", show_lines=False)
    for col in ("#", "track", "artists", "val", "energy", "bpm", "why"):
        table.add_column(col, overflow="fold")
    for i, t in enumerate(playlist.tracks, 1):
        table.add_row(
            str(i),
            t["name"],
            ", ".join(t["artists"]),
            "" if t["valence"] is None else f"{t['valence']:.2f}",
            "" if t["energy"] is None else f"{t['energy']:.2f}",
            "" if not t["tempo"] else f"{t['tempo']:.0f}",
            t["reason"],
        )
    out.print(table)
    for note in playlist.notes:
        err.print(f"note: {note}", highlight=False)


@app.command()
def similar(
    track: Annotated[str, typer.Argument(help="A catalog track id or a music file.")],
    n: Annotated[int, typer.Option("--n", "-n", help="How many tracks (1-100).")] = 10,
    genre: Annotated[
        list[str] | None,
        typer.Option("--genre", "-g", help="Only these genres (repeatable), local tracks too."),
    ] = None,
    out_file: OutOpt = None,
    local_only: LocalOnlyOpt = False,
    to: ToOpt = None,
    replace: ReplaceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Find tracks like a catalog track or a music file."""
    from moodtune.service import get_service

    _check_delivery(to, replace)
    if not 1 <= n <= 100:
        raise ParameterError(f"n={n} is out of range; ask for 1 to 100 tracks")
    info, tracks = get_service().similar(track, n=n, genres=genre or None)
    if out_file is not None or to is not None:
        _deliver(
            [t.id for t in tracks],
            title=f"moodtune: like {info.get('name') or track}",
            out_file=out_file,
            local_only=local_only,
            to=to,
            replace=replace,
            quiet=as_json,
        )
    if as_json:
        print(json.dumps({"query": info, "tracks": [t.to_dict() for t in tracks]}))
        return
    table = Table(title=f"tracks like {info.get('name') or track}")
    for col in ("#", "track", "artists", "distance", "curve distance", "file"):
        table.add_column(col, overflow="fold")
    for i, t in enumerate(tracks, 1):
        d = t.to_dict()
        table.add_row(
            str(i),
            d["name"],
            d["artists"],
            f"{d['distance']:.3f}",
            "" if d["curve_distance"] is None else f"{d['curve_distance']:.3f}",
            d["local_path"] or "",
        )
    out.print(table)


@subsonic_app.command("library")
def subsonic_library(as_json: JsonOpt = False) -> None:
    """List the server's artists, albums and songs (stream URLs with --json)."""
    from moodtune.service import get_service

    client = get_service().subsonic_client()
    client.ping()
    artists: list[dict[str, Any]] = []
    for artist in client.artists():
        albums: list[dict[str, Any]] = []
        for album in client.albums_of(str(artist["id"])):
            songs = [
                {
                    "id": str(song["id"]),
                    "title": song.get("title"),
                    "artist": song.get("artist"),
                    "duration_s": song.get("duration"),
                    "stream_url": client.stream_url(str(song["id"])),
                }
                for song in client.songs_of(str(album["id"]))
            ]
            albums.append({"id": str(album["id"]), "name": album.get("name"), "songs": songs})
        artists.append({"id": str(artist["id"]), "name": artist.get("name"), "albums": albums})
    if as_json:  # stream URLs carry credentials: printed only when asked for JSON
        print(json.dumps({"server": client.config.url, "artists": artists}, ensure_ascii=False))
        return
    table = Table(title=f"Subsonic library at {client.config.url}")
    for col in ("artist", "album", "songs"):
        table.add_column(col, overflow="fold")
    for a in artists:
        for al in a["albums"]:
            table.add_row(str(a["name"]), str(al["name"]), str(len(al["songs"])))
    out.print(table)


@subsonic_app.command("scan")
def subsonic_scan(
    lyrics: Annotated[
        bool,
        typer.Option("--lyrics/--no-lyrics", help="Transcribe sung words (slower)."),
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Parallel analyses (default: cores).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Analyse the server's songs into the catalog (incremental; no file is kept)."""
    from moodtune.catalog.scan import rich_progress
    from moodtune.service import get_service

    with rich_progress() as progress:
        report = get_service().subsonic_scan(lyrics=lyrics, workers=workers, progress=progress)
    data = report.to_dict()
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    out.print(
        f"{data['server']}: {data['artists']} artists, {data['albums']} albums, "
        f"{data['songs']} songs: {data['analysed']} analysed, {data['unchanged']} unchanged, "
        f"{data['reused']} recognised by content, {data['removed']} gone from the server, "
        f"{len(report.failed)} failed ({data['seconds']} s)",
        highlight=False,
    )
    for song_id, reason in report.failed:
        err.print(f"failed: song {song_id}: {reason}", highlight=False)


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(help="CSV file (Kaggle 160k, TidyTuesday, generic).")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto | kaggle | tidytuesday | generic")
    ] = "auto",
) -> None:
    """Import tracks from a CSV file; bad rows are reported and skipped."""
    from moodtune.service import get_service

    report = get_service().catalog_import(file, fmt=fmt)
    for line, reason in report.skipped:
        err.print(f"line {line}: skipped: {reason}")
    out.print(
        f"imported {file} ({report.fmt}): {report.added} added, {report.updated} updated, "
        f"{len(report.skipped)} skipped"
        + (
            f"; {report.genres_predicted} tracks without a genre got the genre classifier's"
            if report.genres_predicted
            else ""
        )
    )


@catalog_app.command("stats")
def catalog_stats(as_json: JsonOpt = False) -> None:
    """Show how many tracks the catalog holds, by genre and year."""
    from moodtune.service import get_service

    stats = get_service().catalog_stats()
    if as_json:
        print(json.dumps(stats, ensure_ascii=False, default=str))
        return
    table = Table(title="catalog", show_header=False)
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        table.add_row(str(key), str(value))
    out.print(table)


@app.command()
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
    import math

    from moodtune.service import get_service

    result = get_service().mix(
        input, track=track, strategy=strategy, output=output, loudness=loudness
    )
    data = result.to_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    depth = result.duck_depth_db
    depth_txt = (
        f"{depth:.1f} dB"
        if math.isfinite(depth)
        else "n/a (no pause of 2 s or more to measure it in)"
    )
    name = result.track.get("name") or result.track.get("local_path")
    typer.echo(
        f"{result.output}: {result.duration_s:.2f} s{' video' if result.video else ''}, "
        f"music {name!r}, {result.loudness_lufs:.1f} LUFS, "
        f"true peak {result.true_peak_dbtp:.1f} dBTP, music ducked {depth_txt} under speech"
    )
    if result.track.get("note"):
        typer.echo(f"note: {result.track['note']}", err=True)


def _register_interfaces() -> None:
    """Commands whose code lives with their interface (thin adapters over the service)."""
    from moodtune.api.cli import serve  # each imports its heavy libraries only when it runs
    from moodtune.bot.cli import bot

    app.command()(serve)
    app.command()(bot)


_register_interfaces()


def _progress_bar() -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=err,
    )


def _progress_callback(bar: Any) -> Any:
    tasks: dict[str, Any] = {}

    def cb(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(f"embedding {name}", total=total)
        bar.update(tasks[name], completed=done)

    return cb


DataOpt = Annotated[Path, typer.Option("--data", help="Folder of the labelled data.")]


@train_app.command("text-emotion")
def train_text_emotion(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Where weights and reports go.")],
    cache: Annotated[Path | None, typer.Option(help="Embedding cache folder.")] = None,
) -> None:
    """Train the text emotion head on the text_emotion corpora."""
    from moodtune.train.text_emotion import train_text_emotion as train

    _require_dir(data)
    with _progress_bar() as bar:
        report = train(data, out_dir, cache_dir=cache, progress=_progress_callback(bar))
    _print_text_report(report)
    out.print(f"weights: {out_dir / 'text_emotion_head.npz'}")


@evaluate_app.command("text-emotion")
def evaluate_text_emotion(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the report goes.")] = Path(
        "reports"
    ),
    model: Annotated[Path | None, typer.Option(help="Head weights (default: shipped).")] = None,
    cache: Annotated[Path | None, typer.Option(help="Embedding cache folder.")] = None,
    messages: Annotated[
        Path | None,
        typer.Option(help="Short-message set (default: tests/data/short_messages.csv)."),
    ] = None,
) -> None:
    """Print accuracy and macro-F1 per dataset and language on held-out test splits.

    Also scores the short-message evaluation set (accuracy, macro-F1, recall per label,
    per language and style) and writes its confusion matrix.
    """
    from moodtune.train.text_emotion import evaluate_text_emotion as evaluate

    _require_dir(data)
    with _progress_bar() as bar:
        report = evaluate(
            data,
            out_dir,
            head_path=model,
            cache_dir=cache,
            progress=_progress_callback(bar),
            messages=messages,
        )
    _print_text_report(report)
    (Path(out_dir) / "text_emotion_report.json").write_text(json.dumps(report, indent=2))


@train_app.command("speech-emotion")
def train_speech_emotion(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Where weights and reports go.")],
    cache: Annotated[Path | None, typer.Option(help="Feature cache folder.")] = None,
) -> None:
    """Train the speech emotion head on the speech_emotion corpora (with augmentation)."""
    from moodtune.train.speech_emotion import train_speech_emotion as train

    _require_dir(data)
    with _progress_bar() as bar:
        report = train(data, out_dir, cache_dir=cache, progress=_progress_callback(bar))
    _print_loco_report(report)
    out.print(f"weights: {out_dir / 'speech_emotion_head.npz'}")


@evaluate_app.command("speech-emotion")
def evaluate_speech_emotion(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the report goes.")] = Path(
        "reports"
    ),
    model: Annotated[Path | None, typer.Option(help="Head weights (default: shipped).")] = None,
    cache: Annotated[Path | None, typer.Option(help="Feature cache folder.")] = None,
    loco: Annotated[
        bool,
        typer.Option(
            "--loco",
            help="Leave one corpus out: train on all corpora but one, test on it, for each.",
        ),
    ] = False,
) -> None:
    """Print UAR, binary arousal/valence UAR and calibration per corpus.

    Without --loco the head is scored on each corpus's test speakers (the shipped head
    learned from every speaker of its training corpora: only unseen corpora are held
    out). With --loco, every corpus is scored by a head that never heard it.
    """
    from moodtune.train import speech_emotion as se

    _require_dir(data)
    with _progress_bar() as bar:
        if loco:
            report = se.leave_one_corpus_out(
                data, out_dir, cache_dir=cache, progress=_progress_callback(bar)
            )
        else:
            report = se.evaluate_speech_emotion(
                data, model, out_dir, cache_dir=cache, progress=_progress_callback(bar)
            )
    if loco:
        _print_loco_report(report)
    else:
        _print_speech_table(report["datasets"], "speech emotion, test speakers")


def _print_speech_table(
    rows: dict[str, Any], title: str, beside: dict[str, Any] | None = None
) -> None:
    table = Table(title=title)
    cols = ["corpus", "mode", "n", "UAR (its labels)", "UAR (7-way)", "arousal UAR"]
    cols += ["valence UAR", "ECE", "ECE uncalibrated"]
    if beside is not None:
        cols.append("in-corpus UAR")
    for col in cols:
        table.add_column(col)
    for name, modes in rows.items():
        for mode, m in modes.items():
            cells = [name, mode, str(m.get("n", ""))]
            cells += [f"{m[k]:.3f}" for k in ("uar", "uar7", "arousal_uar", "valence_uar", "ece")]
            cells.append(f"{m['ece_raw']:.3f}" if "ece_raw" in m else "")
            if beside is not None:
                inside = beside.get(name, {}).get(mode)
                cells.append(f"{inside['uar']:.3f}" if inside else "")
            table.add_row(*cells)
    out.print(table)


def _print_loco_report(report: dict[str, Any]) -> None:
    _print_speech_table(
        report["loco"],
        "speech emotion, leave one corpus out (in-corpus test speakers beside, not used to choose)",
        beside=report.get("in_corpus", {}),
    )
    table = Table(title="mean over the training corpora (held out one at a time)")
    for col in ("mode", "UAR (its labels)", "UAR (7-way)", "arousal UAR", "valence UAR", "ECE"):
        table.add_column(col)
    for mode, m in report["mean"].items():
        keys = ("uar", "uar7", "arousal_uar", "valence_uar", "ece")
        table.add_row(mode, *(f"{m[k]:.3f}" for k in keys))
    out.print(table)


@train_app.command("fusion")
def train_fusion(
    speech_data: Annotated[Path, typer.Option("--speech-data", help="speech_emotion folder.")],
    text_data: Annotated[Path, typer.Option("--text-data", help="text_emotion folder.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where fusion.json goes.")],
    cache: Annotated[Path | None, typer.Option(help="Cache folder.")] = None,
    voice_predictions: Annotated[
        Path | None,
        typer.Option(
            "--voice-predictions",
            help="speech_emotion_loco_predictions.npz from 'train speech-emotion'.",
        ),
    ] = None,
) -> None:
    """Tune the voice/text fusion on held-out pairs (voice side: leave-one-corpus-out)."""
    from moodtune.train.fusion import train_fusion as train

    _require_dir(speech_data)
    _require_dir(text_data)
    with _progress_bar() as bar:
        report = train(
            speech_data,
            text_data,
            out_dir,
            cache_dir=cache,
            voice_predictions=voice_predictions,
            progress=_progress_callback(bar),
        )
    table = Table(title=f"fusion on held-out pairs {report['pairs']}")
    for col in ("source", "accuracy", "UAR", "macro-F1"):
        table.add_column(col)
    for name in ("voice_only", "text_only", "fused"):
        m = report[name]
        table.add_row(name, f"{m['accuracy']:.3f}", f"{m['uar']:.3f}", f"{m['macro_f1']:.3f}")
    out.print(table)
    out.print(f"parameters: {report['params']} -> {out_dir / 'fusion.json'}")


@train_app.command("music-emotion")
def train_music_emotion(
    data: DataOpt,
    out_file: Annotated[Path, typer.Option("--out", help="Model .npz to write.")],
    cache: Annotated[
        Path | None, typer.Option(help="Folder caching the clips' vibenet features.")
    ] = None,
) -> None:
    """Train the music arousal/valence heads on 4Q and the annotated clips (music_emotion)."""
    from moodtune.train.music_emotion import train_music_emotion as train

    _require_dir(data)
    result = train(data, out_file, cache=cache)
    out.print(json.dumps(result, indent=2, default=str))


@evaluate_app.command("music-emotion")
def evaluate_music_emotion(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the report goes.")] = Path(
        "reports"
    ),
    cache: Annotated[
        Path | None, typer.Option(help="Folder caching the clips' vibenet features.")
    ] = None,
) -> None:
    """4Q artist-grouped CV and per-clip fit on annotated clips, beside raw vibenet; a PNG."""
    from moodtune.train.music_emotion import evaluate_music_emotion as evaluate
    from moodtune.train.music_emotion import report_markdown

    _require_dir(data)
    result = evaluate(data, out_dir, cache=cache)
    out.print(report_markdown(result), highlight=False, soft_wrap=True)
    if result.get("png"):
        out.print(f"plot: {result['png']}")


@train_app.command("genre")
def train_genre(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for genre_model.npz/.json.")],
    seed: Annotated[int, typer.Option(help="Seed of the split and the models.")] = 0,
) -> None:
    """Train the genre classifier on TidyTuesday playlist genres (artist-disjoint split)."""
    from moodtune.train.genre import train_genre as train

    _require_dir(data)
    with _progress_bar() as bar:
        task = bar.add_task("genre models", total=None)

        def progress(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"fitted {name}")

        report = train(data, out_dir, seed=seed, progress=progress)
    out.print(report["table"], highlight=False, soft_wrap=True)
    out.print(f"model: {report['model']}")


@evaluate_app.command("genre")
def evaluate_genre(
    data: DataOpt,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where genre_confusion.png and the report go.")
    ] = Path("reports"),
    model: Annotated[
        Path | None, typer.Option(help="A genre_model.npz (default: the shipped one).")
    ] = None,
) -> None:
    """Accuracy, macro-F1 and a confusion matrix on an artist-disjoint test split."""
    from moodtune.music.genre import GenreModel
    from moodtune.train.genre import evaluate_genre as evaluate

    _require_dir(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = evaluate(data, model=GenreModel.load(model) if model else None, out_dir=out_dir)
    out.print(result["table"], highlight=False, soft_wrap=True)
    if result.get("png"):
        out.print(f"plot: {result['png']}")


@evaluate_app.command("recommender")
def evaluate_recommender(
    playlists: Annotated[Path, typer.Option("--playlists", help="playlist_tracks.csv(.gz).")],
    k: Annotated[int, typer.Option(help="Cut-off of precision and NDCG.")] = 10,
    requests: Annotated[
        int, typer.Option(help="Consecutive same-mood requests per listener (variety).")
    ] = 20,
    mixed: Annotated[
        int, typer.Option(help="Mixed requests for catalog coverage (0 skips the variety table).")
    ] = 1000,
) -> None:
    """Score playlist continuation (popularity, features, full similarity) and variety.

    The second table puts the playlist recommender before listener memory and the draw
    next to it: repeat rate, intra-list diversity, catalog coverage, target distance.
    """
    from moodtune.recommend.evaluation import evaluate_recommender as evaluate
    from moodtune.service import get_service

    if not playlists.is_file():
        raise ParameterError(f"--playlists {playlists} is not a file")
    report = evaluate(get_service().catalog().load_table(), playlists, k=k)
    table = Table(title=f"recommender on held-out playlist halves (k={k})")
    methods = report["methods"]
    metric_names = list(next(iter(methods.values())).keys())
    for col in ("method", *metric_names):
        table.add_column(col)
    for name, metrics in methods.items():
        table.add_row(
            name, *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in metrics.values())
        )
    out.print(table)
    if mixed > 0:
        from moodtune.recommend.evaluation import evaluate_variety

        variety = evaluate_variety(
            get_service().catalog().load_table(), requests=requests, mixed=mixed
        )
        vt = Table(title=f"playlist variety and fit ({variety['protocol']})")
        names = {
            "before": "before (nearest, no memory)",
            "memory_only": "memory only (nearest fresh)",
            "after": "after (draw + memory)",
        }
        methods_v = variety["methods"]
        vt.add_column("metric")
        for key in methods_v:
            vt.add_column(names.get(key, key))
        for metric in methods_v["before"]:
            vt.add_row(metric, *(f"{m[metric]:.4f}" for m in methods_v.values()))
        out.print(vt)


def _require_dir(path: Path) -> None:
    if not path.is_dir():
        raise ParameterError(f"--data {path} is not a folder; point it at the labelled data")


def _print_text_report(report: dict[str, Any]) -> None:
    table = Table(title="text emotion, held-out test splits")
    for col in ("dataset", "language", "n", "accuracy", "UAR", "macro-F1"):
        table.add_column(col)
    for name, m in report["datasets"].items():
        table.add_row(
            name,
            m["language"],
            str(m["n"]),
            f"{m['accuracy']:.3f}",
            f"{m['uar']:.3f}",
            f"{m['macro_f1']:.3f}",
        )
    for lang, m in report["languages"].items():
        table.add_row(
            f"[bold]all {lang}[/]",
            lang,
            str(m["n"]),
            f"{m['accuracy']:.3f}",
            f"{m['uar']:.3f}",
            f"{m['macro_f1']:.3f}",
        )
    out.print(table)
    out.print(f"confusion matrix: {report['confusion_png']}")
    msgs = report.get("short_messages")
    if msgs:
        _print_short_message_report(msgs)


def _print_short_message_report(msgs: dict[str, Any]) -> None:
    from moodtune.types import LABELS

    table = Table(title="short-message set (label2 hits count); recall per label")
    for col in ("rows", "n", "acc", "mF1", *(lab[:4] for lab in LABELS)):
        table.add_column(col)
    for name, m in [("all", msgs["all"]), *msgs["languages"].items()]:
        rec = m.get("recall", {})
        table.add_row(
            name,
            str(m["n"]),
            f"{m['accuracy']:.3f}",
            f"{m['macro_f1']:.3f}",
            *(f"{rec[lab]:.2f}" if lab in rec else "-" for lab in LABELS),
        )
    out.print(table)
    styles = Table(title="short-message set by style")
    for col in ("style/language", "n", "accuracy"):
        styles.add_column(col)
    for name, m in msgs["styles"].items():
        styles.add_row(name, str(m["n"]), f"{m['accuracy']:.3f}")
    out.print(styles)
    mixed, anger = msgs["mixed_rows"], msgs["explicit_anger"]
    out.print(
        f"mixed rows: {mixed['n']}, reported mixed {mixed['reported_mixed']:.2f}, "
        f"both labels right {mixed['both_labels_right']:.2f}; "
        f"mixed on single-label rows {mixed['mixed_on_single_rows']:.2f}"
    )
    out.print(
        f"explicit anger: {anger['n']} rows, anger p >= 0.6 on {anger['share_p_ge_0.6']:.2f}, "
        f"lowest p {anger['min_p']:.2f}"
    )
    out.print(f"confusion matrix: {msgs['confusion_png']}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn every error into a one-line message and an exit code."""
    from moodtune.config import settings

    try:
        debug = settings().debug
    except MoodtuneError:  # a bad variable: the command below reports it
        debug = False
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    command = typer.main.get_command(app)
    try:
        # standalone mode: typer/click report their own usage errors (exit 2) and exit
        command.main(args=argv, prog_name="moodtune", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MoodtuneError as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: still one line, the traceback goes to the log
        logging.getLogger("moodtune").debug("unexpected error", exc_info=True)
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(
            f"error: internal error ({message}); rerun with MOODTUNE_DEBUG=1 for details "
            "and report it",
            file=sys.stderr,
        )
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
