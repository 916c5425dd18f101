"""Bearer authentication: every route but the public ones needs a valid access token or API key.

Who the caller is (`AuthUser`, `admin_only`) belongs to accounts (app/domain/accounts/current_user.py), what a
key may reach to apikeys (app/domain/apikeys); this module only applies both to every HTTP request.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import should_bypass_middleware
from litestar.types import Message, Receive, Scope, Send

from app.domain.accounts.current_user import AuthUser
from app.domain.apikeys.audit import MCP_TOOL_HEADER, audit_key_action
from app.domain.apikeys.authentication import authorize_route
from app.lib.errors import AppError, Unauthorized

PUBLIC_PATHS = {
    "/auth/register",
    "/auth/login",
    "/refresh",
    "/auth/refresh",
    "/health",
    "/events",
    "/dashboard-environment",
}
PUBLIC_PREFIXES = ("/schema", "/dashboard", "/metrics")
KEY_BODY_METHODS = {"POST", "PATCH", "PUT"}
AUTHENTICATED_MOUNTS = ("/mcp",)  # mounted ASGI apps that need a bearer credential like any route


def bearer_token(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


async def _json_body(connection: ASGIConnection) -> dict[str, Any] | None:
    """The request's JSON object, if it is one (read once: Litestar keeps it for the handler)."""
    try:
        raw = await Request(connection.scope, connection.receive).body()
        decoded = msgspec.json.decode(raw) if raw else None
    except (msgspec.DecodeError, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


def route_path(connection: ASGIConnection) -> str:
    """The route's template; for a mounted app (`/mcp`, whose scope is left with "/"), its mount point."""
    scope = connection.scope
    template = scope.get("path_template")
    if template:
        return str(template)
    handler = scope.get("route_handler")
    if getattr(handler, "is_mount", False):
        raw = scope.get("raw_path") or scope["path"].encode()
        for mount in AUTHENTICATED_MOUNTS:
            if raw.decode("latin-1").split("?", 1)[0].rstrip("/") == mount:
                return mount
    return str(scope["path"])


class JWTAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves `request.user`; WebSocket routes authenticate themselves (token in a subprotocol or query)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # As the base class, but the connection can read the body (a key's profile and chat restrictions).
        if not should_bypass_middleware(
            exclude_http_methods=self.exclude_http_methods,
            exclude_opt_key=self.exclude_opt_key,
            exclude_path_pattern=self.exclude,
            scope=scope,
            scopes=self.scopes,
        ):
            connection: ASGIConnection = ASGIConnection(scope, receive=receive)
            result = await self.authenticate_request(connection)
            scope["user"] = result.user
            scope["auth"] = result.auth
            user = result.user
            if isinstance(user, AuthUser) and user.key is not None:
                await self._audited(user, connection, send)
                return
        await self.app(scope, receive, send)

    async def _audited(self, user: AuthUser, connection: ASGIConnection, send: Send) -> None:
        """Run the request and record the key's action with its outcome (also when the handler raised)."""
        status = 500
        assert user.key is not None

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = route_path(connection)
        method = str(connection.scope.get("method", "GET"))
        reads_body = method in KEY_BODY_METHODS and path not in AUTHENTICATED_MOUNTS
        body = await _json_body(connection) if reads_body else None
        try:
            authorize_route(user.key, method, path, connection.path_params, connection.query_params, body)
            await self.app(connection.scope, connection.receive, watching)
        except AppError as refused:
            status = refused.status
            raise
        finally:
            audit_key_action(
                user.id,
                user.key,
                method=method,
                route=path,
                status=status,
                path_params=connection.path_params,
                query=connection.query_params,
                body=body,
                mcp_tool=connection.headers.get(MCP_TOOL_HEADER),
            )

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        path = route_path(connection)
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path == "/":
            return AuthenticationResult(user=None, auth=None)
        token = bearer_token(connection)
        if token is None:
            raise Unauthorized("missing bearer token", code="missing_token")
        ctx = connection.app.state.ctx
        user = await ctx.bearer.authenticate(token)
        return AuthenticationResult(user=user, auth=user.claims)
