"""2FA as Telegram does it (core.telegram.org/api/srp), through Telethon's own `edit_2fa` and `sign_in`: set,
change and remove a password with account.updatePasswordSettings, the server holding only the SRP verifier."""

from __future__ import annotations

import os

import pytest
from telethon import errors, functions, types
from telethon import password as srp

from app.sandbox import SandboxDC

from .conftest import API_HASH, API_ID, ClientFactory


async def log_in(dc: SandboxDC, make_client: ClientFactory, phone: str, password: str | None) -> None:
    client = make_client()
    await client.connect()
    sent = await client(functions.auth.SendCodeRequest(phone, API_ID, API_HASH, types.CodeSettings()))
    code = dc.control.last_code(phone)
    if password is None:
        await client.sign_in(phone, code, phone_code_hash=sent.phone_code_hash)
    else:
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(phone, code, phone_code_hash=sent.phone_code_hash)
        with pytest.raises(errors.PasswordHashInvalidError):
            await client.sign_in(password=password + "?")
        await client.sign_in(password=password)
    assert (await client.get_me()).phone == phone
    await client.disconnect()


async def test_set_change_and_remove_a_password(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    client = make_client(dc.control.login_session(bob))
    await client.connect()
    assert not (await client(functions.account.GetPasswordRequest())).has_password

    assert await client.edit_2fa(new_password="first secret", hint="first")
    record = bob.password
    assert record is not None
    assert b"first secret" not in record.verifier + record.salt1 + record.salt2  # only the verifier is kept
    info = await client(functions.account.GetPasswordRequest())
    assert (info.has_password, info.hint) == (True, "first")
    await log_in(dc, make_client, bob.phone, "first secret")

    with pytest.raises(errors.PasswordHashInvalidError):
        await client.edit_2fa(current_password="wrong", new_password="second secret")
    assert await client.edit_2fa(current_password="first secret", new_password="second secret", hint="")
    await log_in(dc, make_client, bob.phone, "second secret")

    info = await client(functions.account.GetPasswordRequest())
    algo = info.new_algo
    algo.salt1 += os.urandom(32)
    replacement = types.account.PasswordInputSettings(algo, srp.compute_digest(algo, "takeover"), "t")
    with pytest.raises(errors.PasswordHashInvalidError):  # a password is set: an empty check is not enough
        await client(functions.account.UpdatePasswordSettingsRequest(types.InputCheckPasswordEmpty(), replacement))
    assert await client.edit_2fa(current_password="second secret", new_password=None)
    assert bob.password is None
    await log_in(dc, make_client, bob.phone, None)


async def test_a_new_password_must_extend_the_offered_salt(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    client = make_client(dc.control.login_session(bob))
    await client.connect()
    info = await client(functions.account.GetPasswordRequest())
    algo = info.new_algo  # not extended with the client's 32 random bytes
    with pytest.raises(errors.NewSaltInvalidError):
        await client(
            functions.account.UpdatePasswordSettingsRequest(
                types.InputCheckPasswordEmpty(),
                types.account.PasswordInputSettings(algo, srp.compute_digest(algo, "x"), "x"),
            )
        )
    assert bob.password is None


async def test_a_recovery_email_waits_for_its_code(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    client = make_client(dc.control.login_session(bob))
    await client.connect()
    asked: list[int] = []

    def email_code(length: int) -> str:
        asked.append(length)
        return dc.control.recovery_email_code(bob) or ""

    assert await client.edit_2fa(new_password="mail secret", email="bob@example.com", email_code_callback=email_code)
    assert asked == [6]
    assert dc.control.recovery_email_code(bob) is None  # confirmed
    await log_in(dc, make_client, bob.phone, "mail secret")
