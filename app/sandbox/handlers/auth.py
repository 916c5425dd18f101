"""auth.* : login with a code (by app, SMS or email), 2FA (SRP), logout."""

from __future__ import annotations

import re

from telethon.tl import TLObject, functions, types

from .. import login_codes, render, srp
from ..dcs import phone_home_dc, require_phone_home
from ..rpc import RpcContext, RpcError, rpc
from ..state import Authorization, User, normalize_phone, now, random_long

# Telegram's test-DC convention: 99966XYYYY registers on first use and its code is X repeated five times.
SANDBOX_PHONE = re.compile(r"^99966([1-3])\d{4}$")
MAX_CODE_ATTEMPTS = 5


def sandbox_code(phone: str) -> str | None:
    match = SANDBOX_PHONE.match(phone)
    return match.group(1) * 5 if match else None


def _valid_phone(phone: str) -> str:
    digits = normalize_phone(phone)
    if not 5 <= len(digits) <= 15:
        raise RpcError(400, "PHONE_NUMBER_INVALID")
    return digits


@rpc(functions.auth.SendCodeRequest, auth=False)
async def send_code(ctx: RpcContext, request: functions.auth.SendCodeRequest) -> TLObject:
    phone = _valid_phone(request.phone_number)
    require_phone_home(ctx, phone)
    user = ctx.dc.state.user_by_phone(phone)
    if user is not None and user.banned:
        raise RpcError(400, "PHONE_NUMBER_BANNED")
    return login_codes.sent_code(ctx, phone, sandbox_code(phone))


@rpc(functions.auth.ResendCodeRequest, auth=False)
async def resend_code(ctx: RpcContext, request: functions.auth.ResendCodeRequest) -> TLObject:
    phone = _valid_phone(request.phone_number)
    require_phone_home(ctx, phone)
    login = ctx.dc.state.login_codes.get(phone)
    if login is None or login.phone_code_hash != request.phone_code_hash:
        raise RpcError(400, "PHONE_CODE_EXPIRED")
    return login_codes.sent_code(ctx, phone, sandbox_code(phone))


@rpc(functions.auth.SignInRequest, auth=False)
async def sign_in(ctx: RpcContext, request: functions.auth.SignInRequest) -> TLObject:
    state = ctx.dc.state
    phone = _valid_phone(request.phone_number)
    require_phone_home(ctx, phone)
    if not request.phone_code_hash:
        raise RpcError(400, "PHONE_CODE_HASH_EMPTY")
    login = state.login_codes.get(phone)
    if login is None or login.phone_code_hash != request.phone_code_hash or login.expires < now():
        state.login_codes.pop(phone, None)
        raise RpcError(400, "PHONE_CODE_EXPIRED")
    given = _given_code(request, login.delivery)
    if given != login.code:
        ctx.dc.control.code_attempts[phone] = ctx.dc.control.code_attempts.get(phone, 0) + 1
        if ctx.dc.control.code_attempts[phone] >= MAX_CODE_ATTEMPTS:
            state.login_codes.pop(phone, None)
        raise RpcError(400, "PHONE_CODE_INVALID")
    user = state.user_by_phone(phone)
    if user is None:
        if sandbox_code(phone) is None:
            return types.auth.AuthorizationSignUpRequired()
        home = phone_home_dc(ctx.dc, phone)
        user = state.add_user(phone, first_name="Test", last_name=phone[-4:])
        user.dc_id = home
        ctx.dc.control.notify_registered(user)
    if user.banned:
        raise RpcError(400, "PHONE_NUMBER_BANNED")
    state.login_codes.pop(phone, None)
    ctx.dc.control.code_attempts.pop(phone, None)
    return log_in(ctx, user)


def log_in(ctx: RpcContext, user: User) -> types.auth.Authorization:
    """Authorize this connection's key as `user` (a code or a scanned QR token was right): the password step
    next when the account has 2FA (`SESSION_PASSWORD_NEEDED`)."""
    ctx.auth_key.authorization = Authorization(
        id=random_long(),
        user_id=user.id,
        password_pending=user.password is not None,
        api_id=getattr(ctx.conn, "api_id", 0),
        device_model=ctx.conn.client_info,
    )
    if ctx.conn.init is not None:
        ctx.auth_key.authorization.describe(ctx.conn.init)
    ctx.dc.mark_dirty()
    if user.password is not None:
        raise RpcError(401, "SESSION_PASSWORD_NEEDED")
    ctx.dc.attach_user(ctx.conn, user.id)
    return types.auth.Authorization(user=render.user(user, user.id))


def _given_code(request: functions.auth.SignInRequest, delivery: str) -> str:
    """The code the client typed: an emailed one comes as `email_verification`, any other as `phone_code`."""
    if delivery == "email":
        verification = request.email_verification
        if isinstance(verification, types.EmailVerificationCode) and verification.code:
            return str(verification.code)
        if verification is None and not request.phone_code:
            raise RpcError(400, "PHONE_CODE_EMPTY")
        raise RpcError(400, "PHONE_CODE_INVALID")
    if not request.phone_code:
        raise RpcError(400, "PHONE_CODE_EMPTY")
    return str(request.phone_code)


@rpc(functions.auth.CheckPasswordRequest, auth=False)
async def check_password(ctx: RpcContext, request: functions.auth.CheckPasswordRequest) -> TLObject:
    auth = ctx.auth_key.authorization
    if auth is None:
        raise RpcError(401, "AUTH_KEY_UNREGISTERED")
    user = ctx.dc.state.users[auth.user_id]
    challenge = ctx.dc.srp_challenges.pop(ctx.auth_key.key_id, None)
    check = request.password
    if user.password is None or not isinstance(check, types.InputCheckPasswordSRP):
        raise RpcError(400, "PASSWORD_HASH_INVALID")
    if challenge is None or challenge.srp_id != check.srp_id:
        raise RpcError(400, "SRP_ID_INVALID")
    if not srp.verify(user.password, challenge, check.A, check.M1):
        raise RpcError(400, "PASSWORD_HASH_INVALID")
    if user.banned:
        raise RpcError(401, "USER_DEACTIVATED_BAN")
    auth.password_pending = False
    ctx.dc.mark_dirty()
    ctx.dc.attach_user(ctx.conn, user.id)
    return types.auth.Authorization(user=render.user(user, user.id))


@rpc(functions.auth.LogOutRequest, auth=False)
async def log_out(ctx: RpcContext, request: functions.auth.LogOutRequest) -> types.auth.LoggedOut:
    if ctx.auth_key.authorization is None:
        raise RpcError(401, "AUTH_KEY_UNREGISTERED")
    ctx.auth_key.authorization = None
    ctx.dc.detach_user(ctx.conn)
    ctx.dc.mark_dirty()
    return types.auth.LoggedOut()
