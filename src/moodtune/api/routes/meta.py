"""``/healthz`` and ``POST /v1/session``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from moodtune.api.context import Ctx

router = APIRouter(tags=["meta"])
session_router = APIRouter(tags=["meta"])


@router.get("/healthz")
async def healthz(ctx: Ctx) -> dict[str, Any]:
    """Liveness and readiness: models warm, pool use."""
    pool, light = ctx.pool, ctx.light
    return {
        "status": "ok",
        "ready": ctx.ready,
        "warm_error": ctx.warm_error,
        "in_flight": pool.in_flight + light.in_flight,
        "capacity": pool.capacity,
        "refused": pool.refused + light.refused,
        "pools": {
            name: {"in_flight": p.in_flight, "capacity": p.capacity, "refused": p.refused}
            for name, p in (("audio", pool), ("text", light))
        },
        "uptime_s": round(time.time() - ctx.started, 1),
    }


@session_router.post(
    "/v1/session",
    status_code=201,
    responses={201: {"description": "A new listener id and its token."}},
)
async def session(ctx: Ctx) -> dict[str, Any]:
    """A new listener id and its signed token.

    Send the token as ``Authorization: Bearer <token>``: feedback, voice statistics
    and playlist memory then belong to this id, and nobody else can act as it.
    """
    user, token = ctx.signer.new_session()
    return {"user": user, "token": token, "header": f"Authorization: Bearer {token}"}
