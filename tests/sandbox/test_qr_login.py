"""QR login (core.telegram.org/api/qr-login) through Telethon's own `qr_login()`: export a token, a logged-in
device accepts it, updateLoginToken, then the login, on the same DC or through loginTokenMigrateTo."""

from __future__ import annotations

import asyncio
import base64

import pytest
from telethon import errors, functions

from app.sandbox import SandboxDC
from app.sandbox.rpc import RpcError

from .conftest import ClientFactory
from .test_data_centers import client_at, dcs  # noqa: F401  (the two-DC fixture)


def token_of(url: str) -> bytes:
    assert url.startswith("tg://login?token=")
    value = url.removeprefix("tg://login?token=")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def test_a_scanned_token_logs_the_new_client_in(dc: SandboxDC, make_client: ClientFactory, bob) -> None:
    client = make_client()
    await client.connect()
    qr = await client.qr_login()
    waiting = asyncio.create_task(qr.wait(timeout=10))
    await asyncio.sleep(0)  # (qr.wait must be listening before the scan; the update it waits for is pushed)
    phone = make_client(dc.control.login_session(bob))
    await phone.connect()
    accepted = await phone(functions.auth.AcceptLoginTokenRequest(token_of(qr.url)))
    assert accepted.device_model
    me = await waiting
    assert me.id == bob.id
    assert (await client.get_me()).id == bob.id
    with pytest.raises(errors.AuthTokenInvalidError):  # used: gone
        await phone(functions.auth.AcceptLoginTokenRequest(token_of(qr.url)))
    with pytest.raises(errors.AuthTokenInvalidError):
        await phone(functions.auth.AcceptLoginTokenRequest(b"never exported"))


async def test_the_control_api_scans_and_2fa_follows(dc: SandboxDC, make_client: ClientFactory, alice) -> None:
    client = make_client()
    await client.connect()
    qr = await client.qr_login()
    waiting = asyncio.create_task(qr.wait(timeout=10))
    await asyncio.sleep(0)
    dc.control.scan_login_token(alice, token_of(qr.url))
    with pytest.raises(RpcError, match="AUTH_TOKEN_ALREADY_ACCEPTED"):  # scanned once
        dc.control.scan_login_token(alice, token_of(qr.url))
    with pytest.raises(errors.SessionPasswordNeededError):  # alice has a 2FA password
        await waiting
    me = await client.sign_in(password="hunter2")
    assert me.id == alice.id


async def test_a_token_accepted_for_an_account_on_another_dc_migrates(dcs: SandboxDC) -> None:  # noqa: F811
    user = dcs.control.create_user("+15550103", "Far", dc_id=2)
    client = client_at(dcs, 1)
    await client.connect()
    qr = await client.qr_login()
    waiting = asyncio.create_task(qr.wait(timeout=10))
    await asyncio.sleep(0)
    dcs.control.scan_login_token(user, token_of(qr.url))
    me = await waiting
    assert me.id == user.id
    assert client.moves == [2]  # auth.loginTokenMigrateTo(dc_id=2), then importLoginToken there
    assert client.session.dc_id == 2
    assert {record.dc_id for record, _auth in dcs.state.authorizations_of(user.id)} == {2}
