"""account.* : 2FA parameters and a few harmless no-ops clients call."""

from __future__ import annotations

from telethon.tl import functions, types

from .. import render, srp
from ..rpc import RpcContext, rpc


@rpc(functions.account.GetPasswordRequest, auth=False)
async def get_password(ctx: RpcContext, request: functions.account.GetPasswordRequest) -> types.account.Password:
    auth = ctx.auth_key.authorization
    record = ctx.dc.state.users[auth.user_id].password if auth is not None else None
    challenge = None
    if record is not None:
        challenge = srp.new_challenge(record)
        ctx.dc.srp_challenges[ctx.auth_key.key_id] = challenge
    return srp.password_info(record, challenge)


@rpc(functions.account.UpdateStatusRequest, functions.account.RegisterDeviceRequest)
async def accept(ctx: RpcContext, request: object) -> bool:
    return True


@rpc(functions.account.GetAuthorizationsRequest)
async def get_authorizations(
    ctx: RpcContext, request: functions.account.GetAuthorizationsRequest
) -> types.account.Authorizations:
    items = []
    for record, auth in ctx.dc.state.authorizations_of(ctx.user.id):
        items.append(
            types.Authorization(
                hash=0 if record is ctx.auth_key else auth.id,
                device_model=auth.device_model or "sandbox",
                platform="sandbox",
                system_version=auth.system_version or "1",
                api_id=auth.api_id,
                app_name="sandbox",
                app_version=auth.app_version or "1",
                date_created=render.ts(auth.created),
                date_active=render.ts(auth.created),
                ip="127.0.0.1",
                country="XX",
                region="XX",
                current=record is ctx.auth_key,
            )
        )
    return types.account.Authorizations(authorization_ttl_days=180, authorizations=items)
