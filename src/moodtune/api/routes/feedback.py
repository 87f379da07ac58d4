"""``POST /v1/feedback``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from moodtune.api.context import Ctx
from moodtune.api.models import FeedbackRequest, json_doc
from moodtune.api.parsing import json_body
from moodtune.api.problems import NOT_FOUND, validation_detail
from moodtune.errors import AuthError, ParameterError

router = APIRouter(tags=["recommend"])


@router.post(
    "/v1/feedback",
    status_code=201,
    openapi_extra=json_doc(FeedbackRequest),
    responses=NOT_FOUND,
)
async def feedback(request: Request, ctx: Ctx) -> dict[str, Any]:
    """Store a like or a skip; your next playlists follow it (needs a credential)."""
    try:
        body = FeedbackRequest.model_validate(await json_body(request))
    except ValidationError as exc:
        raise ParameterError(validation_detail(exc)) from None
    user = ctx.listener(request, body.user)
    if user is None:
        raise AuthError(
            "feedback needs a credential: get a session token from POST /v1/session and "
            "send it as 'Authorization: Bearer <token>' (or use your per-user API key)"
        )
    ctx.known(body.track_id)
    await ctx.infer(ctx.service.add_feedback, user, body.track_id, body.kind)
    liked, skipped = ctx.service.feedback_ids(user)
    return {
        "user": user,
        "track_id": body.track_id,
        "kind": body.kind,
        "liked": len(liked),
        "skipped": len(skipped),
    }
