"""One device identity per profile: chosen (or given) at bind and import, stored, and presented to Telegram in every
initConnection, on every reconnect and from every worker (what the sandbox saw is the proof)."""

from __future__ import annotations

import uuid

import pytest

from app.domain.profiles.source import DatabaseProfileSource
from app.lib.devices import DEFAULT_DEVICE_IDENTITIES
from app.telegram.runtime import ProfileRuntime
from app.telegram.service import build_connector
from tests.conftest import bearer, register_and_login, sandbox_code, sandbox_phone
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio

PHONE_DEVICE = {
    "device_model": "Nokia X30 5G",
    "system_version": "SDK 33",
    "app_version": "11.2.0 (5100)",
    "lang_code": "fi",
}


def seen(sandbox, phone: str) -> list[tuple[str, str, str, str, str]]:
    inits = sandbox.control.client_inits(phone)
    return [(i.device_model, i.system_version, i.app_version, i.lang_code, i.system_lang_code) for i in inits]


def more_than(sandbox, phone: str, count: int):
    async def probe() -> bool:
        return len(seen(sandbox, phone)) > count

    return probe


def expected(device: dict[str, str]) -> tuple[str, str, str, str, str]:
    lang = device["lang_code"]
    return (device["device_model"], device["system_version"], device["app_version"], lang, lang)


async def listed(client, headers, phone: str) -> dict:
    profiles = (await client.get("/profiles", headers=headers)).json()
    return next(p for p in profiles if p["phone"] == phone)


async def test_one_identity_on_login_every_reconnect_and_after_a_worker_restart(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    profile_id, phone = uuid.UUID(profile["id"]), profile["phone"]
    device = profile["device"]
    assert (device["device_model"], device["system_version"], device["app_version"], device["lang_code"]) in {
        (d.device_model, d.system_version, d.app_version, d.lang_code) for d in DEFAULT_DEVICE_IDENTITIES
    }
    assert (await listed(client, headers, phone))["device"] == device
    runtime = app.state.ctx.telegram.runtime
    assert await runtime.wait_connected(profile_id, 10)
    before = len(seen(sandbox, phone))
    assert before >= 2  # the login's own connections, then the runtime's

    # A reconnect by the runtime (a new client): off and on again.
    for active in (False, True):
        answer = await client.patch(f"/profiles/{phone}", json={"is_active": active}, headers=headers)
        assert answer.status_code == 200, answer.text
    await eventually(more_than(sandbox, phone, before), what="a reconnect")
    assert await runtime.wait_connected(profile_id, 10)

    ctx = app.state.ctx
    await runtime.stop()  # a worker restart: a new process builds its connector and reads the profile again
    reconnects = len(seen(sandbox, phone))
    worker = ProfileRuntime(
        connector=build_connector(ctx.settings),
        source=DatabaseProfileSource(ctx.sessionmaker, ctx.secret_box, ctx.settings.device_identities),
        leases=ctx.telegram.leases,
    )
    try:
        await worker.start()
        assert await worker.wait_connected(profile_id, 15)
        await eventually(more_than(sandbox, phone, reconnects), what="the new worker's connection")
    finally:
        await worker.stop()
    assert set(seen(sandbox, phone)) == {expected(device)}
    authorization = sandbox.control.authorizations(phone)[0]
    assert (authorization.device_model, authorization.app_version) == (device["device_model"], device["app_version"])


async def test_a_device_given_at_bind_is_the_one_telegram_sees(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    started = await client.post("/profiles/start", json={"phone": phone, "device": PHONE_DEVICE}, headers=headers)
    assert started.status_code == 200, started.text
    bound = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert bound.status_code == 201, bound.text
    assert bound.json()["profile"]["device"] == PHONE_DEVICE
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(bound.json()["profile"]["id"]), 10)
    assert set(seen(sandbox, phone)) == {expected(PHONE_DEVICE)}


@pytest.mark.parametrize(
    "device",
    [
        {**PHONE_DEVICE, "lang_code": "EN!"},
        {**PHONE_DEVICE, "device_model": ""},
        {**PHONE_DEVICE, "device_model": "   "},
        {**PHONE_DEVICE, "app_version": "1.0\n(evil)"},
        {**PHONE_DEVICE, "system_version": "x" * 65},
        {**PHONE_DEVICE, "platform": "android"},
        {"device_model": "Pixel"},
        "Pixel 8",
    ],
)
async def test_a_bad_device_is_a_422_before_any_code_is_sent(client, sandbox, device):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    refused = await client.post("/profiles/start", json={"phone": phone, "device": device}, headers=headers)
    assert refused.status_code in (400, 422), refused.text
    assert refused.json()["error"]["code"] in ("validation_error", "invalid_device"), refused.text
    assert sandbox.control.last_code(phone) is None


async def test_an_imported_session_presents_the_given_device(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    user = sandbox.control.create_user(phone=sandbox_phone(4).lstrip("+"), first_name="Imp")
    session = sandbox.control.login_session(user)
    refused = await client.post(
        "/profiles/import",
        json={"session_string": session, "device": {**PHONE_DEVICE, "lang_code": "??"}},
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    imported = await client.post(
        "/profiles/import", json={"session_string": session, "device": PHONE_DEVICE}, headers=headers
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["device"] == PHONE_DEVICE
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(imported.json()["id"]), 10)
    assert set(seen(sandbox, user.id)) == {expected(PHONE_DEVICE)}


@pytest.mark.parametrize(
    "settings_overrides", [{"DEVICE_IDENTITIES": "Fairphone FP5|SDK 34|11.5.0 (5400)|nl"}], indirect=True
)
async def test_the_configured_list_is_chosen_from(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    assert profile["device"] == {
        "device_model": "Fairphone FP5",
        "system_version": "SDK 34",
        "app_version": "11.5.0 (5400)",
        "lang_code": "nl",
    }
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 10)
    assert set(seen(sandbox, profile["phone"])) == {("Fairphone FP5", "SDK 34", "11.5.0 (5400)", "nl", "nl")}


async def test_a_profile_bound_before_identities_gets_one_at_its_next_connection_and_keeps_it(client, app, sandbox):
    from sqlalchemy import update

    from app.db.models import TelegramProfile

    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    profile_id, phone = uuid.UUID(profile["id"]), profile["phone"]
    runtime = app.state.ctx.telegram.runtime
    assert await runtime.wait_connected(profile_id, 10)
    await runtime.deactivate(profile_id)
    async with app.state.ctx.sessionmaker.begin() as session:  # as the migration leaves older rows
        await session.execute(
            update(TelegramProfile)
            .where(TelegramProfile.id == profile_id)
            .values(device_model=None, system_version=None, app_version=None, lang_code=None)
        )
    assert (await listed(client, headers, phone))["device"] is None
    before = len(seen(sandbox, phone))
    runtime.activate(profile_id)
    assert await runtime.wait_connected(profile_id, 10)
    device = (await listed(client, headers, phone))["device"]
    assert device is not None
    assert seen(sandbox, phone)[before:] == [expected(device)]
