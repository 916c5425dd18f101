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
from litestar.types import Receive, Scope, Send

from app.domain.apikeys.authentication import authorize_route
from app.lib.errors import Unauthorized

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
            result = await self.authenticate_request(ASGIConnection(scope, receive=receive))
            scope["user"] = result.user
            scope["auth"] = result.auth
        await self.app(scope, receive, send)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        path = connection.scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path == "/":
            return AuthenticationResult(user=None, auth=None)
        token = bearer_token(connection)
        if token is None:
            raise Unauthorized("missing bearer token", code="missing_token")
        ctx = connection.app.state.ctx
        user = await ctx.bearer.authenticate(token)
        if user.key is not None:
            method = str(connection.scope.get("method", "GET"))
            body = await _json_body(connection) if method in KEY_BODY_METHODS else None
            template = connection.scope.get("path_template") or path
            authorize_route(user.key, method, template, connection.path_params, connection.query_params, body)
        return AuthenticationResult(user=user, auth=user.claims)
