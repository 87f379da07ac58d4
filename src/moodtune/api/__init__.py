"""HTTP API (FastAPI) over the moodtune service facade; the web page is served at ``/``.

Needs the ``api`` extra: ``pip install 'moodtune[api]'``.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from moodtune.api.app import create_app

        return create_app
    raise AttributeError(name)
