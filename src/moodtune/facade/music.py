"""The facade's music part: analysing files, catalog track views, scans, similar tracks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodtune.audio.memory import returns_memory
from moodtune.errors import ParameterError
from moodtune.facade.base import FacadeBase
from moodtune.music.report import Describer, TrackReport, template_description
from moodtune.text import get_backend

if TYPE_CHECKING:
    from moodtune.catalog.scan import ScanReport


class MusicFacade(FacadeBase):
    """Music analysis through the facade (:class:`moodtune.service.Moodtune`)."""

    # -- music analysis ------------------------------------------------------
    @returns_memory
    def analyze_track(
        self, path: Path, *, lyrics: bool = True, llm: bool | None = None
    ) -> TrackReport:
        """Analyse a music file: features, curve, genre, lyrics emotion and a description.

        ``lyrics``: transcribe sung words when the track has vocals (a ``.lrc``/``.txt``
        file next to it is read either way); ``llm``: describe it with the configured LLM
        (None: when ``MOODTUNE_LLM_URL`` is set). See :func:`moodtune.music.report.analyze_track`;
        draw it with :meth:`TrackReport.plot`.
        """
        from moodtune.music.report import analyze_track

        backend = get_backend(self.text_backend)
        return analyze_track(
            path, text_backend=backend, lyrics=lyrics, describe=self._describer(llm)
        )

    @returns_memory
    def analyze_upload(
        self,
        data: bytes,
        *,
        filename: str = "upload.bin",
        lyrics: bool = True,
        llm: bool | None = None,
    ) -> TrackReport:
        """:meth:`analyze_track` on uploaded bytes (a private temporary file, removed after)."""
        from moodtune.audio.upload import upload_as_file

        with upload_as_file(data, filename=filename) as path:
            return self.analyze_track(path, lyrics=lyrics, llm=llm)

    def track_view(self, track_id: str, *, llm: bool | None = None) -> dict[str, Any]:
        """One catalog track with curve, genre, lyrics, emotion point and description.

        See :func:`moodtune.music.report.track_view`.

        Raises
        ------
        ParameterError
            The id is not in the catalog.
        """
        from moodtune.music.report import track_view

        catalog = self.catalog()
        row = catalog.get_track(track_id)
        if row is None:
            raise ParameterError(f"track {track_id!r} is not in the catalog")
        return track_view(
            row,
            curve=catalog.get_curves([track_id]).get(track_id),
            stored_genres=catalog.get_genres(track_id),
            lyrics=catalog.get_lyrics(track_id),
            describe=self._describer(llm),
        )

    def _describer(self, llm: bool | None) -> Describer:
        """The template, or (:func:`_llm_wanted`) the LLM with the template as fallback."""
        if not self._llm_wanted(llm):
            return template_description
        from moodtune.llm.describe import describe_with_llm

        return lambda *args, **kw: describe_with_llm(*args, **kw).to_dict()

    def scan(
        self,
        directory: Path,
        *,
        engine: str = "local",
        workers: int | None = None,
        ray_address: str | None = None,
        progress: Any = None,
        lyrics: bool = True,
    ) -> ScanReport:
        """Analyse a local music folder into the catalog (incremental, resumable)."""
        from moodtune.catalog.scan import scan_library

        report = scan_library(
            self.catalog(),
            directory,
            engine=engine,
            workers=workers,
            ray_address=ray_address,
            progress=progress,
            lyrics=lyrics,
        )
        self._pool.reset()
        return report

    def similar(
        self, query: str | Path, *, n: int = 10, genres: list[str] | None = None
    ) -> tuple[dict[str, Any], list[Any]]:
        """Tracks like a catalog track (by id) or a music file (analysed on the fly).

        ``genres`` keeps only tracks of those genres (scanned local tracks carry the
        classifier's genre, or their tag's when it names one of the six).
        """
        return self._pool.similar(query, n=n, genres=genres)
