"""The HTTP API: a thin FastAPI adapter over :class:`moodtune.service.Moodtune`.

Every route validates its input at the edge, runs model work in a bounded thread pool
(a full pool answers 503 with ``Retry-After`` instead of queueing without end) and turns
every :class:`~moodtune.errors.MoodtuneError` into an RFC 9457 problem document with the
error's ``http_status``. The web page in :mod:`moodtune.web` is served at ``/``.

The package: :mod:`~moodtune.api.problems` (errors to problem+json),
:mod:`~moodtune.api.middleware` (body limit, API key), :mod:`~moodtune.api.pools`
(inference pools, limits), :mod:`~moodtune.api.models` (request models),
:mod:`~moodtune.api.parsing` (bodies), :mod:`~moodtune.api.context` (what routes share)
and :mod:`~moodtune.api.routes` (one module per area).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from moodtune import config
from moodtune.api.context import ApiContext
from moodtune.api.middleware import ApiKeyMiddleware, BodyLimitMiddleware
from moodtune.api.pools import MAX_JSON_BYTES, MAX_UPLOAD_BYTES, RETRY_AFTER_S, InferencePool
from moodtune.api.problems import PROBLEM_JSON, PROBLEM_RESPONSES, install_handlers, problem
from moodtune.api.routes import ROUTERS
from moodtune.api.security import Signer
from moodtune.service import Moodtune

__all__ = [
    "API_KEY_ENV",
    "MAX_JSON_BYTES",
    "MAX_UPLOAD_BYTES",
    "PROBLEM_JSON",
    "RETRY_AFTER_S",
    "InferencePool",
    "create_app",
    "problem",
]

log = logging.getLogger(__name__)

#: Environment variable holding the optional API key.
API_KEY_ENV = "MOODTUNE_API_KEY"
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(
    service: Moodtune | None = None,
    *,
    max_workers: int = 2,
    queue: int = 2,
    api_key: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    warm_up: bool = True,
    light_workers: int = 2,
    light_queue: int = 8,
    user_keys: dict[str, str] | None = None,
    secret: bytes | None = None,
) -> FastAPI:
    """Build the moodtune HTTP API.

    Parameters
    ----------
    service : Moodtune, optional
        The facade to serve; the process-wide one by default.
    max_workers : int
        Threads running audio work (voice messages, music analysis) at once.
    queue : int
        Audio requests that may wait for a thread; beyond that the API answers 503.
    api_key : str, optional
        Required in ``X-API-Key`` on ``/v1/`` routes; default: ``$MOODTUNE_API_KEY``.
        An empty string turns the check off.
    max_upload_bytes : int
        Largest request body (413 beyond it).
    warm_up : bool
        Load the models in a background thread at startup.
    light_workers, light_queue : int
        The same for the cheap lane (typed text, catalog look-ups, feedback), kept
        apart so that text requests do not wait behind voice messages.
    user_keys : dict, optional
        Per-user API keys ``{key: user}``; default: ``$MOODTUNE_USER_KEYS``.
    secret : bytes, optional
        Signing secret of session tokens and audio links; default:
        :func:`moodtune.config.secret_key`.
    """
    if service is None:
        from moodtune.service import get_service

        service = get_service()
    if api_key is None:
        api_key = config.api_key()
    if user_keys is None:
        user_keys = config.user_keys()
    ctx = ApiContext(
        service=service,
        signer=Signer(secret),
        pool=InferencePool(max_workers=max_workers, queue=queue),
        light=InferencePool(max_workers=light_workers, queue=light_queue),
        user_keys=user_keys,
        max_upload_bytes=max_upload_bytes,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        if warm_up:
            threading.Thread(target=_warm, args=(ctx,), name="moodtune-warm", daemon=True).start()
        yield
        ctx.pool.shutdown()
        ctx.light.shutdown()

    app = FastAPI(
        title="moodtune",
        summary="Emotion of voice and text, and playlists for it.",
        version="1",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.pool = ctx.pool
    app.state.light_pool = ctx.light
    app.state.service = ctx.service
    app.state.signer = ctx.signer
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if WEB_DIR.is_dir():  # the web page
        app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    if api_key:  # a closed server: the shared key or any per-user key opens it
        app.add_middleware(
            ApiKeyMiddleware, api_key=api_key, user_keys=user_keys, signer=ctx.signer
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_upload_bytes)
    return app


def _warm(ctx: ApiContext) -> None:
    """Load the models (in a background thread); ``/healthz`` reports the outcome."""
    t0 = time.perf_counter()
    try:
        ctx.service.warm_up()
        ctx.ready = True
        log.info("models warm in %.1f s", time.perf_counter() - t0)
    except Exception as exc:  # logged, and /healthz says so
        ctx.warm_error = str(exc)
        log.warning("warm-up failed: %s", exc)
