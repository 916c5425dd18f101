"""`/mcp`: the MCP server (app/domain/agents/mcp_tools.py) mounted into the app over Streamable HTTP.

Stateless, JSON responses: each POST is one JSON-RPC exchange, so any API process can answer any call and
nothing is kept between calls. The bearer middleware authenticates the POST (an API key or access token)
before the MCP app sees it; each tool then calls the REST API in-process with the same credential, where the
key's scopes and restrictions are checked. DNS-rebinding protection is off: the transport is authenticated
by a bearer header, never by a cookie, so a foreign page in a browser cannot use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar, asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from mcp.server.transport_security import TransportSecuritySettings

from app.domain.agents.mcp_tools import build_mcp_server

INTERNAL_BASE = "http://mcp.internal"


class McpMount:
    """The route handler, and the lifespan that runs the MCP session manager while the app runs."""

    def __init__(self) -> None:
        self._app: Any = None
        self.server = build_mcp_server(self._client)
        self._asgi = self.server.streamable_http_app(
            streamable_http_path="/",
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    def _client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self._app, client=("127.0.0.1", 0))
        return httpx.AsyncClient(transport=transport, base_url=INTERNAL_BASE, timeout=120)

    def bind(self, app: Litestar) -> None:
        self._app = app

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        async with self.server.session_manager.run():
            yield

    def handler(self) -> ASGIRouteHandler:
        mounted = self._asgi

        @asgi("/mcp", is_mount=True, copy_scope=True)
        async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            # the mounted app routes on the remaining path: "/mcp" and "/mcp/" are both its root
            scope["path"] = "/"
            await mounted(scope, receive, send)  # type: ignore[arg-type]

        return mcp_endpoint
