"""Outermost ASGI layer: assigns the request id and prints one request-log JSON line per HTTP request."""

from __future__ import annotations

import re
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.logging import bind_request, log_request, new_request_id
from app.lib.metrics import HttpMetrics

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        bind_request(request_id, None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, request_id, status, started)

    def _log(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        user: Any = scope.get("user")
        client = scope.get("client")
        seconds = time.perf_counter() - started
        method, route = str(scope.get("method", "")), scope.get("path_template") or ""
        self.metrics.observe(method, route, status, seconds)
        log_request(
            request_id=request_id,
            method=method,
            path=scope.get("path", ""),
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            user_id=str(user.id) if getattr(user, "id", None) else None,
            ip=client[0] if client else "",
            user_agent=(_header(scope, b"user-agent") or "")[:512],
        )
