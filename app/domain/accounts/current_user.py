"""Who is calling: the signed-in user of a request, resolved from its bearer token by the auth middleware.

Handlers take `request: AuthRequest` and read `request.user` (an `AuthUser`) and `request.auth` (its token's
claims). The HTTP auth middleware and `WS /events` both authenticate with `authenticate_token`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler
from litestar.stores.base import Store

from app.domain.accounts.tokens import is_revoked
from app.lib.errors import Forbidden, Unauthorized
from app.lib.security import InvalidToken, TokenClaims, TokenCodec


@dataclass(frozen=True, slots=True)
class CallerKey:
    """The API key a request was made with (app/domain/apikeys): what it may do and where."""

    id: UUID
    name: str
    scopes: frozenset[str]
    profiles: frozenset[str]  # phone numbers; empty: every profile of the owner
    chats: frozenset[str]  # normalised chat ids or usernames; empty: every chat
    send_requires_approval: bool = False


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: UUID
    role: str
    claims: TokenClaims
    key: CallerKey | None = None  # set when the caller used an API key instead of an access token

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


AuthRequest: TypeAlias = Request[AuthUser, TokenClaims, State]
"""The request of an authenticated route: `request.user` is the caller."""


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


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if not isinstance(user, AuthUser) or not user.is_admin or user.key is not None:
        raise Forbidden("administrator role required")
