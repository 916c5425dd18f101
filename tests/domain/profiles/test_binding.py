"""Binding profiles end to end against the sandbox with the real Telethon client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from app.db.models import LoginFlow
from tests.conftest import bearer, register_and_login, sandbox_code, sandbox_phone

pytestmark = pytest.mark.asyncio


async def wait_for_status(client, headers, phone, status, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        profiles = (await client.get("/profiles", headers=headers)).json()
        match = [p for p in profiles if p["phone"] == phone]
        if match and match[0]["status"] == status:
            return match[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"profile {phone} never became {status}: {match}")
        await asyncio.sleep(0.05)


async def bind(client, headers, phone=None):
    phone = phone or sandbox_phone()
    started = await client.post("/profiles/start", json={"phone": phone, "label": "main"}, headers=headers)
    assert started.status_code == 200, started.text
    bound = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert bound.status_code == 201, bound.text
    return bound.json()["profile"]


async def test_bind_with_code_connects_the_profile(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    started = await client.post("/profiles/start", json={"phone": phone, "label": "sales"}, headers=headers)
    assert started.status_code == 200
    body = started.json()
    assert body["status"] == "code_sent"
    assert body["code_length"] == 5
    assert body["code_type"] == "sms"  # a new account has no other session to get it in
    bound = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert bound.status_code == 201
    profile = bound.json()["profile"]
    assert profile["status"] == "active"
    assert profile["label"] == "sales"
    assert profile["telegram"]["id"] > 0
    connected = await app.state.ctx.telegram.runtime.wait_connected(__import__("uuid").UUID(profile["id"]), timeout=10)
    assert connected is not None
    me = (await client.get("/utils/me", headers=headers)).json()
    assert me["email"] == "ada@example.com"
    assert me["profiles"][0]["phone"] == phone
    assert "session" not in str(me).lower()


async def test_wrong_code_then_right_code(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone(2)
    await client.post("/profiles/start", json={"phone": phone}, headers=headers)
    wrong = await client.post("/profiles/code", json={"phone": phone, "code": "00000"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "PHONE_CODE_INVALID"
    right = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert right.status_code == 201


async def test_two_factor_wrong_then_right_password(client, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone(3)
    sandbox.control.create_user(phone=phone.lstrip("+"), first_name="Secure", password="hunter2", hint="the usual")
    await client.post("/profiles/start", json={"phone": phone}, headers=headers)
    step = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert step.status_code == 200
    assert step.json() == {
        "status": "password_needed",
        "profile": None,
        "hint": "the usual",
        "next_step": "POST /profiles/password",
    }
    again = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert again.status_code == 409
    wrong = await client.post("/profiles/password", json={"phone": phone, "password": "nope"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "PASSWORD_HASH_INVALID"
    right = await client.post("/profiles/password", json={"phone": phone, "password": "hunter2"}, headers=headers)
    assert right.status_code == 201
    assert right.json()["profile"]["telegram"]["first_name"] == "Secure"


async def test_flow_errors_are_precise(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    invalid = await client.post("/profiles/start", json={"phone": "12ab"}, headers=headers)
    assert invalid.status_code == 422
    phone = sandbox_phone()
    none_started = await client.post("/profiles/code", json={"phone": phone, "code": "11111"}, headers=headers)
    assert none_started.status_code == 409
    assert none_started.json()["error"]["code"] == "no_login_in_progress"

    await client.post("/profiles/start", json={"phone": phone}, headers=headers)
    async with app.state.ctx.sessionmaker.begin() as session:
        await session.execute(update(LoginFlow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert expired.status_code == 410
    restarted = await client.post("/profiles/start", json={"phone": phone}, headers=headers)
    assert restarted.status_code == 200

    banned_phone = sandbox_phone()
    user = sandbox.control.create_user(phone=banned_phone.lstrip("+"), first_name="Banned")
    sandbox.control.ban(user)
    banned = await client.post("/profiles/start", json={"phone": banned_phone}, headers=headers)
    assert banned.status_code == 403

    sandbox.control.fail_next("auth.SendCode", 420, "FLOOD_WAIT_120")
    flood = await client.post("/profiles/start", json={"phone": sandbox_phone()}, headers=headers)
    assert flood.status_code == 429
    assert flood.headers["retry-after"] == "120"


async def test_cross_tenant_access_is_404_and_double_binding_409(client):
    ada = bearer(await register_and_login(client, "ada@example.com"))
    eve = bearer(await register_and_login(client, "eve@example.com"))
    profile = await bind(client, ada)
    phone = profile["phone"]
    assert (await client.get("/profiles", headers=eve)).json() == []
    assert (await client.patch(f"/profiles/{phone}", json={"label": "x"}, headers=eve)).status_code == 404
    assert (await client.delete(f"/profiles/{phone}", headers=eve)).status_code == 404
    taken = await client.post("/profiles/start", json={"phone": phone}, headers=eve)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "profile_bound_elsewhere"


async def test_sessions_are_encrypted_at_rest(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    connected = await app.state.ctx.telegram.runtime.wait_connected(__import__("uuid").UUID(profile["id"]), 10)
    from telethon.sessions import StringSession

    plaintext = StringSession.save(connected.client.session)
    async with app.state.ctx.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM telegram_profiles"))).all()
    dump = repr(rows)
    assert plaintext[:40] not in dump
    assert plaintext not in dump


async def test_deactivate_and_reactivate_follow_the_runtime(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    runtime = app.state.ctx.telegram.runtime
    profile_id = __import__("uuid").UUID(profile["id"])
    assert await runtime.wait_connected(profile_id, 10)
    off = await client.patch(f"/profiles/{profile['phone']}", json={"is_active": False}, headers=headers)
    assert off.json()["status"] == "inactive"
    for _ in range(100):
        if runtime.connected(profile_id) is None:
            break
        await asyncio.sleep(0.05)
    assert runtime.connected(profile_id) is None
    on = await client.patch(
        f"/profiles/{profile['phone']}", json={"is_active": True, "max_channels": 100}, headers=headers
    )
    assert on.json()["max_channels"] == 100
    assert await runtime.wait_connected(profile_id, 10)
