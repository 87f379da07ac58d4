from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_model_dir(tmp_path_factory):
    """One model cache per test session, so the 145 MB Whisper file is joined only once."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOODTUNE_MODEL_DIR", str(tmp_path_factory.mktemp("models")))
        yield


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
