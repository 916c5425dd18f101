"""auth.exportAuthorization / importAuthorization: carrying a login to another data-center (file DCs, migration)."""

from __future__ import annotations

from telethon.tl import functions, types

from .. import render
from ..rpc import RpcContext, RpcError, rpc
from ..state import Authorization, random_long


@rpc(functions.auth.ExportAuthorizationRequest)
async def export_authorization(
    ctx: RpcContext, request: functions.auth.ExportAuthorizationRequest
) -> types.auth.ExportedAuthorization:
    if request.dc_id not in ctx.dc.dc_ids or request.dc_id == ctx.conn.dc_id:
        raise RpcError(400, "DC_ID_INVALID")
    token = ctx.dc.transfers.export(ctx.user.id, request.dc_id)
    return types.auth.ExportedAuthorization(id=ctx.user.id, bytes=token)


@rpc(functions.auth.ImportAuthorizationRequest, auth=False)
async def import_authorization(
    ctx: RpcContext, request: functions.auth.ImportAuthorizationRequest
) -> types.auth.Authorization:
    user = ctx.dc.state.users.get(request.id)
    if user is None or not ctx.dc.transfers.take(request.id, request.bytes, ctx.conn.dc_id):
        raise RpcError(400, "AUTH_BYTES_INVALID")
    if user.deleted or user.banned:
        raise RpcError(401, "USER_DEACTIVATED")
    ctx.auth_key.authorization = Authorization(id=random_long(), user_id=user.id, api_id=ctx.conn.api_id)
    if ctx.conn.init is not None:
        ctx.auth_key.authorization.describe(ctx.conn.init)
    ctx.dc.mark_dirty()
    return types.auth.Authorization(user=render.user(user, user.id))
