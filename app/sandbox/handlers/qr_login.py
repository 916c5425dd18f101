"""auth.exportLoginToken / importLoginToken / acceptLoginToken: QR login (core.telegram.org/api/qr-login).

A logged-out key exports a token (shown as `tg://login?token=<base64url>`, valid 30 s, re-exported to refresh);
a logged-in device of the account accepts it, and the exporting key gets `updateLoginToken`. Its next export
answers `auth.loginTokenSuccess` on the account's home DC, else `auth.loginTokenMigrateTo` with a token that
`importLoginToken` on that DC turns into the login. Tokens are not persisted.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telethon.tl import TLObject, functions, types

from .. import render
from ..dcs import home_dc
from ..rpc import RpcContext, RpcError, rpc
from ..state import random_long
from .auth import log_in

if TYPE_CHECKING:
    from ..server import SandboxDC

TOKEN_TTL_SECONDS = 30


@dataclass
class LoginToken:
    key_id: int  # the exporting key
    dc_id: int  # where it may be used
    expires: float
    user_id: int = 0  # who accepted it (0: nobody yet)
    migrated: bool = False  # a loginTokenMigrateTo token, for importLoginToken on `dc_id`


def _tokens(ctx: RpcContext) -> dict[bytes, LoginToken]:
    return ctx.dc.login_tokens


def _log_in(ctx: RpcContext, user_id: int) -> types.auth.LoginTokenSuccess:
    return types.auth.LoginTokenSuccess(log_in(ctx, ctx.dc.state.users[user_id]))


def _success_or_migrate(ctx: RpcContext, token: LoginToken) -> TLObject:
    home = home_dc(ctx.dc, ctx.dc.state.users[token.user_id])
    if home == ctx.conn.dc_id:
        return _log_in(ctx, token.user_id)
    moved = os.urandom(32)
    _tokens(ctx)[moved] = LoginToken(
        key_id=0, dc_id=home, expires=time.time() + TOKEN_TTL_SECONDS, user_id=token.user_id, migrated=True
    )
    return types.auth.LoginTokenMigrateTo(dc_id=home, token=moved)


@rpc(functions.auth.ExportLoginTokenRequest, auth=False)
async def export_login_token(ctx: RpcContext, request: functions.auth.ExportLoginTokenRequest) -> TLObject:
    if ctx.auth_key.authorization is not None and not ctx.auth_key.authorization.password_pending:
        raise RpcError(400, "AUTH_TOKEN_ALREADY_ACCEPTED")  # already logged in
    now = time.time()
    tokens = _tokens(ctx)
    for value, token in list(tokens.items()):
        if token.expires <= now and not token.user_id:
            del tokens[value]
        elif token.key_id == ctx.auth_key.key_id and token.user_id:
            del tokens[value]
            return _success_or_migrate(ctx, token)
    value = os.urandom(32)
    tokens[value] = LoginToken(key_id=ctx.auth_key.key_id, dc_id=ctx.conn.dc_id, expires=now + TOKEN_TTL_SECONDS)
    return types.auth.LoginToken(expires=render.ts(int(now + TOKEN_TTL_SECONDS)), token=value)


@rpc(functions.auth.ImportLoginTokenRequest, auth=False)
async def import_login_token(ctx: RpcContext, request: functions.auth.ImportLoginTokenRequest) -> TLObject:
    token = _tokens(ctx).get(request.token)
    if token is None or token.dc_id != ctx.conn.dc_id:
        raise RpcError(400, "AUTH_TOKEN_INVALID")
    if token.expires <= time.time():
        raise RpcError(400, "AUTH_TOKEN_EXPIRED")
    if not token.user_id:
        return types.auth.LoginToken(expires=render.ts(int(token.expires)), token=request.token)
    del _tokens(ctx)[request.token]
    return _success_or_migrate(ctx, token)


def accept(dc: SandboxDC, user_id: int, value: bytes) -> LoginToken:
    """A logged-in device of `user_id` scans the token: the exporting key is told (updateLoginToken)."""
    token = dc.login_tokens.get(value)
    if token is None or token.migrated:
        raise RpcError(400, "AUTH_TOKEN_INVALID")
    if token.expires <= time.time():
        raise RpcError(400, "AUTH_TOKEN_EXPIRED")
    if token.user_id:
        raise RpcError(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
    token.user_id = user_id
    update = types.UpdateShort(update=types.UpdateLoginToken(), date=render.ts(int(time.time())))
    for conn in dc.connections_of_key(token.key_id):
        conn.push(update)
    return token


@rpc(functions.auth.AcceptLoginTokenRequest)
async def accept_login_token(ctx: RpcContext, request: functions.auth.AcceptLoginTokenRequest) -> types.Authorization:
    accept(ctx.dc, ctx.user.id, request.token)
    now = render.ts(int(time.time()))
    return types.Authorization(
        hash=random_long(),
        device_model="QR login",
        platform="sandbox",
        system_version="1",
        api_id=0,
        app_name="sandbox",
        app_version="1",
        date_created=now,
        date_active=now,
        ip="127.0.0.1",
        country="XX",
        region="XX",
    )
