"""Bearer-token authentication: every route but the public ones needs a valid, non-revoked access token."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.stores.base import Store

from app.lib.errors import Forbidden, Unauthorized
from app.lib.security import InvalidToken, TokenClaims, TokenCodec

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


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: UUID
    role: str
    claims: TokenClaims

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def denylist_key(jti: str) -> str:
    return f"revoked-access:{jti}"


def family_denylist_key(family_id: str) -> str:
    return f"revoked-family:{family_id}"


async def revoke_access_token(store: Store, claims: TokenClaims) -> None:
    """Deny the access token until it would have expired anyway."""
    ttl = max(1, claims.expires_at - int(time.time()) + 5)
    await store.set(denylist_key(claims.jti), "1", expires_in=ttl)


async def revoke_access_family(store: Store, family_id: str, access_ttl_s: int) -> None:
    """Deny every access token issued to a login family (they live at most `access_ttl_s`)."""
    await store.set(family_denylist_key(family_id), "1", expires_in=access_ttl_s + 5)


def bearer_token(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


async def is_revoked(claims: TokenClaims, denylist: Store) -> bool:
    return await denylist.exists(denylist_key(claims.jti)) or await denylist.exists(family_denylist_key(claims.family))


async def authenticate_token(token: str, codec: TokenCodec, denylist: Store) -> AuthUser:
    try:
        claims = codec.decode(token, expected_type="access")
    except InvalidToken as exc:
        raise Unauthorized(str(exc), code="invalid_token") from None
    if await is_revoked(claims, denylist):
        raise Unauthorized("token has been revoked", code="token_revoked")
    try:
        user_id = UUID(claims.subject)
    except ValueError:
        raise Unauthorized("invalid token: malformed subject", code="invalid_token") from None
    return AuthUser(id=user_id, role=claims.role, claims=claims)


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


def admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if not isinstance(user, AuthUser) or not user.is_admin:
        raise Forbidden("administrator role required")
