from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own MOODTUNE_HOME so nothing touches the user's data."""
    home = tmp_path_factory.mktemp("moodtune_home")
    monkeypatch.setenv("MOODTUNE_HOME", str(home))
    monkeypatch.delenv("MOODTUNE_CATALOG", raising=False)
    return home


@pytest.fixture
def rng():
    """A seeded random generator."""
    return np.random.default_rng(20261122)
