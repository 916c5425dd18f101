"""Central input checks that run before any handler: request JSON (see `app.lib.json_input`), form fields,
and NUL characters in paths and query strings."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.types.empty import Empty

from app.lib.json_input import check_text, decode_request_json
from app.server.errors import error_response


class CheckedRequest(Request[Any, Any, Any]):
    """A Request whose JSON and form bodies pass the central checks before any schema sees them."""

    async def json(self) -> Any:
        if self._json is Empty and self._connection_state.json is Empty:
            self._json = self._connection_state.json = decode_request_json(await self.body())
        return await super().json()

    async def form(self) -> Any:
        form = await super().form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                check_text(value, key)
        return form


class NulInUrlGuard:
    """422 for a path or query string carrying U+0000 (percent-encoded or not): no backend stores it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            response = error_response(
                422, "validation_error", "the URL must not contain NUL characters (U+0000)", [{"field": "url"}]
            )
            await response.to_asgi_response(app=None, request=Request(scope))(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    if b"\x00" in unquote_to_bytes(query.replace(b"+", b" ")):
        return True
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    return b"\x00" in unquote_to_bytes(raw_path) or "\x00" in scope.get("path", "")
