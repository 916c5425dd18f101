"""How a login code reaches its owner, as Telegram decides it (core.telegram.org/api/auth).

An account logged in elsewhere gets the code in its Telegram app (`auth.sentCodeTypeApp`), anyone else by SMS;
the control API can make a number get it by email (`sentCodeTypeEmailCode`, signed in with
`email_verification`), require a login email first (`sentCodeTypeSetUpEmailRequired`), or make the number pay for
its code (`auth.sentCodePaymentRequired`, no code is sent).
"""

from __future__ import annotations

import secrets

from telethon.tl import TLObject, types

from .rpc import RpcContext
from .state import LoginCode, now

# The ways `Control.set_code_delivery` may pick; None: Telegram's own choice (app when logged in elsewhere, else SMS).
DELIVERIES = ("app", "sms", "email", "setup_email", "payment")
EMAIL_CODE_LENGTH = 6


def email_pattern(phone: str) -> str:
    """The masked address Telegram shows (`sentCodeTypeEmailCode.email_pattern`)."""
    return f"s*****{phone[-2:]}@sandbox.invalid"


def delivery_of(ctx: RpcContext, phone: str) -> str:
    chosen = ctx.dc.control.code_deliveries.get(phone)
    if chosen is not None:
        return chosen
    user = ctx.dc.state.user_by_phone(phone)
    if user is not None and ctx.dc.state.authorizations_of(user.id):
        return "app"
    return "sms"


def new_code(ctx: RpcContext, phone: str, delivery: str, sandbox_code: str | None) -> LoginCode:
    """The number's pending code, or a new one when there is none or it expired."""
    login = ctx.dc.state.login_codes.get(phone)
    if login is None or login.expires < now() or login.delivery != delivery:
        length = EMAIL_CODE_LENGTH if delivery == "email" else 5
        code = sandbox_code if sandbox_code and length == 5 else f"{secrets.randbelow(10**length):0{length}d}"
        if sandbox_code and delivery == "email":
            code = sandbox_code[0] * EMAIL_CODE_LENGTH
        login = ctx.dc.state.new_login_code(phone, code, delivery=delivery)
        ctx.dc.mark_dirty()
    return login


def sent_code(ctx: RpcContext, phone: str, sandbox_code: str | None) -> TLObject:
    delivery = delivery_of(ctx, phone)
    if delivery == "payment":
        # Telegram's 2025 rule for some numbers: the code is sent only after a Premium purchase in the app store.
        return types.auth.SentCodePaymentRequired(
            store_product="org.telegram.telegramPremium.1month.code",
            phone_code_hash=secrets.token_hex(9),
            support_email_address="sms@telegram.org",
            support_email_subject=f"Login code for +{phone}",
            premium_days=30,
            currency="USD",
            amount=499,
        )
    login = new_code(ctx, phone, delivery, sandbox_code)
    if delivery != "setup_email":  # nothing is sent until the account has a login email
        ctx.dc.control.record_code(phone, login.code)
    code_type: TLObject
    if delivery == "email":
        code_type = types.auth.SentCodeTypeEmailCode(email_pattern=email_pattern(phone), length=len(login.code))
    elif delivery == "setup_email":
        code_type = types.auth.SentCodeTypeSetUpEmailRequired()
    elif delivery == "sms":
        code_type = types.auth.SentCodeTypeSms(length=len(login.code))
    else:
        code_type = types.auth.SentCodeTypeApp(length=len(login.code))
    return types.auth.SentCode(type=code_type, phone_code_hash=login.phone_code_hash, timeout=60)
