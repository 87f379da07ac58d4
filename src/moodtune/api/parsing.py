"""Reading request bodies at the edge: JSON (bounded, flat, valid Unicode) and multipart."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from moodtune.api.pools import MAX_JSON_BYTES, MAX_JSON_DEPTH
from moodtune.api.problems import BadRequest, BodyTooLarge, too_large, validation_detail
from moodtune.errors import InputTooLargeError, ParameterError, UnsupportedMediaError


async def audio_form(request: Request) -> tuple[Any, UploadFile]:
    """The multipart form of an upload route and its ``audio`` file (415/400/422 otherwise)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaError(
            f"content type {ctype or '(none)'!r} is not accepted; "
            "send multipart/form-data with an 'audio' file"
        )
    try:
        form = await request.form(max_files=1, max_fields=10)
    except BodyTooLarge:
        raise
    except Exception as exc:
        raise BadRequest(f"the multipart body cannot be read: {reason(exc)}") from None
    upload = form.get("audio")
    if not isinstance(upload, UploadFile):
        raise ParameterError("the form needs an 'audio' file field")
    return form, upload


async def read_upload(upload: UploadFile, *, max_bytes: int) -> bytes:
    """The uploaded file's bytes (413 over ``max_bytes``, 422 when empty)."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputTooLargeError(too_large(max_bytes))
    if not data:
        raise ParameterError("the uploaded file is empty; send a recording")
    return data


async def parse(
    request: Request, model: type[BaseModel], *, max_bytes: int
) -> tuple[Any, bytes | None]:
    """Read a JSON body or a multipart form with an ``audio`` file into ``model``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        data = await json_body(request)
        try:
            return model.model_validate(data), None
        except ValidationError as exc:
            raise ParameterError(validation_detail(exc)) from None
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=60)
        except BodyTooLarge:
            raise
        except Exception as exc:  # starlette raises its own errors for bad multipart
            raise BadRequest(f"the multipart body cannot be read: {reason(exc)}") from None
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
            raise ParameterError(validation_detail(exc)) from None
        audio = None
        if isinstance(upload, UploadFile):
            audio = await read_upload(upload, max_bytes=max_bytes)
            await upload.close()
        return options, audio
    raise UnsupportedMediaError(
        f"content type {ctype or '(none)'!r} is not accepted; send application/json "
        "or multipart/form-data with an 'audio' file"
    )


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: bounded, parseable, not too deep, valid Unicode (else 4xx)."""
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise InputTooLargeError(
            f"the JSON body is {len(raw):,} bytes, over the limit of {MAX_JSON_BYTES:,} bytes"
        )
    if nesting(raw) > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    try:  # a lone surrogate ("\ud800") parses but is no Unicode text
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            "the JSON body holds an unpaired surrogate (\\ud800-\\udfff escape); send valid "
            "Unicode text"
        ) from None
    if not isinstance(data, dict):
        raise BadRequest('the JSON body must be an object such as {"text": "..."}')
    return data


def nesting(raw: bytes) -> int:
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


def reason(exc: Exception) -> str:
    """An exception's detail, or its text."""
    return str(getattr(exc, "detail", None) or exc)


def form_bool(value: Any, name: str) -> bool | None:
    """A form field read as a boolean (``true``/``false``, ``1``/``0``...); None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ParameterError(f"{name}={value!r} must be true or false")
