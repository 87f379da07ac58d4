"""``POST /v1/recommend`` and ``POST /v1/journey``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from moodtune.api.context import Ctx, need_one
from moodtune.api.models import JourneyRequest, RecommendRequest, body_doc
from moodtune.api.parsing import parse
from moodtune.errors import ParameterError

router = APIRouter(tags=["recommend"])


@router.post("/v1/recommend", openapi_extra=body_doc(RecommendRequest))
async def recommend(request: Request, ctx: Ctx) -> dict[str, Any]:
    """A playlist for the mood of a voice message or a text (with the user's feedback)."""
    svc = ctx.service
    opts, audio = await parse(request, RecommendRequest, max_bytes=ctx.max_upload_bytes)
    given = opts.emotion
    if given is not None:
        if opts.text is not None or audio is not None:
            raise ParameterError("send one of 'text', 'audio' or 'emotion', not several")
    else:
        need_one(opts.text, audio)
        if opts.current is not None:
            raise ParameterError("'current' revises a playlist: send it with 'emotion'")
    user = ctx.listener(request, opts.user)
    filters = svc.filters(
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
        result = await ctx.infer(
            svc.recommend, emotion, heavy=False, current=opts.current, **common
        )
    else:
        result = await ctx.infer(
            svc.recommend_for,
            heavy=audio is not None,
            text=opts.text,
            audio=audio,
            language=opts.language,
            **common,
        )
    return ctx.playlist_dict(result)


@router.post("/v1/journey")
async def journey(body: JourneyRequest, request: Request, ctx: Ctx) -> dict[str, Any]:
    """A smooth path of real tracks between two moods or tracks (the playlist shape)."""
    svc = ctx.service
    result = await ctx.infer(
        svc.journey,
        body.start,
        body.end,
        heavy=False,
        n=body.n,
        seed=body.seed,
        user=ctx.listener(request, body.user),
        filters=svc.filters(min_duration_s=body.min_duration_s),
    )
    return ctx.playlist_dict(result)
