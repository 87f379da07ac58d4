from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from moodtune import config
from moodtune.catalog import default
from moodtune.catalog.default import DEFAULT_SOURCE, manifest, open_default_catalog
from moodtune.errors import CatalogError

N_DEFAULT = 28_356
CLOSER = "7BKLCZ1jbUBVqRi2FVlTVw"  # The Chainsmokers, "Closer (feat. Halsey)"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The default catalog installed once into a fresh home, shared by read-only tests."""
    home = tmp_path_factory.mktemp("default_home")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("MOODTUNE_HOME", str(home))
        m.delenv("MOODTUNE_CATALOG", raising=False)
        cat = open_default_catalog()
        yield cat, home
        cat.close()


def test_manifest_matches_embedded_file():
    info = manifest()
    data = (resources.files("moodtune") / "data" / info["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == info["sha256"]
    assert info["tracks"] == N_DEFAULT
    assert len(data) < 2_500_000
    assert "Spotify Developer Terms" in info["terms"]


@pytest.mark.slow
def test_first_use_installs_default(installed):
    cat, home = installed
    assert cat.path == home / "catalog.sqlite"
    assert cat.count() == N_DEFAULT
    t = cat.get_track(CLOSER)
    assert t["name"] == "Closer (feat. Halsey)" and t["artists"] == ["The Chainsmokers"]
    assert t["url"] == f"https://open.spotify.com/track/{CLOSER}"
    assert t["genre"] == "pop" and t["source"] == DEFAULT_SOURCE
    assert t["valence"] == pytest.approx(0.661) and t["energy"] == pytest.approx(0.524)
    names = {p.name for p in home.iterdir()}
    assert names <= {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"}  # no temp files


@pytest.mark.slow
def test_default_stats(installed):
    s = installed[0].stats()
    assert s["tracks"] == s["with_features"] == s["with_url"] == N_DEFAULT
    assert set(s["genres"]) == {"edm", "latin", "pop", "r&b", "rap", "rock"}
    assert sum(s["genres"].values()) == N_DEFAULT
    assert s["year_min"] >= 1950 and s["year_max"] == 2020


@pytest.mark.slow
def test_default_load_table(installed):
    table = installed[0].load_table()
    assert len(table) == N_DEFAULT
    assert table.valence.dtype == np.float64 and not np.isnan(table.valence).any()
    assert ((table.energy >= 0) & (table.energy <= 1)).all()
    assert (table.url != "").all()
    assert set(np.unique(table.mode)) == {0, 1}
    assert (table.explicit == -1).all()  # TidyTuesday has no explicit flag
    rap = installed[0].load_table(genre="rap")
    assert 0 < len(rap) < N_DEFAULT and set(rap.genre) == {"rap"}


@pytest.mark.slow
def test_second_open_does_not_reinstall(tmp_path, monkeypatch):
    monkeypatch.setenv("MOODTUNE_CATALOG", str(tmp_path / "mine.sqlite"))
    with open_default_catalog() as cat:
        cat.upsert_tracks([{"id": "local-1", "name": "Mine", "artists": ["Me"]}])

    def boom(catalog):  # pragma: no cover - must not run
        raise AssertionError("reinstalled")

    monkeypatch.setattr(default, "fill_from_embedded", boom)
    with open_default_catalog() as cat:
        assert cat.count() == N_DEFAULT + 1


@pytest.mark.slow
def test_interrupted_first_run_leaves_nothing(monkeypatch):
    real = default.fill_from_embedded

    def interrupted(catalog):
        real(catalog)  # all rows written into the temporary file ...
        raise KeyboardInterrupt  # ... then the user presses Ctrl-C

    monkeypatch.setattr(default, "fill_from_embedded", interrupted)
    with pytest.raises(KeyboardInterrupt):
        open_default_catalog()
    home = config.home_dir()
    assert list(home.iterdir()) == []
    monkeypatch.setattr(default, "fill_from_embedded", real)
    with open_default_catalog() as cat:
        assert cat.count() == N_DEFAULT


def test_corrupt_default_file_is_reported_not_replaced(tmp_path, monkeypatch):
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("MOODTUNE_CATALOG", str(path))
    with pytest.raises(CatalogError, match="corrupt"):
        open_default_catalog()
    assert path.read_bytes() == b"garbage" * 1000


def test_default_catalog_in_missing_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("MOODTUNE_CATALOG", str(tmp_path / "nope" / "c.sqlite"))
    with pytest.raises(CatalogError, match="does not exist"):
        open_default_catalog()


def test_tampered_embedded_file_refused(monkeypatch):
    info = dict(manifest(), sha256="0" * 64)
    monkeypatch.setattr(default, "manifest", lambda: info)
    with pytest.raises(CatalogError, match="does not match its manifest"):
        open_default_catalog()
    assert not config.default_catalog_path().exists()
