"""Backend registries: a backend is a module of a package, and its name is its key.

Each backend module exposes ``load(**options)``. Config (an environment variable) picks
the backend; the default is the one that works offline. Backends load once per process
and options.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading
from typing import Any

from moodtune.errors import ParameterError


class BackendRegistry:
    """Discover, load and cache the backends of one package.

    Parameters
    ----------
    package : str
        Dotted name of the package whose modules are the backends.
    default : str
        Backend used when neither the caller nor ``env`` names one.
    env : str
        Environment variable that picks a backend.
    kind : str
        Words for messages, e.g. ``"text backend"``.
    """

    def __init__(self, package: str, *, default: str, env: str, kind: str) -> None:
        self.package = package
        self.default = default
        self.env = env
        self.kind = kind
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Names of the registered backends."""
        pkg = importlib.import_module(self.package)
        return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.ispkg)

    def get(self, name: str | None = None, **options: Any) -> Any:
        """Return the backend ``name`` (default: ``$env`` or the default), loaded once.

        Raises
        ------
        ParameterError
            If no backend has that name.
        """
        key = name or os.environ.get(self.env) or self.default
        names = self.names()
        if key not in names:
            raise ParameterError(f"{self.kind} {key!r} is unknown; available: {', '.join(names)}")
        cache_key = key + repr(sorted(options.items()))
        with self._lock:
            if cache_key not in self._cache:
                module = importlib.import_module(f"{self.package}.{key}")
                self._cache[cache_key] = module.load(**options)
            return self._cache[cache_key]
