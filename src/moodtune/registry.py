"""Backend registries: a backend is a module of a package, and its name is its key.

Each backend module exposes ``load(**options)``. Config (a setting of
:func:`moodtune.config.settings`, named after its environment variable) picks the
backend; the default is the one that works offline. Backends load once per process and
options. The registry itself reads no environment: the package that owns it passes a
``selected`` callable that returns the configured name.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
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
        Environment variable that picks a backend (for messages and docs).
    kind : str
        Words for messages, e.g. ``"text backend"``.
    selected : callable, optional
        Returns the configured backend name (None: the default), e.g.
        ``lambda: settings().text_backend``.
    aliases : dict, optional
        Former names that still pick a backend (``{"old": "new"}``), for configs written
        before a rename. They are not listed by :meth:`names`.
    """

    def __init__(
        self,
        package: str,
        *,
        default: str,
        env: str,
        kind: str,
        selected: Callable[[], str | None] | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.package = package
        self.aliases = dict(aliases or {})
        self.default = default
        self.env = env
        self.kind = kind
        self.selected = selected
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Names of the registered backends."""
        pkg = importlib.import_module(self.package)
        return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.ispkg)

    def resolve(self, name: str | None = None) -> str:
        """The key ``get(name)`` loads: ``name``, else the configured one, else the default.

        A former name in ``aliases`` gives the backend it now names.

        Raises
        ------
        ParameterError
            If no backend has that name.
        """
        configured = self.selected() if self.selected is not None else None
        key = name or configured or self.default
        key = self.aliases.get(key, key)
        names = self.names()
        if key not in names:
            source = f" (from ${self.env})" if not name and configured else ""
            raise ParameterError(
                f"{self.kind} {key!r}{source} is unknown; available: {', '.join(names)}"
            )
        return key

    def get(self, name: str | None = None, **options: Any) -> Any:
        """Return the backend ``name`` (default: the configured one, else the default), loaded once.

        Raises
        ------
        ParameterError
            If no backend has that name.
        """
        key = self.resolve(name)
        cache_key = key + repr(sorted(options.items()))
        with self._lock:
            if cache_key not in self._cache:
                module = importlib.import_module(f"{self.package}.{key}")
                self._cache[cache_key] = module.load(**options)
            return self._cache[cache_key]
