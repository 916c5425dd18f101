"""Profiles on another data-center than the one logins start on: the product follows PHONE_MIGRATE, stores the
session with its DC and reconnects there; an imported session of a DC-2 account connects to DC 2. Against a
two-DC sandbox (DC 1 first, numbers +999662YYYY live on DC 2), the real Telethon client, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from app.sandbox import SandboxDC
from tests.conftest import bearer, register_and_login, sandbox_phone
from tests.live import eventually

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def two_dcs() -> AsyncIterator[SandboxDC]:
    dc = SandboxDC(dc_ids=(1, 2))
    await dc.start()
    try:
        yield dc
    finally:
        await dc.stop()


@pytest.fixture
def settings_overrides(two_dcs: SandboxDC) -> dict[str, str]:
    listed = ",".join(f"{host}:{port}:{dc_id}" for dc_id, (host, port) in two_dcs.listeners.items())
    return {"TELEGRAM_DC": listed}


def home_connections(dc: SandboxDC, user_id: int) -> list[int]:
    """The DC of every open connection of the account's service client."""
    return [conn.dc_id for conn in dc.connections(user_id) if not conn.closed.is_set()]


async def test_a_profile_whose_home_is_dc_2_binds_reconnects_and_keeps_its_dc(client, app, two_dcs) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone(2)
    started = await client.post("/profiles/start", json={"phone": phone}, headers=headers)
    assert started.status_code == 200, started.text
    assert two_dcs.counters.requests["auth.SendCodeRequest"] >= 2  # DC 1 answered PHONE_MIGRATE_2, DC 2 sent it
    code = two_dcs.control.last_code(phone)
    bound = await client.post("/profiles/code", json={"phone": phone, "code": code}, headers=headers)
    assert bound.status_code == 201, bound.text
    profile = bound.json()["profile"]
    user = two_dcs.state.user_by_phone(phone)
    assert user is not None
    assert user.dc_id == 2
    assert profile["telegram"]["id"] == user.id
    assert {record.dc_id for record, _auth in two_dcs.state.authorizations_of(user.id)} == {2}

    runtime = app.state.ctx.telegram.runtime
    assert await runtime.wait_connected(UUID(profile["id"]), timeout=20) is not None
    await eventually(lambda: home_connections(two_dcs, user.id) == [2])

    assert two_dcs.control.drop_connections(user) >= 1  # the DC goes away under the client: it comes back home
    await eventually(lambda: home_connections(two_dcs, user.id) == [2])
    friend = two_dcs.control.create_user(sandbox_phone(1), "Friend", username=f"friend_{user.id}")  # on DC 1
    body = {"phone": phone, "text": "from DC 2", "tg_receiver": f"@{friend.username}"}
    sent = await client.post("/messages/send", json=body, headers=headers)
    assert sent.status_code == 200, sent.text
    assert [m.text for m in friend.messages.values()] == ["from DC 2"]  # one world behind both DCs


async def test_an_imported_session_of_a_dc_2_account_connects_there(client, app, two_dcs) -> None:
    headers = bearer(await register_and_login(client, "bea@example.com"))
    user = two_dcs.control.create_user(sandbox_phone(1), "Bea", dc_id=2)
    session = two_dcs.control.login_session(user)
    imported = await client.post("/profiles/import", json={"session_string": session}, headers=headers)
    assert imported.status_code == 201, imported.text
    profile = imported.json()
    assert profile["telegram"]["id"] == user.id
    assert await app.state.ctx.telegram.runtime.wait_connected(UUID(profile["id"]), timeout=20) is not None
    await eventually(lambda: home_connections(two_dcs, user.id) == [2])
