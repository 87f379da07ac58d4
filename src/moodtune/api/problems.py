"""RFC 9457 problem documents: the ONE place exceptions become HTTP answers."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from moodtune import config
from moodtune.api.pools import RETRY_AFTER_S
from moodtune.errors import BusyError, InputTooLargeError, MoodtuneError

log = logging.getLogger("moodtune.api.app")

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}

#: The problem answers every route may give (for the OpenAPI document).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": TITLES[code], "content": {PROBLEM_JSON: {}}}
    for code in (400, 401, 403, 413, 415, 422, 503)
}
#: The 404 of the track routes (an unknown id, or a track without a served file).
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": TITLES[404], "content": {PROBLEM_JSON: {}}}
}


def kebab(name: str) -> str:
    """``InputTooLargeError`` -> ``input-too-large-error``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build an RFC 9457 problem response.

    Parameters
    ----------
    status : int
        HTTP status.
    detail : str
        One human sentence saying what went wrong and what to do.
    kind : str, optional
        Short kebab-case problem kind (``input-too-large-error``); the ``type`` URI is
        ``urn:moodtune:problem:<kind>``, or ``about:blank`` without one.
    """
    body = {
        "type": f"urn:moodtune:problem:{kind}" if kind else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    } | extra
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


class BadRequest(MoodtuneError):
    """A request that cannot even be parsed."""

    exit_code = 2
    http_status = 400


class BodyTooLarge(InputTooLargeError):
    """The request body is over the server's limit."""


def too_large(limit: int) -> str:
    """The 413 sentence for a body over ``limit`` bytes."""
    return (
        f"the request body is over the limit of {config.describe_bytes(limit)} "
        "(MOODTUNE_MAX_UPLOAD_MB); send a shorter file"
    )


def validation_detail(exc: ValidationError | RequestValidationError) -> str:
    """The first five validation errors as ``field: message; ...``."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_handlers(app: FastAPI) -> None:
    """Turn every exception into a problem document (the API's one error boundary)."""

    @app.exception_handler(MoodtuneError)
    async def _moodtune_error(_req: Request, exc: MoodtuneError) -> Response:
        status = int(getattr(exc, "http_status", 500))
        kind = kebab(type(exc).__name__.lstrip("_"))
        if isinstance(exc, BusyError):
            return problem(status, str(exc), kind=kind, headers={"Retry-After": str(RETRY_AFTER_S)})
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return problem(status, str(exc), kind=kind)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> Response:
        return problem(422, validation_detail(exc), kind="parameter-error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return problem(500, "internal error; the server logged it", kind="internal-error")
