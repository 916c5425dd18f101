"""Peers and usernames per profile: stored access hashes after a restart, one username lookup per TTL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.db.models import KnownPeer
from app.server.app import create_app
from tests.conftest import running
from tests.domain.messages.support import connected_profile, conversation_with, eventually
from tests.domain.messages.test_sending import received_by

pytestmark = pytest.mark.asyncio


def http(application) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_numeric_id_works_after_a_restart_with_the_profiles_own_hash(app, sandbox):
    async with running(app), http(app) as client:
        s = await connected_profile(client, app, sandbox)
        await sandbox.control.as_user(s.contact).send_message(s.me, "hello")
        await eventually(lambda: conversation_with(client, s.headers, s.contact.id))

        async def stored_peer():
            async with app.state.ctx.sessionmaker() as session:
                return await session.scalar(
                    select(KnownPeer).where(KnownPeer.profile_id == s.profile_id, KnownPeer.peer_id == s.contact.id)
                )

        peer = await eventually(stored_peer, what="the contact among the profile's stored peers")
        assert peer.access_hash == s.contact.access_hash_for(s.me.id)
        assert peer.kind == "user"
        assert peer.username == s.contact.username.lower()

    restarted = create_app(app.state.ctx.settings)  # a new process: Telethon's in-memory cache is empty
    try:
        async with running(restarted), http(restarted) as client:
            assert await restarted.state.ctx.telegram.runtime.wait_connected(s.profile_id, timeout=10)
            body = {"phone": s.phone, "text": "by id after restart", "tg_receiver": str(s.contact.id)}
            sent = await client.post("/messages/send", json=body, headers=s.headers)
            assert sent.status_code == 200, sent.text
            assert received_by(s.contact, s.me)[-1] == "by id after restart"
            never_seen = sandbox.control.create_user(phone="4479000001" + str(s.contact.id)[-3:], first_name="X")
            unknown = {"phone": s.phone, "text": "x", "tg_receiver": str(never_seen.id)}
            refused = await client.post("/messages/send", json=unknown, headers=s.headers)
            assert refused.status_code == 404
            assert refused.json()["error"]["code"] == "peer_not_found"
    finally:
        await restarted.state.ctx.engine.dispose()


@pytest.mark.parametrize("settings_overrides", [{"USERNAME_RESOLVE_INTERVAL_S": "0"}], indirect=True)
async def test_five_sends_to_a_username_resolve_it_once(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    before = sandbox.control.counters.requests["contacts.ResolveUsernameRequest"]
    for n in range(5):
        body = {"phone": s.phone, "text": f"hi {n}", "tg_receiver": f"@{s.contact.username}"}
        sent = await client.post("/messages/send", json=body, headers=s.headers)
        assert sent.status_code == 200, sent.text
    history = await client.get(
        "/messages/history", params={"phone": s.phone, "peer": s.contact.username, "limit": 5}, headers=s.headers
    )
    assert history.status_code == 200, history.text
    assert sandbox.control.counters.requests["contacts.ResolveUsernameRequest"] - before == 1
    assert received_by(s.contact, s.me) == [f"hi {n}" for n in range(5)]


@pytest.mark.parametrize("settings_overrides", [{"USERNAME_CACHE_TTL_S": "0"}], indirect=True)
async def test_a_lookup_flood_wait_answers_429_without_asking_telegram_again(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.fail_next("contacts.ResolveUsername", 420, "FLOOD_WAIT_3600", user=s.me)
    body = {"phone": s.phone, "text": "hi", "tg_receiver": f"@{s.contact.username}"}
    first = await client.post("/messages/send", json=body, headers=s.headers)
    assert first.status_code == 429, first.text
    assert first.json()["error"]["code"] == "FLOOD_WAIT"
    before = sandbox.control.counters.requests["contacts.ResolveUsernameRequest"]
    again = await client.post("/messages/send", json=body, headers=s.headers)
    assert again.status_code == 429
    assert 3500 < int(again.headers["retry-after"]) <= 3600
    assert sandbox.control.counters.requests["contacts.ResolveUsernameRequest"] == before
