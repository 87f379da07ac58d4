"""The HTTP API: a thin FastAPI adapter over :class:`moodtune.service.Moodtune`.

Every route validates its input at the edge, runs model work in a bounded thread pool
(a full pool answers 503 with ``Retry-After`` instead of queueing without end) and turns
every :class:`~moodtune.errors.MoodtuneError` into an RFC 9457 problem document with the
error's ``http_status``. The web page in :mod:`moodtune.web` is served at ``/``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import mimetypes
import re
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qs, unquote

from fastapi import FastAPI, Query, Request
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moodtune import config
from moodtune.api.security import Signer, owned_user
from moodtune.errors import (
    AuthError,
    BusyError,
    InputTooLargeError,
    MoodtuneError,
    ParameterError,
    UnsupportedMediaError,
)
from moodtune.service import Moodtune

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Largest request body accepted (uploads included), in bytes (``config.limits()``).
MAX_UPLOAD_BYTES = config.limits().upload_bytes
#: Largest JSON body accepted, in bytes.
MAX_JSON_BYTES = config.limits().json_bytes
#: Seconds a client is told to wait after a 503.
RETRY_AFTER_S = 2
#: Environment variable holding the optional API key.
API_KEY_ENV = "MOODTUNE_API_KEY"
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
PROBLEM_JSON = "application/problem+json"


# -- problem details (RFC 9457) ------------------------------------------------------
_TITLES = {
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


def _kebab(name: str) -> str:
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
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    } | extra
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


class _BodyTooLarge(InputTooLargeError):
    """The request body is over the server's limit."""


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` (413), by header and while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting ``receive``, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    resp = problem(413, _too_large(limit), kind="input-too-large-error")
                    await resp(scope, receive, send)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(_too_large(limit))
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> str:
    return (
        f"the request body is over the limit of {config.describe_bytes(limit)} "
        "(MOODTUNE_MAX_UPLOAD_MB); send a shorter file"
    )


class ApiKeyMiddleware:
    """Require ``X-API-Key`` on every ``/v1/`` route when keys are set.

    The server-wide key and every per-user key (``MOODTUNE_USER_KEYS``) are accepted.
    A track's audio route also passes with a valid signed link (``?exp=&sig=``), which
    is what the web page's ``<audio>`` players use: they cannot send a header.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        user_keys: dict[str, str] | None = None,
        signer: Signer | None = None,
    ) -> None:
        self.app = app
        self.keys = [k.encode() for k in ([api_key] if api_key else []) + list(user_keys or {})]
        self.signer = signer

    def _known_key(self, given: bytes) -> bool:
        ok = False
        for key in self.keys:  # compare with every key: no early exit
            ok |= hmac.compare_digest(given, key)
        return ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 401 without a right key or signature."""
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            given = dict(scope.get("headers", [])).get(b"x-api-key", b"")
            if not self._known_key(given) and not self._signed_audio(scope):
                resp = problem(
                    401,
                    "this server needs an API key: send it in the X-API-Key header",
                    kind="missing-api-key",
                    headers={"WWW-Authenticate": "X-API-Key"},
                )
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _signed_audio(self, scope: Scope) -> bool:
        match = _AUDIO_PATH.fullmatch(scope["path"])
        if match is None or self.signer is None or scope.get("method") not in ("GET", "HEAD"):
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        track_id = unquote(match.group(1))
        return self.signer.audio_ok(
            track_id, (query.get("exp") or [None])[0], (query.get("sig") or [None])[0]
        )


#: ``/v1/tracks/<id>/audio``.
_AUDIO_PATH = re.compile(r"/v1/tracks/([^/]+)/audio")


# -- the bounded inference pool -------------------------------------------------------
class InferencePool:
    """A thread pool that refuses work (:class:`BusyError`) when it is full.

    Parameters
    ----------
    max_workers : int
        Threads running model work at once.
    queue : int
        Requests allowed to wait for a thread; one more is refused with a 503.
    """

    def __init__(self, *, max_workers: int = 2, queue: int = 2) -> None:
        if max_workers < 1 or queue < 0:
            raise ParameterError(f"max_workers={max_workers} must be >= 1 and queue={queue} >= 0")
        self.max_workers = max_workers
        self.capacity = max_workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.refused = 0

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet finished."""
        return self._in_flight

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the pool; raise :class:`BusyError` when full."""
        if not self._slots.acquire(blocking=False):
            with self._count_lock:
                self.refused += 1
            raise BusyError(
                f"the server is busy ({self.capacity} requests in progress); "
                f"retry in {RETRY_AFTER_S} s"
            )
        with self._count_lock:
            self._in_flight += 1
        try:
            future = self._start().submit(fn, *args, **kwargs)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())  # released when work ends
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        with self._count_lock:
            self._in_flight -= 1
        self._slots.release()

    def _start(self) -> ThreadPoolExecutor:
        with self._count_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.max_workers, thread_name_prefix="moodtune-infer"
                )
            return self._executor

    def shutdown(self) -> None:
        """Stop the threads (waiting for running work); the next run starts new ones."""
        with self._count_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


# -- request models --------------------------------------------------------------------
#: A track of the embedded default catalog ("Pangarap"), the schema's example id.
EXAMPLE_TRACK_ID = "0017A6SJgTbfQVU2EtsPNo"
#: A catalog track id in a path.
TrackId = Annotated[str, FastApiPath(min_length=1, max_length=200, examples=[EXAMPLE_TRACK_ID])]


def _no_bool(value: Any) -> Any:
    """Refuse JSON ``true``/``false`` where a number is meant (``n: true`` is not 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


#: An integer that JSON booleans do not pass for.
Int = Annotated[int, BeforeValidator(_no_bool)]
#: A finite number that JSON booleans do not pass for.
Number = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]
#: A probability: a finite number in [0, 1].
Probability = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1, allow_inf_nan=False)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["auto", "ru", "en"] = Field("auto", description="Language of the voice.")
    user: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=(
            "Your listener id, as POST /v1/session gave it (optional: the credential already "
            "says who you are; naming another id is refused)."
        ),
    )


class EmotionRequest(_Options):
    """JSON body of ``POST /v1/emotion`` (or the form fields beside an ``audio`` file)."""

    text: str | None = Field(
        None,
        description="A typed message (ru or en), up to 5000 chars.",
        examples=["I feel sad and lonely today"],
    )


class GivenEmotion(BaseModel):
    """An emotion the client already has: a distribution over the 7 labels, or a point."""

    model_config = ConfigDict(extra="forbid")

    probabilities: dict[str, Probability] | None = Field(
        None,
        max_length=7,
        description=(
            "{label: p} over anger, disgust, fear, happiness, neutral, sadness, surprise (as "
            "`emotion.probabilities` of an earlier reply; each in [0, 1], missing labels "
            "count as 0, at least one above 0)."
        ),
        examples=[{"sadness": 0.7, "neutral": 0.3}],
    )
    valence: Number | None = Field(None, ge=-1, le=1, description="Circumplex valence.")
    arousal: Number | None = Field(None, ge=-1, le=1, description="Circumplex arousal.")


class RecommendRequest(EmotionRequest):
    """JSON body of ``POST /v1/recommend`` (or the form fields beside an ``audio`` file).

    Give one of ``text``, an ``audio`` upload, or ``emotion`` (a distribution or a
    valence/arousal point you already have, e.g. to refresh a playlist after feedback
    without sending the voice message again).
    """

    emotion: GivenEmotion | None = None

    strategy: Literal["match", "uplift", "calm", "energize"] = "match"
    n: Int = Field(10, ge=1, le=100, description="Playlist length.")
    seed: Int | None = Field(None, ge=0, le=2**32 - 1, description="Seed (reproducible).")
    year_min: Int | None = Field(None, ge=1, le=9999)
    year_max: Int | None = Field(None, ge=1, le=9999)
    genres: list[str] | None = Field(None, max_length=50, description="Allowed genres.")
    explicit: bool = Field(True, description="False leaves out explicit tracks.")
    max_duration_s: Number | None = Field(None, gt=0, le=36_000)
    min_duration_s: float = Field(
        60.0, ge=0, le=36_000, description="Shortest track in seconds (0 allows jingles)."
    )
    current: list[str] | None = Field(
        None,
        max_length=100,
        description=(
            "Revise this playlist (track ids, in order) after feedback instead of making a new "
            "one: skipped tracks are replaced in place, every other track stays. Needs `emotion`."
        ),
    )
    llm: bool | None = Field(
        None,
        description=(
            "Ask the server's LLM (MOODTUNE_LLM_URL) for the music targets; default: when the "
            "server has one. The reply's `targets.source` says which targets were used."
        ),
    )


class FeedbackRequest(BaseModel):
    """Body of ``POST /v1/feedback``."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your listener id (optional; must be the credential's own).",
    )
    track_id: str = Field(..., min_length=1, max_length=200, examples=[EXAMPLE_TRACK_ID])
    kind: Literal["like", "skip"]


class JourneyRequest(BaseModel):
    """Body of ``POST /v1/journey``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str = Field(
        ...,
        alias="from",
        min_length=1,
        max_length=200,
        description="An emotion (sad, calm, ...), a 'valence,arousal' point or a track id.",
    )
    end: str = Field(..., alias="to", min_length=1, max_length=200, description="As `from`.")
    n: int = Field(12, ge=2, le=100, description="Steps, ends included.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Seed (reproducible).")
    user: str | None = Field(None, min_length=1, max_length=200, description="User id.")
    min_duration_s: float = Field(60.0, ge=0, le=36_000)


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined.

    An ``openapi_extra`` schema lands inside the OpenAPI document, where a
    ``#/$defs/...`` reference would point at the document's root and not resolve.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = dict(defs[ref.removeprefix("#/$defs/")])
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk(target | rest)
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


def _json_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(model)}},
        }
    }


def _form_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = _inline_schema(model)
    props = {k: v for k, v in schema["properties"].items() if k not in ("text", "emotion")}
    props["audio"] = {"type": "string", "format": "binary", "description": "A voice message."}
    return {"type": "object", "properties": props, "required": ["audio"]}


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline_schema(model)},
                "multipart/form-data": {"schema": _form_schema(model)},
            },
        }
    }


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"audio": {"type": "string", "format": "binary"}},
                    "required": ["audio"],
                }
            }
        },
    }
}

_PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": _TITLES[code], "content": {PROBLEM_JSON: {}}}
    for code in (400, 401, 403, 413, 415, 422, 503)
}
#: The 404 of the track routes (an unknown id, or a track without a served file).
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": _TITLES[404], "content": {PROBLEM_JSON: {}}}
}


# -- parsing -------------------------------------------------------------------------
async def _audio_form(request: Request) -> tuple[Any, UploadFile]:
    """The multipart form of an upload route and its ``audio`` file (415/400/422 otherwise)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaError(
            f"content type {ctype or '(none)'!r} is not accepted; "
            "send multipart/form-data with an 'audio' file"
        )
    try:
        form = await request.form(max_files=1, max_fields=10)
    except _BodyTooLarge:
        raise
    except Exception as exc:
        raise _BadRequest(f"the multipart body cannot be read: {_reason(exc)}") from None
    upload = form.get("audio")
    if not isinstance(upload, UploadFile):
        raise ParameterError("the form needs an 'audio' file field")
    return form, upload


async def _read_upload(upload: UploadFile, *, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputTooLargeError(_too_large(max_bytes))
    if not data:
        raise ParameterError("the uploaded file is empty; send a recording")
    return data


async def _parse(
    request: Request, model: type[BaseModel], *, max_bytes: int
) -> tuple[Any, bytes | None]:
    """Read a JSON body or a multipart form with an ``audio`` file into ``model``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        data = await _json_body(request)
        try:
            return model.model_validate(data), None
        except ValidationError as exc:
            raise ParameterError(_validation_detail(exc)) from None
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=60)
        except _BodyTooLarge:
            raise
        except Exception as exc:  # starlette raises its own errors for bad multipart
            raise _BadRequest(f"the multipart body cannot be read: {_reason(exc)}") from None
        upload = form.get("audio")
        fields: dict[str, Any] = {}
        for key in form:
            if key == "audio":
                continue
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            if key == "genres":
                fields[key] = [g.strip() for v in values for g in v.split(",") if g.strip()]
            elif values:
                fields[key] = values[-1]
        if upload is not None and not isinstance(upload, UploadFile):
            raise ParameterError("the form needs an 'audio' file field (or send JSON text)")
        try:
            options = model.model_validate(fields)
        except ValidationError as exc:
            raise ParameterError(_validation_detail(exc)) from None
        audio = None
        if isinstance(upload, UploadFile):
            audio = await _read_upload(upload, max_bytes=max_bytes)
            await upload.close()
        return options, audio
    raise UnsupportedMediaError(
        f"content type {ctype or '(none)'!r} is not accepted; send application/json "
        "or multipart/form-data with an 'audio' file"
    )


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: bounded, parseable, not too deep, valid Unicode (else 4xx)."""
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise InputTooLargeError(
            f"the JSON body is {len(raw):,} bytes, over the limit of {MAX_JSON_BYTES:,} bytes"
        )
    if _nesting(raw) > MAX_JSON_DEPTH:
        raise _BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _BadRequest(f"the body is not valid JSON: {exc}") from None
    try:  # a lone surrogate ("\ud800") parses but is no Unicode text
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _BadRequest(
            "the JSON body holds an unpaired surrogate (\\ud800-\\udfff escape); send valid "
            "Unicode text"
        ) from None
    if not isinstance(data, dict):
        raise _BadRequest('the JSON body must be an object such as {"text": "..."}')
    return data


#: Deepest JSON nesting accepted (request bodies are flat objects).
MAX_JSON_DEPTH = 16


def _nesting(raw: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, outside strings (no parsing, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class _BadRequest(MoodtuneError):
    """A request that cannot even be parsed."""

    exit_code = 2
    http_status = 400


def _validation_detail(exc: ValidationError | RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# -- the application -----------------------------------------------------------------
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
    svc: Moodtune = service
    if api_key is None:
        api_key = config.api_key()
    if user_keys is None:
        user_keys = config.user_keys()
    signer = Signer(secret)
    pool = InferencePool(max_workers=max_workers, queue=queue)
    light = InferencePool(max_workers=light_workers, queue=light_queue)
    state: dict[str, Any] = {"ready": False, "warm_error": None, "started": time.time()}

    def _warm() -> None:
        t0 = time.perf_counter()
        try:
            warm = getattr(svc, "warm_up", None)
            if callable(warm):
                warm()
            else:
                svc.recommend(svc.emotion_of(text="warming up"), n=1)
                from moodtune.speech.whisper import get_whisper

                get_whisper()
            state["ready"] = True
            log.info("models warm in %.1f s", time.perf_counter() - t0)
        except Exception as exc:  # logged, and /healthz says so
            state["warm_error"] = str(exc)
            log.warning("warm-up failed: %s", exc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        if warm_up:
            threading.Thread(target=_warm, name="moodtune-warm", daemon=True).start()
        yield
        pool.shutdown()
        light.shutdown()

    app = FastAPI(
        title="moodtune",
        summary="Emotion of voice and text, and playlists for it.",
        version="1",
        lifespan=lifespan,
        responses=_PROBLEM_RESPONSES,
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.pool = pool
    app.state.light_pool = light
    app.state.service = svc
    app.state.signer = signer

    # -- error handlers: the ONE place exceptions become HTTP ---------------------------
    @app.exception_handler(MoodtuneError)
    async def _moodtune_error(_req: Request, exc: MoodtuneError) -> Response:
        status = int(getattr(exc, "http_status", 500))
        kind = _kebab(type(exc).__name__.lstrip("_"))
        if isinstance(exc, BusyError):
            return problem(status, str(exc), kind=kind, headers={"Retry-After": str(RETRY_AFTER_S)})
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return problem(status, str(exc), kind=kind)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> Response:
        return problem(422, _validation_detail(exc), kind="parameter-error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return problem(500, "internal error; the server logged it", kind="internal-error")

    async def infer(fn: Callable[..., T], *args: Any, heavy: bool = False, **kwargs: Any) -> T:
        return await (pool if heavy else light).run(fn, *args, **kwargs)

    def credential_user(request: Request) -> str | None:
        """The listener id the request's credential proves (per-user key or session token)."""
        key = request.headers.get("x-api-key")
        if key and key in user_keys:
            return user_keys[key]
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if auth and scheme.lower() == "bearer" and token.strip():
            return signer.session_user(token)
        if auth:
            raise AuthError("send the session token as 'Authorization: Bearer <token>'")
        return None

    def listener(request: Request, claimed: str | None) -> str | None:
        return owned_user(claimed, credential_user(request))

    def _track_links(track: dict[str, Any]) -> dict[str, Any]:
        track.pop("local_path", None)  # a server path never leaves the server
        served = svc.catalog().playable_path(str(track["id"]))
        track["audio_url"] = signer.audio_url(str(track["id"])) if served else None
        return track

    def _playlist_dict(result: Any) -> dict[str, Any]:
        data: dict[str, Any] = result.to_dict()
        for t in data["tracks"]:
            _track_links(t)
        return data

    # -- routes ---------------------------------------------------------------------
    @app.get("/healthz", tags=["meta"])
    async def healthz() -> dict[str, Any]:
        """Liveness and readiness: models warm, pool use."""
        return {
            "status": "ok",
            "ready": state["ready"],
            "warm_error": state["warm_error"],
            "in_flight": pool.in_flight + light.in_flight,
            "capacity": pool.capacity,
            "refused": pool.refused + light.refused,
            "pools": {
                name: {"in_flight": p.in_flight, "capacity": p.capacity, "refused": p.refused}
                for name, p in (("audio", pool), ("text", light))
            },
            "uptime_s": round(time.time() - state["started"], 1),
        }

    @app.post("/v1/emotion", tags=["emotion"], openapi_extra=_body_doc(EmotionRequest))
    async def emotion(request: Request) -> dict[str, Any]:
        """Emotion of a voice message (multipart ``audio``) or a text (JSON ``text``)."""
        opts, audio = await _parse(request, EmotionRequest, max_bytes=max_upload_bytes)
        _need_one(opts.text, audio)
        user = listener(request, opts.user)
        result = await infer(
            svc.emotion_of,
            heavy=audio is not None,
            text=opts.text,
            audio=audio,
            language=opts.language,
            user=user,
        )
        out: dict[str, Any] = result.to_dict()
        return out

    @app.post("/v1/recommend", tags=["recommend"], openapi_extra=_body_doc(RecommendRequest))
    async def recommend(request: Request) -> dict[str, Any]:
        """A playlist for the mood of a voice message or a text (with the user's feedback)."""
        from moodtune.recommend import Filters

        opts, audio = await _parse(request, RecommendRequest, max_bytes=max_upload_bytes)
        given = opts.emotion
        if given is not None:
            if opts.text is not None or audio is not None:
                raise ParameterError("send one of 'text', 'audio' or 'emotion', not several")
        else:
            _need_one(opts.text, audio)
            if opts.current is not None:
                raise ParameterError("'current' revises a playlist: send it with 'emotion'")
        user = listener(request, opts.user)
        filters = Filters(
            year_min=opts.year_min,
            year_max=opts.year_max,
            genres=frozenset(opts.genres) if opts.genres else None,
            explicit=opts.explicit,
            max_duration_s=opts.max_duration_s,
            min_duration_s=opts.min_duration_s,
        )
        common: dict[str, Any] = {
            "user": user,
            "strategy": opts.strategy,
            "n": opts.n,
            "filters": filters,
            "seed": opts.seed,
            "llm": opts.llm,
        }
        if given is not None:
            emotion = svc.emotion_given(
                probabilities=given.probabilities, valence=given.valence, arousal=given.arousal
            )
            result = await infer(
                svc.recommend, emotion, heavy=False, current=opts.current, **common
            )
        else:
            result = await infer(
                svc.recommend_for,
                heavy=audio is not None,
                text=opts.text,
                audio=audio,
                language=opts.language,
                **common,
            )
        return _playlist_dict(result)

    @app.post("/v1/journey", tags=["recommend"])
    async def journey(body: JourneyRequest, request: Request) -> dict[str, Any]:
        """A smooth path of real tracks between two moods or tracks (the playlist shape)."""
        from moodtune.recommend import Filters

        result = await infer(
            svc.journey,
            body.start,
            body.end,
            heavy=False,
            n=body.n,
            seed=body.seed,
            user=listener(request, body.user),
            filters=Filters(min_duration_s=body.min_duration_s),
        )
        return _playlist_dict(result)

    @app.post("/v1/tracks/analyze", tags=["tracks"], openapi_extra=_UPLOAD_DOC)
    async def analyze(request: Request) -> dict[str, Any]:
        """Features, curve, genre, lyrics emotion and a description of an uploaded music file.

        Multipart fields: ``audio`` (the music file) and optional ``lyrics`` (``false``
        skips transcribing sung words) and ``llm`` (``true``/``false``: describe with the
        server's LLM; default when it has one).
        """
        form, upload = await _audio_form(request)
        data = await _read_upload(upload, max_bytes=max_upload_bytes)
        suffix = Path(upload.filename or "upload").suffix[:10]
        await upload.close()
        lyrics = _form_bool(form.get("lyrics"), "lyrics")
        llm = _form_bool(form.get("llm"), "llm")
        return await infer(
            _analyze_bytes,
            svc,
            data,
            suffix=suffix,
            lyrics=True if lyrics is None else lyrics,
            llm=llm,
            heavy=True,
        )

    @app.post("/v1/mix", tags=["mix"], openapi_extra=_UPLOAD_DOC)
    async def mix(request: Request) -> Response:
        """Music that fits the mood, ducked under an uploaded voice track or video.

        Multipart fields: ``audio`` (the voice recording or video), optional ``track``
        (a catalog id), ``strategy``, ``loudness`` (LUFS, default -16), ``format``
        (mp3 | m4a | wav; a video keeps its container) and ``user``. Returns the mixed
        file; the ``X-Moodtune-Mix`` header holds the measurements as JSON.
        """
        form, upload = await _audio_form(request)
        data = await _read_upload(upload, max_bytes=max_upload_bytes)
        filename = upload.filename or "voice.ogg"
        await upload.close()
        named = form.get("user")
        user = listener(
            request, named.strip() if isinstance(named, str) and named.strip() else None
        )

        def field(name: str) -> str | None:
            value = form.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        fmt = field("format")
        try:
            loudness = float(field("loudness") or -16.0)
        except ValueError:
            raise ParameterError(f"loudness={field('loudness')!r} must be a number") from None
        body, result = await infer(
            svc.mix_upload,
            data,
            filename=filename,
            output_ext=None if fmt is None else "." + fmt.lstrip("."),
            track=field("track"),
            strategy=field("strategy") or "match",
            loudness=loudness,
            user=user,
            heavy=True,
        )
        summary = result.public_dict()  # no transcript, no server path
        return Response(
            body,
            media_type=result.media_type,
            headers={"X-Moodtune-Mix": json.dumps(summary, ensure_ascii=True, default=str)},
        )

    @app.get("/v1/tracks/{track_id}", tags=["tracks"], responses=_NOT_FOUND)
    async def get_track(track_id: TrackId, llm: bool | None = None) -> dict[str, Any]:
        """One catalog track: fields, features, curve, genre, lyrics and a description.

        ``genre`` is the catalog's genre name; ``genre_info`` adds its ``source``
        (``catalog``, ``tag`` or ``classifier``) and the classifier's ``probabilities``.
        ``description.source`` is ``llm`` or ``template`` (``llm=false`` never asks one).
        """
        _known(svc, track_id)
        return _track_links(await infer(svc.track_view, track_id, llm=llm))

    @app.get("/v1/tracks/{track_id}/similar", tags=["tracks"], responses=_NOT_FOUND)
    async def similar(
        track_id: TrackId,
        n: int = 10,
        genre: Annotated[list[str] | None, Query()] = None,
    ) -> dict[str, Any]:
        """Tracks most like a catalog track (``genre`` repeatable: only those genres)."""
        if not 1 <= n <= 100:
            raise ParameterError(f"n={n} is out of range; ask for 1 to 100 tracks")
        _known(svc, track_id)
        info, tracks = await infer(svc.similar, track_id, n=n, genres=genre or None)
        rows = [_track_links(t.to_dict()) for t in tracks]
        return {"query": info, "tracks": rows}

    @app.get(
        "/v1/tracks/{track_id}/audio",
        tags=["tracks"],
        response_class=FileResponse,
        responses={200: {"content": {"audio/*": {}}}, **_NOT_FOUND},
    )
    async def track_audio(
        track_id: TrackId,
        exp: Annotated[str | None, Query(max_length=20)] = None,
        sig: Annotated[str | None, Query(max_length=100)] = None,
    ) -> FileResponse:
        """The audio file of a scanned track (404 when it has none).

        Only files a ``moodtune scan`` found and analysed, inside a scanned library
        folder, are served: never a path from an import. Use the ``audio_url`` of a reply
        (signed, valid for ``MOODTUNE_AUDIO_URL_TTL`` seconds); on a server with an API
        key, the signature replaces the key.
        """
        _known(svc, track_id)
        path = svc.catalog().playable_path(track_id)
        if path is None:
            raise StarletteHTTPException(404, f"track {track_id!r} has no local audio file")
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media)

    @app.post(
        "/v1/session",
        tags=["meta"],
        status_code=201,
        responses={201: {"description": "A new listener id and its token."}},
    )
    async def session() -> dict[str, Any]:
        """A new listener id and its signed token.

        Send the token as ``Authorization: Bearer <token>``: feedback, voice statistics
        and playlist memory then belong to this id, and nobody else can act as it.
        """
        user, token = signer.new_session()
        return {"user": user, "token": token, "header": f"Authorization: Bearer {token}"}

    @app.post(
        "/v1/feedback",
        tags=["recommend"],
        status_code=201,
        openapi_extra=_json_doc(FeedbackRequest),
        responses=_NOT_FOUND,
    )
    async def feedback(request: Request) -> dict[str, Any]:
        """Store a like or a skip; your next playlists follow it (needs a credential)."""
        try:
            body = FeedbackRequest.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise ParameterError(_validation_detail(exc)) from None
        user = listener(request, body.user)
        if user is None:
            raise AuthError(
                "feedback needs a credential: get a session token from POST /v1/session and "
                "send it as 'Authorization: Bearer <token>' (or use your per-user API key)"
            )
        _known(svc, body.track_id)
        await infer(svc.add_feedback, user, body.track_id, body.kind)
        liked, skipped = svc.feedback_ids(user)
        return {
            "user": user,
            "track_id": body.track_id,
            "kind": body.kind,
            "liked": len(liked),
            "skipped": len(skipped),
        }

    # -- the web page ---------------------------------------------------------------
    if WEB_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    if api_key:  # a closed server: the shared key or any per-user key opens it
        app.add_middleware(ApiKeyMiddleware, api_key=api_key, user_keys=user_keys, signer=signer)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_upload_bytes)
    return app


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "detail", None) or exc)


def _need_one(text: str | None, audio: bytes | None) -> None:
    if (text is None) == (audio is None):
        raise ParameterError("send either a voice message (multipart 'audio') or a 'text'")


def _known(svc: Moodtune, track_id: str) -> dict[str, Any]:
    row = svc.catalog().get_track(track_id)
    if row is None:
        raise StarletteHTTPException(404, f"track {track_id!r} is not in the catalog")
    return row


def _form_bool(value: Any, name: str) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ParameterError(f"{name}={value!r} must be true or false")


def _analyze_bytes(
    svc: Moodtune, data: bytes, *, suffix: str, lyrics: bool = True, llm: bool | None = None
) -> dict[str, Any]:
    safe = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,9}", suffix or "") else ".bin"
    with tempfile.TemporaryDirectory(prefix="moodtune-upload-") as tmp:
        path = Path(tmp) / f"upload{safe}"
        path.write_bytes(data)
        try:
            out: dict[str, Any] = svc.analyze_track(path, lyrics=lyrics, llm=llm).to_dict()
        except MoodtuneError as exc:  # name the upload, not the server's temporary file
            message = str(exc).replace(str(path), "the uploaded file")
            if message == str(exc):
                raise
            raise type(exc)(message) from exc
    return out
