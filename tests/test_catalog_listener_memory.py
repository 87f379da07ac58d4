"""Listener memory in the catalog database: bounded, per listener, newest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodtune.catalog.repository import Catalog
from moodtune.errors import ParameterError


def test_recent_tracks_span_the_last_playlists_and_memory_is_bounded(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite") as catalog:
        assert catalog.schema_version >= 6
        for k in range(8):
            number = catalog.record_playlist("u1", [f"t{k}a", f"t{k}b"], keep=6)
            assert number == k + 1
        catalog.record_playlist("u2", ["x"])
        assert catalog.recent_tracks("u1", playlists=2) == ["t7a", "t7b", "t6a", "t6b"]
        # only the last 6 playlists are kept
        assert len(catalog.recent_tracks("u1", playlists=100)) == 12
        assert catalog.recent_tracks("u2") == ["x"]
        assert catalog.recent_tracks("nobody") == []
        assert catalog.recent_tracks("u1", playlists=0) == []
        # replacements after a skip join the latest playlist
        assert catalog.record_playlist("u1", ["new"], extend_last=True) == 8
        assert catalog.recent_tracks("u1", playlists=1) == ["t7a", "t7b", "new"]
        assert catalog.forget_listener("u1") == 13
        assert catalog.recent_tracks("u1") == []
        with pytest.raises(ParameterError, match="listener"):
            catalog.record_playlist("", ["t"])
        with pytest.raises(ParameterError, match="keep"):
            catalog.record_playlist("u", ["t"], keep=0)
