"""Login rows of design §4/§5: code, wrong code, 2FA wrong then right, sandbox phones, sign-up, logout."""

from __future__ import annotations

import pytest
from telethon import errors

from app.sandbox import SandboxDC

from .conftest import ClientFactory


async def test_login_with_code_and_2fa(dc: SandboxDC, make_client: ClientFactory, alice) -> None:
    client = make_client()
    await client.connect()
    assert not await client.is_user_authorized()
    await client.send_code_request("+15550001")
    code = dc.control.last_code("+15550001")
    assert code is not None
    assert len(code) == 5
    with pytest.raises(errors.PhoneCodeInvalidError):
        await client.sign_in("+15550001", "00000" if code != "00000" else "11111")
    with pytest.raises(errors.SessionPasswordNeededError):
        await client.sign_in("+15550001", code)
    with pytest.raises(errors.PasswordHashInvalidError):
        await client.sign_in(password="wrong")
    me = await client.sign_in(password="hunter2")
    assert me.id == alice.id
    assert me.first_name == "Alice"
    got = await client.get_me()
    assert got.is_self
    assert got.username == "alice"
    assert got.phone == "15550001"
    assert len(dc.control.authorizations(alice)) == 1


async def test_login_without_2fa(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    client = make_client()
    await client.connect()
    await client.send_code_request("15550002")
    me = await client.sign_in("15550002", dc.control.last_code("15550002"))
    assert me.id == bob.id
    assert await client.is_user_authorized()


async def test_sandbox_phone_registers_on_first_use(dc: SandboxDC, make_client: ClientFactory) -> None:
    client = make_client()
    await client.connect()
    await client.send_code_request("+9996621234")
    assert dc.control.last_code("9996621234") == "22222"
    me = await client.sign_in("+9996621234", "22222")
    assert me.phone == "9996621234"
    assert dc.control.user("+9996621234").id == me.id


async def test_unknown_phone_needs_sign_up(dc: SandboxDC, make_client: ClientFactory) -> None:
    client = make_client()
    await client.connect()
    await client.send_code_request("+15559999")
    with pytest.raises(errors.PhoneNumberUnoccupiedError):
        await client.sign_in("+15559999", dc.control.last_code("15559999"))


async def test_expired_code(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    client = make_client()
    await client.connect()
    await client.send_code_request("15550002")
    dc.state.login_codes["15550002"].expires = 0
    with pytest.raises(errors.PhoneCodeExpiredError):
        await client.sign_in("15550002", dc.control.last_code("15550002"))


async def test_log_out_drops_the_authorization(dc: SandboxDC, login_as, bob) -> None:
    client = await login_as(bob)
    assert len(dc.control.authorizations(bob)) == 1
    assert await client.log_out()
    assert dc.control.authorizations(bob) == []


async def test_banned_phone_cannot_request_a_code(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    dc.control.ban(bob)
    client = make_client()
    await client.connect()
    with pytest.raises(errors.PhoneNumberBannedError):
        await client.send_code_request("+15550002")


async def test_client_start_with_a_sandbox_phone(make_client) -> None:
    client = make_client()
    await client.start(phone="+9996631234", code_callback=lambda: "33333")
    assert (await client.get_me()).phone == "9996631234"
