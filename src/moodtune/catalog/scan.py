"""Add a folder of music files to the catalog: parallel, incremental, resumable.

How a scan decides what to do with each audio file under the folder:

1. **unchanged**: the catalog knows this path with the same size and mtime: skipped.
2. **reused**: size or mtime differ (or the path is new) but the content hash (SHA-256)
   is known: the stored analysis is kept, only the path/size/mtime are updated (touched,
   copied or moved files are not analysed again).
3. otherwise the file is **analysed** (tags with mutagen, features and curve with
   :func:`moodtune.music.features.analyze_file`) in a worker process or a Ray task.

Each analysed file is written in its own transaction (track row, file state, curve), so an
interrupted scan leaves only whole entries and a rerun continues with the files not yet
written. A file that cannot be read or decoded is listed in :attr:`ScanReport.failed` and
not written (a rerun tries it again). The track id is ``local:`` plus the first 16 hex
digits of the content hash; the catalog's ``local_path`` keeps where the file is, so the
interfaces can play it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.errors import MissingDependencyError, MoodtuneError, ParameterError
from moodtune.music.files import file_sha256, read_tags

if TYPE_CHECKING:
    from collections import deque
    from concurrent.futures import Executor, Future

    from moodtune.catalog.repository import Catalog

log = logging.getLogger(__name__)

#: File name endings a scan treats as audio (case-insensitive).
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac", ".mp4", ".webm",
     ".mka", ".aif", ".aiff", ".wma", ".wv", ".ape"}
)  # fmt: skip
#: Engines :func:`scan_library` can run the analysis on.
ENGINES = ("local", "ray")

#: ``progress(done, total, path)``: called after each file is settled (any outcome).
ProgressCallback = Callable[[int, int, str], None]


@dataclass
class ScanReport:
    """What a scan did.

    Attributes
    ----------
    directory : str
    found : int
        Audio files under the folder.
    analysed, unchanged, reused : int
        Files analysed now, skipped as unchanged, and recognised by content hash.
    failed : list of (path, reason)
        Files that could not be analysed (not written to the catalog).
    pending : int
        Files found but not settled because the scan was interrupted (a rerun does them);
        0 after a whole scan, where ``found == analysed + unchanged + reused + len(failed)``.
    missing : int
        Files the catalog knows under this folder that are gone. Their tracks keep their
        analysis but lose their ``local_path`` (unless another copy exists), so they are
        no longer recommended; a file that comes back is recognised by its content.
    interrupted : bool
        The scan was stopped (Ctrl-C); what was written stays, a rerun continues.
    seconds : float
        Wall time, s.
    audio_seconds : float
        Duration of the audio analysed now, s.
    engine : str
    workers : int
    """

    directory: str
    found: int = 0
    analysed: int = 0
    unchanged: int = 0
    reused: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    pending: int = 0
    missing: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    audio_seconds: float = 0.0
    engine: str = "local"
    workers: int = 1

    @property
    def realtime_factor(self) -> float:
        """Audio seconds analysed per wall-clock second (0 when nothing was analysed)."""
        return self.audio_seconds / self.seconds if self.seconds > 0 and self.analysed else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``failed`` as a list of ``{"path", "error"}``)."""
        d = asdict(self)
        d["failed"] = [{"path": p, "error": e} for p, e in self.failed]
        d["realtime_factor"] = round(self.realtime_factor, 1)
        d["seconds"] = round(self.seconds, 2)
        d["audio_seconds"] = round(self.audio_seconds, 1)
        return d


def find_audio_files(directory: Path) -> list[Path]:
    """Audio files under ``directory`` (recursive, sorted, symlinked folders not followed)."""
    out = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in AUDIO_EXTENSIONS and not name.startswith("."):
                out.append(Path(root) / name)
    return out


def analyze_job(path: str, sha256: str, lyrics: bool = True) -> dict[str, Any]:
    """Analyse one file for a scan; never raises (failures come back as ``ok: False``).

    Besides the features and the curve, it gives the genre probabilities (the shipped
    classifier) and the lyrics emotion (a ``.lrc``/``.txt`` file next to the audio, or
    Whisper on tracks with vocals when ``lyrics`` is on).

    Parameters
    ----------
    path : str
        Absolute path.
    sha256 : str
        Its content hash (gives the track id).
    lyrics : bool
        Transcribe sung words of tracks with vocals (sidecar lyrics files are read anyway).

    Returns
    -------
    dict
        ``{"path", "sha256", "ok": True, "row", "arousal", "valence", "hop_s", "duration_s",
        "genres", "genre_model", "lyrics"}`` (curves as float32 bytes; ``lyrics`` a
        :meth:`LyricsEmotion.to_dict` or None) or ``{"path", "sha256", "ok": False, "error"}``.
    """
    from moodtune.music.features import VIBE_SR, analyze_signal, file_loudness, load_music
    from moodtune.music.genre import default_genre_model, local_file_features, tag_to_genre
    from moodtune.music.lyrics import lyrics_emotion

    try:
        y = load_music(path)
        res = analyze_signal(y, sr=VIBE_SR, path=path, loudness=file_loudness(path, y16=y))
        model = default_genre_model()
        genres: dict[str, float] = {}
        guess = None
        found = None
        if not res.silent:  # silence has no genre and no words
            query = local_file_features(res.catalog_row(track_id="query"))
            guess, genres, _ = model.guess(query)  # "other" when no genre is likely
            found = lyrics_emotion(path, res.features, y=y, transcribe=lyrics)
    except MoodtuneError as exc:
        return {"path": path, "sha256": sha256, "ok": False, "error": str(exc)}
    except Exception as exc:  # a worker must report, not die: the scan lists the file
        log.exception("%s: analysis failed", path)
        return {
            "path": path,
            "sha256": sha256,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
        }
    row = res.catalog_row(track_id=f"local:{sha256[:16]}")
    row["name"] = Path(path).stem
    row.update(read_tags(path))
    row["local_path"] = path
    row["source"] = "local"
    # The playlist genre: the file's tag when it names one of the six, else the classifier's;
    # the tag itself is kept as the subgenre.
    tag = row.pop("genre", None)
    if tag:
        row["subgenre"] = tag
    row["genre"] = None if res.silent else tag_to_genre(tag) or guess
    return {
        "path": path,
        "sha256": sha256,
        "ok": True,
        "silent": res.silent,
        "row": row,
        "arousal": res.arousal.astype("<f4").tobytes(),
        "valence": res.valence.astype("<f4").tobytes(),
        "hop_s": res.hop_s,
        "duration_s": float(res.features["duration_s"] or 0.0),
        "genres": genres,
        "genre_model": model.model_id,
        "lyrics": None if found is None else found.to_dict(),
    }


def worker_init() -> None:
    """Worker processes ignore Ctrl-C (the parent stops them) and use one BLAS thread."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass


Job = tuple[str, str, bool]  # (path, sha256, lyrics)


def _submit_jobs(
    pool: Executor,
    run_job: Callable[..., dict[str, Any]],
    todo: deque[Job],
    suspects: deque[Job],
    running: dict[Future[dict[str, Any]], Job],
    *,
    workers: int,
    isolating: bool,
) -> tuple[bool, bool]:
    """Submit the next jobs: a suspect alone, or fresh jobs up to two per worker.

    Returns whether a suspect runs alone now and whether the pool was found broken (the
    job that could not be submitted goes back to the front of its queue).
    """
    from concurrent.futures.process import BrokenProcessPool

    job: Job | None = None
    try:
        if suspects:
            if not running:
                job = suspects.popleft()
                isolating = True
                running[pool.submit(run_job, *job)] = job
        else:
            isolating = False
            while todo and len(running) < 2 * workers:
                job = todo.popleft()
                running[pool.submit(run_job, *job)] = job
    except BrokenProcessPool:  # it broke since we last looked
        if job is not None:
            (suspects if isolating else todo).appendleft(job)
        return isolating, True
    return isolating, False


def _job_result(fut: Future[dict[str, Any]], job: Job) -> dict[str, Any] | None:
    """A finished job's result; ``None`` when its worker died and broke the pool."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return fut.result()
    except BrokenProcessPool:
        return None
    except Exception as exc:  # the job raised in the worker
        return {"path": job[0], "ok": False, "error": f"worker failed: {exc}"}


def _run_local(
    jobs: list[tuple[str, str, bool]],
    workers: int,
    job_fn: Callable[..., dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Run ``job_fn`` (default :func:`analyze_job`) over ``jobs`` in a process pool.

    A worker that dies (out of memory, a crash in a codec) breaks the whole pool. The pool
    is then rebuilt and the files that were in flight become suspects, each analysed again
    alone: the one that kills its worker again is reported as failed and the others go on,
    so one bad file costs only itself.
    """
    run_job: Callable[..., dict[str, Any]] = job_fn or analyze_job
    if workers <= 1:
        for job in jobs:
            yield run_job(*job)
        return
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("spawn"), initializer=worker_init
        )

    pool = new_pool()
    todo: deque[tuple[str, str, bool]] = deque(jobs)
    suspects: deque[tuple[str, str, bool]] = deque()
    running: dict[Future[dict[str, Any]], tuple[str, str, bool]] = {}
    isolating = False  # one suspect runs alone, so a crash now is its own
    try:
        while todo or suspects or running:
            isolating, broken = _submit_jobs(
                pool, run_job, todo, suspects, running, workers=workers, isolating=isolating
            )
            if running and not broken:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = running.pop(fut)
                    result = _job_result(fut, job)
                    if result is None:  # its worker died and broke the pool
                        broken = True
                        if not isolating:
                            suspects.append(job)
                            continue
                        result = {
                            "path": job[0],
                            "ok": False,
                            "error": "its analysis killed the worker process (out of memory, "
                            "or a crash while decoding)",
                        }
                    yield result
            if broken:
                log.warning("a scan worker died; restarting the pool and retrying its files")
                suspects.extend(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=not running, cancel_futures=True)
        if running:  # interrupted: stop the workers now rather than finish their files
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()


def _run_ray(
    jobs: list[tuple[str, str, bool]], workers: int, address: str | None
) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("--engine ray needs Ray: pip install 'moodtune[ray]'") from exc
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if address is None:
            kwargs["num_cpus"] = workers
        ray.init(address=address, **kwargs)
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(analyze_job)
        in_flight = max(2, 2 * int(ray.cluster_resources().get("CPU", workers)))
        todo = iter(jobs)
        refs: dict[Any, str] = {}
        for job in todo:
            refs[task.remote(*job)] = job[0]
            if len(refs) >= in_flight:
                break
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                path = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # the task's worker died
                    result = {"path": path, "ok": False, "error": f"ray task failed: {exc}"}
                nxt = next(todo, None)
                if nxt is not None:
                    refs[task.remote(*nxt)] = nxt[0]
                yield result
        for ref in refs:
            ray.cancel(ref, force=True)
    finally:
        if started:
            ray.shutdown()


def _known_files(catalog: Catalog) -> tuple[dict[str, tuple[int, int, str]], dict[str, str]]:
    by_path: dict[str, tuple[int, int, str]] = {}
    by_sha: dict[str, str] = {}
    for path, size, mtime_ns, sha, track_id in catalog.scanned_files():
        by_path[path] = (size, mtime_ns, sha)
        by_sha[sha] = track_id
    return by_path, by_sha


def _record_file(catalog: Catalog, path: str, st: os.stat_result, sha: str, track_id: str) -> None:
    catalog.record_file(
        path, track_id=track_id, size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=sha
    )


def scan_library(
    catalog: Catalog,
    directory: Path | str,
    *,
    engine: str = "local",
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    ray_address: str | None = None,
    lyrics: bool = True,
) -> ScanReport:
    """Analyse the audio files under ``directory`` and add them to ``catalog``.

    Parameters
    ----------
    catalog : Catalog
        Open catalog (schema 3 or later).
    directory : path
        Folder to scan recursively.
    engine : {"local", "ray"}
        ``local``: a process pool on this machine. ``ray``: Ray tasks (``pip install
        'moodtune[ray]'``); a local Ray instance unless ``ray_address`` names a cluster,
        whose nodes must read the files at the same paths (shared storage).
    workers : int, optional
        Parallel analyses; default the number of CPU cores. 1 runs in this process.
    progress : callable, optional
        ``progress(done, total, path)`` after each file to analyse is settled; see
        :func:`rich_progress` for a bar with an ETA.
    ray_address : str, optional
        Ray cluster address (``"auto"`` or ``"ray://host:10001"``).
    lyrics : bool
        Transcribe the sung words of tracks with vocals (Whisper; slower). Lyrics files
        next to the audio (``.lrc``, ``.txt``) are read either way.

    Returns
    -------
    ScanReport

    Raises
    ------
    ParameterError
        The folder does not exist, or ``engine``/``workers`` are invalid.
    MissingDependencyError
        ``engine="ray"`` without Ray installed.
    """
    t0 = time.perf_counter()
    root, workers = _check_scan(directory, engine, workers)
    catalog.add_library_root(root)  # only files under a scanned root are ever served
    report = ScanReport(directory=str(root), engine=engine, workers=workers)
    files = find_audio_files(root)
    report.found = len(files)
    by_path, by_sha = _forget_gone(catalog, root, files, report)
    plan = _plan_scan(catalog, files, by_path, by_sha, report, lyrics=lyrics)
    log.info(
        "scan %s: %d files, %d unchanged, %d reused, %d to analyse",
        root, report.found, report.unchanged, report.reused, len(plan.jobs),
    )  # fmt: skip

    results: Iterable[dict[str, Any]] = (
        _run_ray(plan.jobs, workers, ray_address)
        if engine == "ray"
        else _run_local(plan.jobs, workers)
    )
    _settle(catalog, results, plan, report, progress=progress)
    catalog.backfill_local_genres()
    settled = report.analysed + report.unchanged + report.reused + len(report.failed)
    report.pending = report.found - settled
    if report.pending and not report.interrupted:  # pragma: no cover - a bug, say so
        log.error("scan %s: %d found files were not accounted for", root, report.pending)
    report.seconds = time.perf_counter() - t0
    return report


def _check_scan(directory: Path | str, engine: str, workers: int | None) -> tuple[Path, int]:
    """The resolved folder to scan and the number of workers, checked."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ParameterError(f"{root}: no such folder; give a folder of music files")
    if engine not in ENGINES:
        raise ParameterError(f"engine={engine!r} must be one of {', '.join(ENGINES)}")
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers={workers!r} must be a positive integer")
    return root.resolve(), workers


def _forget_gone(
    catalog: Catalog, root: Path, files: Sequence[Path], report: ScanReport
) -> tuple[dict[str, tuple[int, int, str]], dict[str, str]]:
    """Forget the files under ``root`` that are gone; the known files by path and by hash."""
    by_path, by_sha = _known_files(catalog)
    present = {str(p) for p in files}
    prefix = str(root) + os.sep
    gone = [p for p in by_path if p.startswith(prefix) and p not in present]
    report.missing = len(gone)
    if gone:
        catalog.forget_files(gone)
        log.info("forgot %d files that are gone from the library", len(gone))
        by_path, by_sha = _known_files(catalog)
    return by_path, by_sha


@dataclass
class _ScanPlan:
    """The files a scan analyses, their stat results, and the copies each one stands for."""

    jobs: list[Job] = field(default_factory=list)
    stats: dict[str, os.stat_result] = field(default_factory=dict)
    # byte-identical copies found in this scan, by the path analysed for them: analysed
    # once, every path recorded
    copies: dict[str, list[tuple[str, os.stat_result]]] = field(default_factory=dict)


def _plan_scan(
    catalog: Catalog,
    files: Sequence[Path],
    by_path: dict[str, tuple[int, int, str]],
    by_sha: dict[str, str],
    report: ScanReport,
    *,
    lyrics: bool,
) -> _ScanPlan:
    """Sort the files: unchanged, unreadable, known content at a new path, or to analyse."""
    plan = _ScanPlan()
    queued: dict[str, str] = {}  # sha256 -> the path analysed for it
    for p in files:
        path = str(p)
        try:
            st = p.stat()
        except OSError as exc:
            report.failed.append((path, f"cannot read: {exc.strerror or exc}"))
            continue
        known = by_path.get(path)
        if known is not None and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            report.unchanged += 1
            continue
        try:
            sha = file_sha256(p)
        except OSError as exc:
            report.failed.append((path, f"cannot read: {exc.strerror or exc}"))
            continue
        if sha in by_sha:
            with catalog.transaction():
                _record_file(catalog, path, st, sha, by_sha[sha])
                catalog.set_local_path(by_sha[sha], path)
            report.reused += 1
            continue
        if sha in queued:  # a second copy in this scan: analysed once, recorded with it
            plan.copies.setdefault(queued[sha], []).append((path, st))
            continue
        queued[sha] = path
        plan.stats[path] = st
        plan.jobs.append((path, sha, bool(lyrics)))
    return plan


def _settle(
    catalog: Catalog,
    results: Iterable[dict[str, Any]],
    plan: _ScanPlan,
    report: ScanReport,
    *,
    progress: ProgressCallback | None,
) -> None:
    """Write each analysed file (and its copies) as its result comes; Ctrl-C stops cleanly."""
    done = 0
    try:
        for res in results:
            done += 1
            same = plan.copies.get(res["path"], [])
            if res["ok"]:
                _write_result(catalog, res, plan.stats[res["path"]], copies=same)
                report.analysed += 1
                report.reused += len(same)
                report.audio_seconds += res["duration_s"]
            else:
                log.warning("%s: skipped: %s", res["path"], res["error"])
                report.failed.append((res["path"], res["error"]))
                for path, _ in same:
                    report.failed.append((path, f"same content as {res['path']}: {res['error']}"))
            if progress is not None:
                progress(done, len(plan.jobs), res["path"])
    except KeyboardInterrupt:
        report.interrupted = True
        log.warning(
            "scan %s interrupted after %d of %d files", report.directory, done, len(plan.jobs)
        )
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def _write_result(
    catalog: Catalog,
    res: dict[str, Any],
    st: os.stat_result,
    *,
    copies: Sequence[tuple[str, os.stat_result]] = (),
) -> None:
    """One file's track row, file state and curve (and its identical copies), all or nothing."""
    row = res["row"]
    with catalog.transaction():
        catalog.upsert_tracks([row])
        catalog.put_curve(
            row["id"], arousal=res["arousal"], valence=res["valence"], hop_s=res["hop_s"]
        )
        _record_file(catalog, res["path"], st, res["sha256"], row["id"])
        for path, copy_st in copies:
            _record_file(catalog, path, copy_st, res["sha256"], row["id"])
        # silent files are recorded (so rescans skip them) but never offered
        silent = bool(res.get("silent"))
        catalog.set_silent(row["id"], silent)
        if not silent:
            catalog.put_genres([(row["id"], res["genres"], res["genre_model"])])
        if res.get("lyrics") is not None:
            catalog.put_lyrics(row["id"], res["lyrics"])


def load_curve(catalog: Catalog, track_id: str) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A track's stored curve: ``(arousal, valence, hop_s)`` as float64 arrays, or None."""
    return catalog.get_curves([track_id]).get(track_id)


def load_curves(
    catalog: Catalog, track_ids: Iterable[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Stored curves by track id (all of them when ``track_ids`` is None)."""
    return catalog.get_curves(track_ids)


@contextmanager
def rich_progress(*, stderr: bool = True) -> Iterator[ProgressCallback]:
    """A progress bar with count, elapsed time and ETA, as a ``progress`` callback.

    Examples
    --------
    >>> with rich_progress() as cb:  # doctest: +SKIP
    ...     report = scan_library(catalog, "~/Music", progress=cb)
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[name]}"),
    )
    with Progress(*columns, console=Console(stderr=stderr)) as bar:
        task = bar.add_task("scan", total=None, name="")

        def update(done: int, total: int, path: str) -> None:
            bar.update(task, completed=done, total=total, name=Path(path).name[:40])

        yield update
