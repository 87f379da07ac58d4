"""``moodtune serve``: run the HTTP API and the web page with uvicorn."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from moodtune.errors import ParameterError, missing_extra

log = logging.getLogger(__name__)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes the server (set an API key).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Threads running model work at once.")] = 2,
    queue: Annotated[
        int, typer.Option(help="Requests that may wait for a thread; more get a 503.")
    ] = 2,
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error")] = "info",
) -> None:
    """Serve the HTTP API (schema at /openapi.json) and the web page at / ."""
    try:
        import uvicorn

        from moodtune.api.app import create_app
    except ImportError as exc:
        raise missing_extra(exc.name or "fastapi", "api") from None
    if not 1 <= port <= 65535:
        raise ParameterError(f"port={port} must be from 1 to 65535")
    if workers < 1 or queue < 0:
        raise ParameterError(f"workers={workers} must be >= 1 and queue={queue} >= 0")
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(max_workers=workers, queue=queue)
    if host not in ("127.0.0.1", "localhost", "::1") and not _has_key():
        log.warning("serving on %s without an API key: set MOODTUNE_API_KEY", host)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False)


def _has_key() -> bool:
    from moodtune import config

    return bool(config.api_key())


if __name__ == "__main__":  # python -m moodtune.api.cli (benchmarks, before the lead wires `serve`)
    typer.run(serve)
