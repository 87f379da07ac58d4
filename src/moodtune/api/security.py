"""Who is calling, and links that carry their own permission.

The identity model (README, "Who is who"):

- A **listener id** (the ``user`` of feedback, voice statistics and playlist memory) is
  never taken from a request body on trust. It comes from a credential:

  * a **session token**, ``Authorization: Bearer <token>``, that ``POST /v1/session``
    issues for a fresh random id (the web page gets one on its first visit and keeps it);
    the token is the id signed with the server's secret (HMAC-SHA256), so nobody can
    make a token for an id they were not given;
  * a **per-user API key** (``MOODTUNE_USER_KEYS="alice:KEY1,bob:KEY2"``): a request
    with ``X-API-Key: KEY1`` acts as ``alice``.

  A body's ``user`` may repeat the credential's id; naming another id is 403, naming
  one without a credential is 401. The Telegram bot's listener is its chat id, which
  Telegram vouches for; the CLI's is the local profile.
- **Audio links** (``audio_url``) carry an expiry and a signature
  (``?exp=...&sig=...``), so an ``<audio src>`` works on a server that needs an API key,
  and a link stops working after ``MOODTUNE_AUDIO_URL_TTL`` seconds (default 3600).

The secret is ``$MOODTUNE_SECRET`` or a random key kept in the data home
(:func:`moodtune.config.secret_key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from moodtune import config
from moodtune.errors import AuthError, ForbiddenError

#: Seconds an ``audio_url`` stays valid (``$MOODTUNE_AUDIO_URL_TTL``).
AUDIO_URL_TTL_ENV = "MOODTUNE_AUDIO_URL_TTL"
DEFAULT_AUDIO_URL_TTL = config.DEFAULT_AUDIO_URL_TTL
#: Prefix of the ids ``POST /v1/session`` hands out.
SESSION_PREFIX = "s-"


class Signer:
    """HMAC-SHA256 signatures over short strings with the server's secret.

    Parameters
    ----------
    secret : bytes, optional
        Default: :func:`moodtune.config.secret_key`.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else config.secret_key()

    def sign(self, message: str) -> str:
        """URL-safe base64 signature of ``message`` (43 characters)."""
        digest = hmac.new(self._secret, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def check(self, message: str, signature: str) -> bool:
        """Whether ``signature`` is :meth:`sign` of ``message`` (constant time)."""
        return hmac.compare_digest(self.sign(message), signature)

    # -- sessions -----------------------------------------------------------------
    def new_session(self) -> tuple[str, str]:
        """A fresh listener id and its token ``<id>.<signature>``."""
        user = SESSION_PREFIX + secrets.token_hex(12)
        return user, f"{user}.{self.sign('session:' + user)}"

    def session_user(self, token: str) -> str:
        """The listener id a token proves; :class:`AuthError` when it proves nothing."""
        user, _, sig = token.strip().rpartition(".")
        if not user or not sig or not self.check("session:" + user, sig):
            raise AuthError(
                "the session token is not valid here; get a new one from POST /v1/session"
            )
        return user

    # -- audio links ----------------------------------------------------------------
    def audio_url(self, track_id: str, *, ttl: int | None = None, now: float | None = None) -> str:
        """``/v1/tracks/<id>/audio?exp=<unix s>&sig=<signature>``."""
        exp = int((time.time() if now is None else now) + (ttl or audio_url_ttl()))
        sig = self.sign(f"audio:{track_id}:{exp}")
        return f"/v1/tracks/{quote(track_id, safe=':')}/audio?exp={exp}&sig={sig}"

    def audio_ok(self, track_id: str, exp: str | None, sig: str | None) -> bool:
        """Whether ``exp``/``sig`` sign ``track_id`` and have not expired."""
        if not exp or not sig or not exp.isdigit():
            return False
        if int(exp) < time.time():
            return False
        return self.check(f"audio:{track_id}:{exp}", sig)


def audio_url_ttl() -> int:
    """Seconds an audio link stays valid (``$MOODTUNE_AUDIO_URL_TTL``, default 3600)."""
    return config.settings().audio_url_ttl


def owned_user(claimed: str | None, credential_user: str | None) -> str | None:
    """The listener id a request may act as.

    Parameters
    ----------
    claimed : str or None
        The ``user`` the request names (body or form field).
    credential_user : str or None
        The id its credential proves (session token or per-user key).

    Raises
    ------
    AuthError
        A user is named without a credential.
    ForbiddenError
        The credential belongs to another user.
    """
    if claimed is None:
        return credential_user
    if credential_user is None:
        raise AuthError(
            f"user {claimed!r} needs a credential: get a session token from POST /v1/session "
            "and send it as 'Authorization: Bearer <token>' (or use your per-user API key)"
        )
    if claimed != credential_user:
        raise ForbiddenError(
            f"this credential belongs to another user than {claimed!r}; leave 'user' out "
            "or send your own id"
        )
    return credential_user
