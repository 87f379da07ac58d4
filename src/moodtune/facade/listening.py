"""The facade's listening part: playlist files, MPD, Subsonic and file tags."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodtune.facade.base import FacadeBase

if TYPE_CHECKING:
    from moodtune.integrations.mpd import MpdReport
    from moodtune.integrations.playlists import PlaylistEntry, PlaylistFileReport
    from moodtune.integrations.subsonic import (
        SubsonicClient,
        SubsonicPushReport,
        SubsonicScanReport,
    )
    from moodtune.integrations.tags import TagReport


class ListeningFacade(FacadeBase):
    """Where people listen, through the facade (:class:`moodtune.service.Moodtune`)."""

    # -- where people listen: playlist files, MPD, Subsonic, tags --------------
    def playlist_entries(self, track_ids: list[str]) -> list[PlaylistEntry]:
        """Catalog tracks as playlist entries (title, artists, duration, file or link).

        Unknown ids are left out. A local file that is gone counts as no file.
        """
        from moodtune.integrations.playlists import catalog_entries

        return catalog_entries(self.catalog(), track_ids)

    def export_playlist(
        self, track_ids: list[str], path: Path, *, local_only: bool = False, title: str = "moodtune"
    ) -> PlaylistFileReport:
        """Write catalog tracks to an ``.m3u8``, ``.xspf`` or ``.json`` playlist file."""
        from moodtune.integrations.playlists import write_playlist

        return write_playlist(
            self.playlist_entries(track_ids), path, local_only=local_only, title=title
        )

    def queue_on_mpd(
        self,
        track_ids: list[str],
        target: str = "mpd",
        *,
        replace: bool = False,
        music_dir: Path | None = None,
    ) -> MpdReport:
        """Queue the tracks' local files on MPD (``mpd`` or ``mpd://host:port``)."""
        from moodtune.integrations.mpd import parse_target, queue_playlist

        host, port = parse_target(target)
        return queue_playlist(
            self.playlist_entries(track_ids),
            host=host,
            port=port,
            replace=replace,
            music_dir=music_dir,
        )

    def subsonic_client(self) -> SubsonicClient:
        """A client for the Subsonic server configured in ``MOODTUNE_SUBSONIC_*``."""
        from moodtune.integrations.subsonic import SubsonicClient, SubsonicConfig

        return SubsonicClient(SubsonicConfig.from_env())

    def subsonic_scan(
        self, *, lyrics: bool = False, workers: int | None = None, progress: Any = None
    ) -> SubsonicScanReport:
        """Analyse the configured Subsonic server's songs into the catalog (incremental).

        ``workers``: parallel analyses (default: the number of CPU cores).
        """
        import os

        from moodtune.integrations.subsonic import scan_subsonic

        report = scan_subsonic(
            self.catalog(),
            self.subsonic_client(),
            lyrics=lyrics,
            workers=workers or os.cpu_count() or 1,
            progress=progress,
        )
        self._pool.reset()
        return report

    def subsonic_push(self, track_ids: list[str], *, name: str) -> SubsonicPushReport:
        """Create a playlist ``name`` on the configured Subsonic server from these tracks."""
        from moodtune.integrations.subsonic import push_playlist

        return push_playlist(self.subsonic_client(), self.playlist_entries(track_ids), name=name)

    def write_tags(self, directory: Path, *, dry_run: bool = False) -> TagReport:
        """Write the scanned files' BPM, key, mood, arousal/valence... into their tags."""
        from moodtune.integrations.tags import tag_library

        return tag_library(self.catalog(), directory, dry_run=dry_run)
