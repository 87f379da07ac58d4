"""``POST /v1/mix``: music ducked under an uploaded voice track or video."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from moodtune.api.context import Ctx
from moodtune.api.models import UPLOAD_DOC
from moodtune.api.parsing import audio_form, read_upload
from moodtune.errors import ParameterError

router = APIRouter(tags=["mix"])


@router.post("/v1/mix", openapi_extra=UPLOAD_DOC)
async def mix(request: Request, ctx: Ctx) -> Response:
    """Music that fits the mood, ducked under an uploaded voice track or video.

    Multipart fields: ``audio`` (the voice recording or video), optional ``track``
    (a catalog id), ``strategy``, ``loudness`` (LUFS, default -16), ``format``
    (mp3 | m4a | wav; a video keeps its container) and ``user``. Returns the mixed
    file; the ``X-Moodtune-Mix`` header holds the measurements as JSON.
    """
    form, upload = await audio_form(request)
    data = await read_upload(upload, max_bytes=ctx.max_upload_bytes)
    filename = upload.filename or "voice.ogg"
    await upload.close()
    named = form.get("user")
    user = ctx.listener(
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
    body, result = await ctx.infer(
        ctx.service.mix_upload,
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
