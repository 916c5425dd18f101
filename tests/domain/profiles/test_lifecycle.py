"""Imported sessions, deletion, restarts, bans, revocations and the single-owner rule, against the sandbox."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from telethon.sessions import SQLiteSession

from app.domain.profiles.source import DatabaseProfileSource
from app.telegram.leases import RedisLeaseStore
from app.telegram.runtime import ProfileRuntime
from app.telegram.service import build_connector
from tests.conftest import bearer, register_and_login, sandbox_phone
from tests.domain.profiles.test_binding import bind, wait_for_status

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    # Telegram pushes no ban or revocation: a silent profile learns of it from its health check.
    return {"PROFILE_HEALTH_INTERVAL_S": "0.5"}


def new_sandbox_user(sandbox, **kwargs):
    phone = sandbox_phone()
    return sandbox.control.create_user(phone=phone.lstrip("+"), first_name=kwargs.pop("first_name", "Imp"), **kwargs)


async def test_import_string_session(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    user = new_sandbox_user(sandbox, username=f"imp{uuid.uuid4().hex[:6]}")
    session_string = sandbox.control.login_session(user)
    imported = await client.post(
        "/profiles/import", json={"session_string": session_string, "label": "imp"}, headers=headers
    )
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["phone"] == "+" + user.phone
    assert body["telegram"]["id"] == user.id
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(body["id"]), 10)
    assert session_string not in imported.text

    garbage = await client.post("/profiles/import", json={"session_string": "not-a-session-at-all"}, headers=headers)
    assert garbage.status_code == 422
    sandbox.control.revoke(new := new_sandbox_user(sandbox))
    dead = sandbox.control.login_session(new)
    sandbox.control.revoke(new)
    rejected = await client.post("/profiles/import", json={"session_string": dead}, headers=headers)
    assert rejected.status_code == 422
    assert rejected.json()["error"]["code"] == "session_unauthorized"


async def test_import_session_file(client, app, sandbox, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    user = new_sandbox_user(sandbox)
    from telethon.sessions import StringSession

    minted = StringSession(sandbox.control.login_session(user))
    file_session = SQLiteSession(str(tmp_path / "account"))
    file_session.set_dc(minted.dc_id, minted.server_address, minted.port)
    file_session.auth_key = minted.auth_key
    file_session.save()
    file_session.close()
    content = (tmp_path / "account.session").read_bytes()
    imported = await client.post(
        "/profiles/import", files={"file": ("account.session", content)}, data={"label": "from file"}, headers=headers
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["label"] == "from file"
    not_sqlite = await client.post("/profiles/import", files={"file": ("x.session", b"hello")}, headers=headers)
    assert not_sqlite.status_code == 422
    assert not_sqlite.json()["error"]["code"] == "invalid_session"


async def test_delete_logs_out_at_telegram(client, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    user = sandbox.control.user(profile["phone"])
    assert sandbox.control.authorizations(user)
    deleted = await client.delete(f"/profiles/{profile['phone']}", headers=headers)
    assert deleted.status_code == 204
    assert sandbox.control.authorizations(user) == []
    assert (await client.get("/profiles", headers=headers)).json() == []


async def test_restart_reconnects_without_a_new_login(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    runtime = app.state.ctx.telegram.runtime
    profile_id = uuid.UUID(profile["id"])
    assert await runtime.wait_connected(profile_id, 10)
    sign_ins = sandbox.control.counters.requests.get("auth.SignIn", 0)
    await runtime.stop()
    assert runtime.connected(profile_id) is None
    await runtime.start()
    assert await runtime.wait_connected(profile_id, 10)
    assert sandbox.control.counters.requests.get("auth.SignIn", 0) == sign_ins
    assert (await client.get("/profiles", headers=headers)).json()[0]["status"] == "active"


async def test_ban_marks_the_profile_banned(client, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    sandbox.control.ban(sandbox.control.user(profile["phone"]))
    banned = await wait_for_status(client, headers, profile["phone"], "banned")
    assert "Ban" in banned["status_reason"]


async def test_revoke_marks_the_profile_deauthorized(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 10)
    sandbox.control.revoke(sandbox.control.user(profile["phone"]))
    await wait_for_status(client, headers, profile["phone"], "deauthorized")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_runtimes_sharing_redis_never_connect_one_session_twice(client, app, sandbox):
    from redis.asyncio import Redis

    headers = bearer(await register_and_login(client, "ada@example.com"))
    ctx = app.state.ctx
    await ctx.telegram.runtime.stop()  # the two runtimes below stand for two worker processes
    profiles = [await bind(client, headers) for _ in range(3)]
    ids = [uuid.UUID(p["id"]) for p in profiles]
    concurrent_before = sandbox.control.counters.concurrent_key_use
    redis = Redis.from_url(ctx.settings.redis_url)
    source = DatabaseProfileSource(ctx.sessionmaker, ctx.secret_box)
    first, second = (
        ProfileRuntime(
            connector=build_connector(ctx.settings), source=source, leases=RedisLeaseStore(redis), lease_ttl_ms=1500
        )
        for _ in range(2)
    )
    try:
        await first.start()
        for profile_id in ids:
            assert await first.wait_connected(profile_id, 10)
        await second.start()
        await asyncio.sleep(1.0)
        assert second.connected_ids() == []
        await first.stop()  # a clean hand-over
        for profile_id in ids:
            assert await second.wait_connected(profile_id, 15)
        assert sorted(second.connected_ids()) == sorted(ids)
    finally:
        await first.stop()
        await second.stop()
        await redis.aclose()
    # Workers share 127.0.0.1, where Telegram allows concurrent use; between hosts it would kill the key.
    assert sandbox.control.counters.concurrent_key_use == concurrent_before


async def test_status_changes_are_events(client, app, sandbox):
    from sqlalchemy import select

    from app.db.models import Event

    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    sandbox.control.ban(sandbox.control.user(profile["phone"]))
    await wait_for_status(client, headers, profile["phone"], "banned")
    async with app.state.ctx.sessionmaker() as session:
        rows = (await session.scalars(select(Event).where(Event.profile == profile["phone"]))).all()
    kinds = {(row.type, row.payload.get("to")) for row in rows}
    assert ("profile.status_changed", "banned") in kinds
    assert ("alert", "banned") in kinds


async def test_undecryptable_session_marks_the_profile_instead_of_retrying(client, app):
    from app.db.models import TelegramProfile

    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    runtime = app.state.ctx.telegram.runtime
    profile_id = uuid.UUID(profile["id"])
    assert await runtime.wait_connected(profile_id, 10)
    await runtime.deactivate(profile_id)
    async with app.state.ctx.sessionmaker.begin() as session:
        row = await session.get(TelegramProfile, profile_id)
        row.session_encrypted = "gAAAAA-not-a-token-of-ours"
    runtime.activate(profile_id)
    failed = await wait_for_status(client, headers, profile["phone"], "deauthorized")
    assert failed["status_reason"] == "stored session cannot be decrypted"
