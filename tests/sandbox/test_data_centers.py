"""Two data-centers sharing one world, as Telegram runs five: home DCs, PHONE_MIGRATE / USER_MIGRATE, per-DC auth
keys, help.getConfig's DC list and auth.exportAuthorization / importAuthorization, through the real Telethon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telethon import TelegramClient, errors, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

from app.sandbox import SandboxDC

from .conftest import API_HASH, API_ID


class Migrated(Exception):
    def __init__(self, new_dc: int) -> None:
        super().__init__(f"told to use DC {new_dc}")
        self.new_dc = new_dc


class WatchedClient(TelegramClient):
    """Telethon's client, remembering every DC it was told to move to (and following only when `follow`)."""

    _config = None  # Telethon caches help.getConfig per class: this class's cache is this module's sandboxes'
    follow = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.moves: list[int] = []

    async def _switch_dc(self, new_dc: int) -> Any:
        self.moves.append(new_dc)
        if not self.follow:
            raise Migrated(new_dc)
        return await super()._switch_dc(new_dc)


@pytest.fixture
async def dcs() -> AsyncIterator[SandboxDC]:
    sandbox = SandboxDC(dc_ids=(1, 2))
    await sandbox.start()
    rsa.add_key(sandbox.public_key_pem, old=False)
    WatchedClient._config = None
    clients.clear()
    try:
        yield sandbox
    finally:
        for client in clients:
            await client.disconnect()
        await sandbox.stop()


clients: list[TelegramClient] = []


def client_at(sandbox: SandboxDC, dc_id: int, session: str | None = None) -> WatchedClient:
    client = WatchedClient(StringSession(session), API_ID, API_HASH, receive_updates=False)
    host, port = sandbox.address(dc_id)
    client.session.set_dc(dc_id, host, port)
    clients.append(client)
    return client


async def test_help_get_config_lists_every_listener(dcs: SandboxDC) -> None:
    assert set(dcs.listeners) == {1, 2}
    assert dcs.listeners[1] != dcs.listeners[2]
    for dc_id in (1, 2):
        client = client_at(dcs, dc_id)
        await client.connect()
        config = await client(functions.help.GetConfigRequest())
        assert config.this_dc == dc_id
        assert {(o.id, o.ip_address, o.port) for o in config.dc_options} == {
            (1, *dcs.listeners[1]),
            (2, *dcs.listeners[2]),
        }


async def test_a_login_on_the_wrong_dc_is_sent_home_and_the_key_stays_there(dcs: SandboxDC) -> None:
    phone = "+9996621234"  # Telegram's test numbers: 99966XYYYY lives on DC X
    client = client_at(dcs, 1)
    await client.connect()
    client.follow = False
    with pytest.raises(Migrated):
        await client.send_code_request(phone)
    assert client.moves == [2]  # PHONE_MIGRATE_2, and no code was sent from DC 1
    assert dcs.control.last_code(phone) is None

    client.follow = True
    sent = await client.send_code_request(phone)  # Telethon follows PHONE_MIGRATE_2 (help.getConfig's address)
    assert client.session.dc_id == 2
    assert (client.session.server_address, client.session.port) == dcs.listeners[2]
    assert isinstance(sent.type, types.auth.SentCodeTypeSms)  # no other session of this (new) account
    me = await client.sign_in(phone, dcs.control.last_code(phone), phone_code_hash=sent.phone_code_hash)
    assert dcs.state.user_by_phone(phone).dc_id == 2
    assert me.phone == phone.lstrip("+")
    saved = StringSession.save(client.session)
    await client.disconnect()

    again = client_at(dcs, 2, saved)
    await again.connect()
    assert (await again.get_me()).id == me.id
    await again.disconnect()
    elsewhere = WatchedClient(StringSession(saved), API_ID, API_HASH, receive_updates=False)
    elsewhere.session.set_dc(1, *dcs.listeners[1])  # the key was made on DC 2: DC 1 does not know it
    clients.append(elsewhere)
    with pytest.raises(errors.AuthKeyNotFound):
        await elsewhere.connect()


async def test_authorization_carried_to_another_dc_serves_files_and_config_only(dcs: SandboxDC) -> None:
    user = dcs.control.create_user("+15550101", "Dora", dc_id=2)
    home = client_at(dcs, 2, dcs.control.login_session(user))
    await home.connect()
    assert (await home.get_me()).id == user.id
    with pytest.raises(errors.DcIdInvalidError):
        await home(functions.auth.ExportAuthorizationRequest(dc_id=2))  # not to itself
    exported = await home(functions.auth.ExportAuthorizationRequest(dc_id=1))
    assert exported.id == user.id

    other = client_at(dcs, 1)
    await other.connect()
    with pytest.raises(errors.AuthBytesInvalidError):
        await other(functions.auth.ImportAuthorizationRequest(id=user.id, bytes=exported.bytes[:-1] + b"x"))
    imported = await other(functions.auth.ImportAuthorizationRequest(id=user.id, bytes=exported.bytes))
    assert imported.user.id == user.id
    with pytest.raises(errors.AuthBytesInvalidError):  # once only
        await other(functions.auth.ImportAuthorizationRequest(id=user.id, bytes=exported.bytes))
    config = await other(functions.help.GetConfigRequest())
    assert config.this_dc == 1
    other.follow = False
    with pytest.raises(Migrated):
        await other(functions.users.GetUsersRequest([types.InputUserSelf()]))
    assert other.moves == [2]  # USER_MIGRATE_2: this account lives on DC 2
    assert dcs.counters.requests["users.GetUsersRequest"] >= 1


async def test_one_dc_sandbox_keeps_every_number_on_it() -> None:
    sandbox = SandboxDC()
    assert sandbox.dc_ids == (2,)
    assert sandbox.dc_id == 2
    user = sandbox.control.create_user("+9996611234", "One")
    assert user.dc_id == 2  # DC 1 is not served: the number lives on the only DC
    with pytest.raises(ValueError, match="serves DCs"):
        sandbox.control.create_user("+15550102", "Two", dc_id=1)
    with pytest.raises(ValueError, match="distinct"):
        SandboxDC(dc_ids=(2, 2))
