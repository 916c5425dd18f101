"""account.* : 2FA (getPassword, updatePasswordSettings with SRP) and a few harmless no-ops clients call."""

from __future__ import annotations

import secrets

from telethon.tl import functions, types

from .. import render, srp
from ..handshake import DH_G, DH_PRIME, DH_PRIME_BYTES
from ..rpc import RpcContext, RpcError, boolean, rpc
from ..state import PasswordRecord


@rpc(functions.account.GetPasswordRequest, auth=False)
async def get_password(ctx: RpcContext, request: functions.account.GetPasswordRequest) -> types.account.Password:
    auth = ctx.auth_key.authorization
    record = ctx.dc.state.users[auth.user_id].password if auth is not None else None
    challenge = None
    if record is not None:
        challenge = srp.new_challenge(record)
        ctx.dc.srp_challenges[ctx.auth_key.key_id] = challenge
    info = srp.password_info(record, challenge)
    # A new password extends this salt1 with 32 random bytes of the client (core.telegram.org/api/srp).
    ctx.dc.new_password_salts[ctx.auth_key.key_id] = info.new_algo.salt1
    return info


def _check_current(ctx: RpcContext, check: object) -> None:
    """The current password's SRP proof (InputCheckPasswordEmpty when the account has none)."""
    record = ctx.user.password
    if record is None:
        if not isinstance(check, types.InputCheckPasswordEmpty):
            raise RpcError(400, "PASSWORD_HASH_INVALID")
        return
    challenge = ctx.dc.srp_challenges.pop(ctx.auth_key.key_id, None)
    if not isinstance(check, types.InputCheckPasswordSRP):
        raise RpcError(400, "PASSWORD_HASH_INVALID")
    if challenge is None or challenge.srp_id != check.srp_id:
        raise RpcError(400, "SRP_ID_INVALID")
    if not srp.verify(record, challenge, check.A, check.M1):
        raise RpcError(400, "PASSWORD_HASH_INVALID")


def _new_record(ctx: RpcContext, settings: types.account.PasswordInputSettings) -> PasswordRecord | None:
    """The new verifier v = g^x mod p the client computed (an empty hash removes the password)."""
    if not settings.new_password_hash:
        return None
    algo = settings.new_algo
    if not isinstance(algo, types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow):
        raise RpcError(400, "NEW_SETTINGS_INVALID")
    offered = ctx.dc.new_password_salts.get(ctx.auth_key.key_id)
    if offered is None or len(algo.salt1) != len(offered) + 32 or not algo.salt1.startswith(offered):
        raise RpcError(400, "NEW_SALT_INVALID")
    verifier = int.from_bytes(settings.new_password_hash, "big")
    if algo.g != DH_G or algo.p != DH_PRIME_BYTES or len(settings.new_password_hash) != 256:
        raise RpcError(400, "NEW_SETTINGS_INVALID")
    if not 1 < verifier < DH_PRIME - 1:
        raise RpcError(400, "NEW_SETTINGS_INVALID")
    return PasswordRecord(
        salt1=algo.salt1, salt2=algo.salt2, verifier=settings.new_password_hash, hint=settings.hint or ""
    )


@rpc(functions.account.UpdatePasswordSettingsRequest)
async def update_password_settings(ctx: RpcContext, request: functions.account.UpdatePasswordSettingsRequest) -> bool:
    """Set, change or remove the 2FA password; with a recovery email it waits for that email's code."""
    _check_current(ctx, request.password)
    settings = request.new_settings
    record = _new_record(ctx, settings)
    ctx.dc.new_password_salts.pop(ctx.auth_key.key_id, None)
    ctx.user.password = record
    ctx.dc.mark_dirty()
    if record is not None and settings.email:
        code = f"{secrets.randbelow(10**6):06d}"
        ctx.dc.control.pending_emails[ctx.user.id] = (settings.email, code)
        raise RpcError(400, f"EMAIL_UNCONFIRMED_{len(code)}")
    return True


@rpc(functions.account.ConfirmPasswordEmailRequest)
async def confirm_password_email(ctx: RpcContext, request: functions.account.ConfirmPasswordEmailRequest) -> object:
    pending = ctx.dc.control.pending_emails.get(ctx.user.id)
    if pending is None:
        raise RpcError(400, "EMAIL_HASH_EXPIRED")
    if request.code != pending[1]:
        raise RpcError(400, "CODE_INVALID")
    del ctx.dc.control.pending_emails[ctx.user.id]
    return boolean(True)


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
