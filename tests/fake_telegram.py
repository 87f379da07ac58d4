"""A fake Telegram Bot API server on 127.0.0.1 for the bot's tests.

It answers the methods the bot calls (``getMe``, ``sendMessage``, ``sendChatAction``,
``answerCallbackQuery``, ``getFile``, ``getUpdates``, ``deleteWebhook``), records every call
with its parameters, and serves registered files under ``/file/bot<token>/<path>`` as the
real API does. ``fail`` makes chosen methods answer HTTP 500.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

#: Parameters aiogram sends as JSON text inside the form.
JSON_FIELDS = ("reply_markup", "allowed_updates", "link_preview_options")


class FakeTelegram:
    """Record Bot API calls; serve files and queued updates.

    Attributes
    ----------
    calls : list of (method, params)
        Every call in arrival order; JSON fields (``reply_markup``...) are decoded.
    files : dict
        ``file_id -> bytes`` served through getFile and the file URL.
    file_sizes : dict
        ``file_id -> size`` reported by getFile instead of the real length.
    fail : set of str
        Methods that answer 500.
    updates : asyncio.Queue
        Updates handed out by getUpdates (long polling).
    """

    def __init__(self, *, port: int = 0) -> None:
        self.port = port  # 0: any free port
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {}
        self.file_sizes: dict[str, int] = {}
        self.fail: set[str] = set()
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._message_id = 1000
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)  # the URL holds the token
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what the tests read ---------------------------------------------------------
    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Parameters of every call of ``method``."""
        return [params for m, params in self.calls if m == method]

    def texts(self) -> list[str]:
        """Texts of every sendMessage call."""
        return [str(p.get("text", "")) for p in self.sent("sendMessage")]

    # -- server ------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data)
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            params[key] = value
        return params

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if method in self.fail:
            return web.json_response(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"},
                status=500,
            )
        if method == "getMe":
            return self._ok(
                {"id": 42, "is_bot": True, "first_name": "moodtune", "username": "moodtune_bot"}
            )
        if method in ("sendAudio", "sendVideo"):
            # aiogram uploads the file under a random field that "attach://..." names
            for value in list(params.values()):
                if hasattr(value, "file"):  # keep the uploaded bytes for the test
                    params["_bytes"] = value.file.read()
            return self._ok(self._message(params, "caption"))
        if method in ("sendMessage", "editMessageText"):
            return self._ok(self._message(params, "text"))
        if method == "getFile":
            return self._get_file(params)
        if method == "getUpdates":
            return await self._get_updates(params)
        return self._ok(True)

    def _message(self, params: dict[str, Any], field: str) -> dict[str, Any]:
        """A new message sent to the chat, its ``field`` (caption or text) from ``params``."""
        self._message_id += 1
        return {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            field: params.get(field, ""),
        }

    def _get_file(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                status=400,
            )
        return self._ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": self.file_sizes.get(file_id, len(self.files[file_id])),
                "file_path": f"media/{file_id}",
            }
        )

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        timeout = float(params.get("timeout", 0) or 0)
        try:
            first = await asyncio.wait_for(self.updates.get(), timeout=min(timeout, 1.0))
        except TimeoutError:
            return self._ok([])
        batch = [first]
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        return self._ok(batch)

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.removeprefix("media/")
        if file_id not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")
