"""HTTP endpoints of app users: register, login, refresh, logout, me."""

from __future__ import annotations

import functools
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.db.after_commit import after_commit
from app.db.engine import DbSession
from app.db.models import Invitation
from app.domain.accounts import invitations, services
from app.domain.accounts.current_user import AuthRequest, admin_only
from app.domain.accounts.deps import SignIns
from app.domain.accounts.schemas import (
    Credentials,
    InvitationCreate,
    InvitationOut,
    LogoutRequest,
    RefreshRequest,
    Registration,
    TokenPair,
    UserOut,
)
from app.domain.accounts.shown_users import user_out
from app.lib.errors import ServiceUnavailable, Unauthorized
from app.lib.logging import log_event
from app.lib.security import InvalidToken


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class AccountsController(Controller):
    tags = ["auth"]

    @post("/auth/register", status_code=HTTP_201_CREATED, security=[])
    async def register(
        self, data: JSONBody[Registration], sign_ins: NamedDependency[SignIns], db_session: DbSession
    ) -> UserOut:
        """Create an application user as `REGISTRATION` allows (`invite_token`, or the one-time `setup_token`)."""
        user = await services.register(
            db_session, sign_ins.hasher, sign_ins.token_policy, data, registration_policy=sign_ins.registration
        )
        log_event(
            "info",
            "accounts",
            "user.registered",
            "user registered",
            user_id=str(user.id),
            context={"role": user.role},
        )
        return user_out(user)

    @post("/auth/login", status_code=HTTP_200_OK, security=[])
    async def login(
        self, data: JSONBody[Credentials], request: Request, sign_ins: NamedDependency[SignIns], db_session: DbSession
    ) -> Response[TokenPair]:
        """Exchange email and password for an access and a refresh token."""
        email, ip = data.email.strip().lower(), client_ip(request)
        await sign_ins.throttle.begin(email, ip)
        try:
            user = await services.authenticate(db_session, sign_ins.hasher, email, data.password)
        except ServiceUnavailable:
            await sign_ins.throttle.abandoned(email, ip)
            raise
        if user is None:
            log_event("warning", "accounts", "user.login_failed", "sign-in failed", context={"ip": ip})
            raise Unauthorized("email or password is wrong", code="invalid_credentials")
        await sign_ins.throttle.succeeded(email, ip)
        log_event("info", "accounts", "user.logged_in", "user signed in", user_id=str(user.id))
        tokens = await services.issue_tokens(db_session, sign_ins.token_policy, user)
        # last_login_at changed: forget what /auth/me showed, now and once the change is committed
        sign_ins.shown_users.forget(user.id)
        after_commit(db_session, functools.partial(sign_ins.shown_users.forget, user.id))
        return Response(tokens)

    @post(["/refresh", "/auth/refresh"], status_code=HTTP_200_OK, security=[])
    async def refresh(
        self, data: JSONBody[RefreshRequest], sign_ins: NamedDependency[SignIns], db_session: DbSession
    ) -> TokenPair:
        """Rotate a refresh token; presenting a rotated one again revokes the whole login family."""
        try:
            return await services.rotate_refresh_token(db_session, sign_ins.token_policy, data.refresh_token)
        except services.RefreshTokenReused as reuse:
            # The request transaction rolls back on 401, so the revocation gets its own unit of work.
            async with sign_ins.sessionmaker.begin() as session:
                await services.revoke_family(session, reuse.family_id)
            await sign_ins.revoker.revoke_family(reuse.family_id)
            log_event(
                "warning",
                "accounts",
                "refresh_token.reused",
                "a rotated refresh token was reused; its login family is revoked",
            )
            raise Unauthorized(
                "refresh token was already used; this login has been revoked", code="token_reused"
            ) from None

    @post(["/logout", "/auth/logout"], status_code=HTTP_204_NO_CONTENT)
    async def logout(
        self,
        request: AuthRequest,
        sign_ins: NamedDependency[SignIns],
        db_session: DbSession,
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        """Revoke this login: its refresh-token family and the access token used for the call."""
        user, revoker = request.user, sign_ins.revoker
        await services.revoke_family(db_session, user.claims.family)
        if data is not None and data.refresh_token:
            try:
                claims = sign_ins.token_policy.codec.decode(data.refresh_token, expected_type="refresh")
            except InvalidToken:
                claims = None
            if claims is not None and claims.subject == str(user.id) and claims.family != user.claims.family:
                await services.revoke_family(db_session, claims.family)
                await revoker.revoke_family(claims.family)
        await revoker.revoke_token(user.claims)
        await revoker.revoke_family(user.claims.family)
        log_event("info", "accounts", "user.logged_out", "user signed out", user_id=str(user.id))

    @get("/auth/me")
    async def me(self, request: AuthRequest, sign_ins: NamedDependency[SignIns]) -> UserOut:
        """The signed-in application user."""
        return await sign_ins.shown_users.get(request.user.id)


def invitation_out(invitation: Invitation, token: str | None = None) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        status=invitations.status_of(invitation),
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
        created_by=invitation.created_by,
        used_at=invitation.used_at,
        used_by=invitation.used_by,
        revoked_at=invitation.revoked_at,
        token=token,
    )


class InvitationsController(Controller):
    """Admin-issued registration invitations (what `REGISTRATION=invite` asks for)."""

    path = "/invitations"
    tags = ["auth"]
    guards = [admin_only]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self, request: AuthRequest, db_session: DbSession, data: JSONBody[InvitationCreate | None] = None
    ) -> InvitationOut:
        """Issue an invitation; its `token` is shown in this response only."""
        data = data or InvitationCreate()
        email = services.normalize_email(data.email) if data.email is not None else None
        issued = await invitations.create(
            db_session, created_by=request.user.id, email=email, expires_in_s=data.expires_in_s
        )
        log_event("info", "accounts", "invitation.created", "invitation issued", user_id=str(request.user.id))
        return invitation_out(issued.invitation, issued.token)

    @get("/")
    async def list_invitations(
        self, db_session: DbSession, limit: Annotated[int, Parameter(ge=1, le=1000)] = 100
    ) -> list[InvitationOut]:
        """Invitations, newest first, with their status (`pending`, `used`, `expired`, `revoked`); no tokens."""
        return [invitation_out(invitation) for invitation in await invitations.list_recent(db_session, limit)]

    @delete("/{invitation_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, invitation_id: UUID, db_session: DbSession) -> None:
        """Revoke an unused invitation."""
        await invitations.revoke(db_session, invitation_id)
