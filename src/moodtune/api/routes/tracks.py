"""The track routes: analyse an upload; a catalog track, its similar tracks, its audio."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moodtune.api.context import Ctx
from moodtune.api.models import UPLOAD_DOC, TrackId
from moodtune.api.parsing import audio_form, form_bool, read_upload
from moodtune.api.problems import NOT_FOUND
from moodtune.errors import ParameterError
from moodtune.service import Moodtune

upload_router = APIRouter(tags=["tracks"])
router = APIRouter(tags=["tracks"])


@upload_router.post("/v1/tracks/analyze", openapi_extra=UPLOAD_DOC)
async def analyze(request: Request, ctx: Ctx) -> dict[str, Any]:
    """Features, curve, genre, lyrics emotion and a description of an uploaded music file.

    Multipart fields: ``audio`` (the music file) and optional ``lyrics`` (``false``
    skips transcribing sung words) and ``llm`` (``true``/``false``: describe with the
    server's LLM; default when it has one).
    """
    form, upload = await audio_form(request)
    data = await read_upload(upload, max_bytes=ctx.max_upload_bytes)
    suffix = Path(upload.filename or "upload").suffix[:10]
    await upload.close()
    lyrics = form_bool(form.get("lyrics"), "lyrics")
    llm = form_bool(form.get("llm"), "llm")
    return await ctx.infer(
        analyze_bytes,
        ctx.service,
        data,
        suffix=suffix,
        lyrics=True if lyrics is None else lyrics,
        llm=llm,
        heavy=True,
    )


@router.get("/v1/tracks/{track_id}", responses=NOT_FOUND)
async def get_track(track_id: TrackId, ctx: Ctx, llm: bool | None = None) -> dict[str, Any]:
    """One catalog track: fields, features, curve, genre, lyrics and a description.

    ``genre`` is the catalog's genre name; ``genre_info`` adds its ``source``
    (``catalog``, ``tag`` or ``classifier``) and the classifier's ``probabilities``.
    ``description.source`` is ``llm`` or ``template`` (``llm=false`` never asks one).
    """
    ctx.known(track_id)
    return ctx.track_links(await ctx.infer(ctx.service.track_view, track_id, llm=llm))


@router.get("/v1/tracks/{track_id}/similar", responses=NOT_FOUND)
async def similar(
    track_id: TrackId,
    ctx: Ctx,
    n: int = 10,
    genre: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """Tracks most like a catalog track (``genre`` repeatable: only those genres)."""
    if not 1 <= n <= 100:
        raise ParameterError(f"n={n} is out of range; ask for 1 to 100 tracks")
    ctx.known(track_id)
    info, tracks = await ctx.infer(ctx.service.similar, track_id, n=n, genres=genre or None)
    rows = [ctx.track_links(t.to_dict()) for t in tracks]
    return {"query": info, "tracks": rows}


@router.get(
    "/v1/tracks/{track_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/*": {}}}, **NOT_FOUND},
)
async def track_audio(
    track_id: TrackId,
    ctx: Ctx,
    exp: Annotated[str | None, Query(max_length=20)] = None,
    sig: Annotated[str | None, Query(max_length=100)] = None,
) -> FileResponse:
    """The audio file of a scanned track (404 when it has none).

    Only files a ``moodtune scan`` found and analysed, inside a scanned library
    folder, are served: never a path from an import. Use the ``audio_url`` of a reply
    (signed, valid for ``MOODTUNE_AUDIO_URL_TTL`` seconds); on a server with an API
    key, the signature replaces the key.
    """
    ctx.known(track_id)
    path = ctx.service.playable_path(track_id)
    if path is None:
        raise StarletteHTTPException(404, f"track {track_id!r} has no local audio file")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media)


def analyze_bytes(
    svc: Moodtune, data: bytes, *, suffix: str, lyrics: bool = True, llm: bool | None = None
) -> dict[str, Any]:
    """Analyse an uploaded music file (``data``): :meth:`Moodtune.analyze_upload`.

    Errors name "the uploaded file", never the server's temporary path.
    """
    report = svc.analyze_upload(data, filename=f"upload{suffix}", lyrics=lyrics, llm=llm)
    out: dict[str, Any] = report.to_dict()
    return out
