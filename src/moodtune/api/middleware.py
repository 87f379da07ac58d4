"""ASGI middleware: the body size limit and the API key."""

from __future__ import annotations

import hmac
import re
from urllib.parse import parse_qs, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moodtune.api.problems import BodyTooLarge, problem, too_large
from moodtune.api.security import Signer

#: ``/v1/tracks/<id>/audio``.
AUDIO_PATH = re.compile(r"/v1/tracks/([^/]+)/audio")


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
                    resp = problem(413, too_large(limit), kind="input-too-large-error")
                    await resp(scope, receive, send)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(too_large(limit))
            return message

        await self.app(scope, counted, send)


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
        match = AUDIO_PATH.fullmatch(scope["path"])
        if match is None or self.signer is None or scope.get("method") not in ("GET", "HEAD"):
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        track_id = unquote(match.group(1))
        return self.signer.audio_ok(
            track_id, (query.get("exp") or [None])[0], (query.get("sig") or [None])[0]
        )
