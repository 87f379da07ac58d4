"""Per-user bot settings (the playlist strategy) in a small JSON file.

The file lives in the data home (``$MOODTUNE_HOME/bot_users.json``); likes and skips are
not kept here but in the catalog database (``Catalog.add_feedback``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from moodtune.config import home_dir
from moodtune.errors import ParameterError
from moodtune.service import Moodtune

log = logging.getLogger(__name__)

#: File name of the settings file inside the data home.
STORE_NAME = "bot_users.json"

#: Strategy a user has until they pick one.
DEFAULT_STRATEGY = "match"


class UserStore:
    """Thread-safe ``{user: {"strategy": ...}}`` map persisted as JSON.

    Parameters
    ----------
    path : Path, optional
        The JSON file; default ``home_dir() / "bot_users.json"``. A missing file is an
        empty store; an unreadable one is logged and treated as empty (it is rewritten
        on the next change).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else home_dir() / STORE_NAME
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("bot settings %s unreadable (%s); starting empty", self.path, exc)
            return {}
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict):
            log.warning("bot settings %s have no 'users' map; starting empty", self.path)
            return {}
        return {str(k): v for k, v in users.items() if isinstance(v, dict)}

    def _save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"users": self._users}, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def strategy(self, user: str) -> str:
        """Return ``user``'s strategy (:data:`DEFAULT_STRATEGY` until they choose one)."""
        with self._lock:
            value = self._users.get(user, {}).get("strategy")
        return value if value in Moodtune.strategies() else DEFAULT_STRATEGY

    def set_strategy(self, user: str, strategy: str) -> None:
        """Store ``user``'s strategy.

        Raises
        ------
        ParameterError
            If ``strategy`` is not one of match, uplift, calm, energize.
        """
        strategy = strategy.strip().lower()
        if strategy not in Moodtune.strategies():
            raise ParameterError(
                f"strategy {strategy!r} is unknown; choose one of "
                f"{', '.join(Moodtune.strategies())}"
            )
        with self._lock:
            self._users.setdefault(user, {})["strategy"] = strategy
            self._save()
