"""The API's routes, one module per area; :func:`moodtune.api.app.create_app` includes them."""

from __future__ import annotations

from moodtune.api.routes import emotion, feedback, meta, mix, recommend, tracks

#: Every router, in the order the OpenAPI document lists them.
ROUTERS = (
    meta.router,
    emotion.router,
    recommend.router,
    tracks.upload_router,
    mix.router,
    tracks.router,
    meta.session_router,
    feedback.router,
)
