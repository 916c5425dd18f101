"""Bearer-token authentication: every route but the public ones needs a valid, non-revoked access token.

Who the caller is (`AuthUser`, `authenticate_token`, `admin_only`) belongs to accounts
(app/domain/accounts/current_user.py); this module only applies it to every HTTP request.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.domain.accounts.current_user import authenticate_token
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


def bearer_token(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class JWTAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves `request.user`; WebSocket routes authenticate themselves (token in a subprotocol or query)."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        path = connection.scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path == "/":
            return AuthenticationResult(user=None, auth=None)
        token = bearer_token(connection)
        if token is None:
            raise Unauthorized("missing bearer token", code="missing_token")
        ctx = connection.app.state.ctx
        user = await authenticate_token(token, ctx.codec, ctx.denylist)
        return AuthenticationResult(user=user, auth=user.claims)
