"""``POST /v1/emotion``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from moodtune.api.context import Ctx, need_one
from moodtune.api.models import EmotionRequest, body_doc
from moodtune.api.parsing import parse

router = APIRouter(tags=["emotion"])


@router.post("/v1/emotion", openapi_extra=body_doc(EmotionRequest))
async def emotion(request: Request, ctx: Ctx) -> dict[str, Any]:
    """Emotion of a voice message (multipart ``audio``) or a text (JSON ``text``)."""
    opts, audio = await parse(request, EmotionRequest, max_bytes=ctx.max_upload_bytes)
    need_one(opts.text, audio)
    user = ctx.listener(request, opts.user)
    result = await ctx.infer(
        ctx.service.emotion_of,
        heavy=audio is not None,
        text=opts.text,
        audio=audio,
        language=opts.language,
        user=user,
    )
    out: dict[str, Any] = result.to_dict()
    return out
