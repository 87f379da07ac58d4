"""What every route shares: the facade, the pools, the signer, and who is calling."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from moodtune.api.pools import InferencePool
from moodtune.api.security import Signer, owned_user
from moodtune.errors import AuthError, ParameterError
from moodtune.service import Moodtune

T = TypeVar("T")


@dataclass
class ApiContext:
    """One API instance's state; routes get it with :data:`Ctx`.

    Attributes
    ----------
    service : Moodtune
        The facade every route calls.
    signer : Signer
        Signs session tokens and audio links.
    pool, light : InferencePool
        The audio pool and the light pool (typed text, catalog look-ups, feedback).
    user_keys : dict
        Per-user API keys ``{key: user}``.
    max_upload_bytes : int
        Largest upload, bytes.
    """

    service: Moodtune
    signer: Signer
    pool: InferencePool
    light: InferencePool
    user_keys: dict[str, str]
    max_upload_bytes: int
    ready: bool = False
    warm_error: str | None = None
    started: float = field(default_factory=time.time)

    async def infer(self, fn: Callable[..., T], *args: Any, heavy: bool = False, **kw: Any) -> T:
        """Run ``fn`` on the audio pool (``heavy``) or the light pool."""
        return await (self.pool if heavy else self.light).run(fn, *args, **kw)

    def credential_user(self, request: Request) -> str | None:
        """The listener id the request's credential proves (per-user key or session token)."""
        key = request.headers.get("x-api-key")
        if key and key in self.user_keys:
            return self.user_keys[key]
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if auth and scheme.lower() == "bearer" and token.strip():
            return self.signer.session_user(token)
        if auth:
            raise AuthError("send the session token as 'Authorization: Bearer <token>'")
        return None

    def listener(self, request: Request, claimed: str | None) -> str | None:
        """The listener id a request may act as (:func:`~moodtune.api.security.owned_user`)."""
        return owned_user(claimed, self.credential_user(request))

    def track_links(self, track: dict[str, Any]) -> dict[str, Any]:
        """Drop a track's server path and add its signed ``audio_url`` (or None)."""
        track.pop("local_path", None)  # a server path never leaves the server
        served = self.service.playable_path(str(track["id"]))
        track["audio_url"] = self.signer.audio_url(str(track["id"])) if served else None
        return track

    def playlist_dict(self, result: Any) -> dict[str, Any]:
        """A playlist result as JSON, its tracks with links."""
        data: dict[str, Any] = result.to_dict()
        for t in data["tracks"]:
            self.track_links(t)
        return data

    def known(self, track_id: str) -> dict[str, Any]:
        """The catalog row of ``track_id``; 404 when the catalog has no such track."""
        row = self.service.track_row(track_id)
        if row is None:
            raise StarletteHTTPException(404, f"track {track_id!r} is not in the catalog")
        return row


def need_one(text: str | None, audio: bytes | None) -> None:
    """Exactly one of a typed text and a voice upload."""
    if (text is None) == (audio is None):
        raise ParameterError("send either a voice message (multipart 'audio') or a 'text'")


def get_ctx(request: Request) -> ApiContext:
    """The :class:`ApiContext` of the app serving ``request``."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


#: A route parameter that receives the :class:`ApiContext`.
Ctx = Annotated[ApiContext, Depends(get_ctx)]
