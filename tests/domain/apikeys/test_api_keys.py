"""API keys: the secret shown once and kept as a digest, scopes and restrictions enforced on the REST API,
another tenant's data 404, revocation at once (also of open `WS /events` sockets), expiry and a per-key rate
limit. On SQLite and PostgreSQL (the `backend` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from app.db.models import ApiKey
from app.lib.security import hash_token
from tests.conftest import bearer, register_and_login
from tests.domain.events.test_stream import close_code, next_event, ws_url
from tests.domain.webhooks.conftest import emit_events, http, settings_overrides

__all__ = ["http", "settings_overrides"]

pytestmark = pytest.mark.asyncio


async def create_key(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api-keys", json={"name": "agent", "scopes": ["profiles:read"], **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def key_headers(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['secret']}"}


async def test_the_secret_is_shown_once_and_stored_as_a_digest(app, client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    key = await create_key(client, headers, scopes=["profiles:read", "messages:read"])
    assert key["secret"].startswith("tgmp_")
    assert key["prefix"] == key["secret"][:12]
    listed = (await client.get("/api-keys", headers=headers)).json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]
    assert key["secret"] not in (await client.get(f"/api-keys/{key['id']}", headers=headers)).text
    async with app.state.ctx.sessionmaker() as session:
        stored = (await session.scalars(select(ApiKey))).one()
    assert stored.secret_hash == hash_token(key["secret"])
    assert key["secret"] not in repr(stored)
    # The key works as a bearer credential and records its use.
    assert (await client.get("/profiles", headers=key_headers(key))).status_code == 200
    shown = (await client.get(f"/api-keys/{key['id']}", headers=headers)).json()
    assert shown["last_used_at"] is not None


async def test_a_route_outside_the_scopes_is_403_naming_the_scope(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    key = key_headers(await create_key(client, headers, scopes=["profiles:read"]))
    response = await client.post(
        "/messages/send", json={"phone": "+15550001", "text": "hi", "tg_receiver": 1}, headers=key
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert "messages:send" in response.json()["error"]["message"]
    assert (await client.get("/webhooks", headers=key)).status_code == 403
    # No key manages keys or accounts, whatever it holds.
    assert (await client.get("/api-keys", headers=key)).json()["error"]["code"] == "api_key_route_forbidden"
    assert (await client.post("/api-keys", json={"name": "x", "scopes": ["logs:read"]}, headers=key)).status_code == 403
    assert (await client.post("/auth/logout", headers=key)).status_code == 403


async def test_another_tenants_data_stays_404(client):
    ada = bearer(await register_and_login(client, "ada@example.com"))
    bob = bearer(await register_and_login(client, "bob@example.com"))
    webhook = await client.post(
        "/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ["alert"]}, headers=ada
    )
    assert webhook.status_code == 201, webhook.text
    bob_key = key_headers(await create_key(client, bob, scopes=["webhooks:manage"]))
    assert (await client.get(f"/webhooks/{webhook.json()['id']}", headers=bob_key)).status_code == 404
    assert (await client.get("/webhooks", headers=bob_key)).json() == []
    ada_key = await create_key(client, ada)
    assert (await client.delete(f"/api-keys/{ada_key['id']}", headers=bob)).status_code == 404
    assert (await client.get("/profiles", headers=key_headers(ada_key))).status_code == 200


async def test_profile_and_chat_restrictions(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    key = key_headers(
        await create_key(
            client, headers, scopes=["profiles:read", "messages:read"], profiles=["+1 555 000 1111"], chats=["@Bob"]
        )
    )
    other_profile = await client.get("/messages/history", params={"phone": "+15550002222", "peer": "bob"}, headers=key)
    assert other_profile.json()["error"]["code"] == "profile_not_allowed"
    other_chat = await client.get("/messages/history", params={"phone": "+15550001111", "peer": "carol"}, headers=key)
    assert other_chat.json()["error"]["code"] == "chat_not_allowed"
    # A listing over every profile or chat is closed to a restricted key.
    assert (await client.get("/profiles", headers=key)).json()["error"]["code"] == "api_key_route_forbidden"
    # The allowed pair reaches the handler: the profile is not the caller's, so 404.
    allowed = await client.get("/messages/history", params={"phone": "+15550001111", "peer": "@bob"}, headers=key)
    assert allowed.status_code == 404, allowed.text


async def test_revocation_and_expiry_take_effect_at_once(app, client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    key = await create_key(client, headers)
    assert (await client.get("/profiles", headers=key_headers(key))).status_code == 200
    assert (await client.delete(f"/api-keys/{key['id']}", headers=headers)).status_code == 204
    refused = await client.get("/profiles", headers=key_headers(key))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"
    assert (await client.get(f"/api-keys/{key['id']}", headers=headers)).json()["revoked_at"] is not None

    past = await client.post(
        "/api-keys",
        json={
            "name": "old",
            "scopes": ["profiles:read"],
            "expires_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert past.status_code == 422
    soon = await create_key(client, headers, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    async with app.state.ctx.sessionmaker.begin() as session:
        stored = await session.get(ApiKey, UUID(soon["id"]))
        assert stored is not None
        stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    expired = await client.get("/profiles", headers=key_headers(soon))
    assert expired.json()["error"]["code"] == "api_key_expired"
    unknown = await client.get("/profiles", headers={"Authorization": "Bearer tgmp_not-a-key"})
    assert unknown.json()["error"]["code"] == "invalid_api_key"


async def test_each_key_has_its_own_rate_limit(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    limited = key_headers(await create_key(client, headers, rate_limit_per_minute=3))
    other = key_headers(await create_key(client, headers))
    statuses = [(await client.get("/profiles", headers=limited)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    over = await client.get("/profiles", headers=limited)
    assert over.json()["error"]["code"] == "api_key_rate_limited"
    assert int(over.headers["Retry-After"]) >= 1
    assert (await client.get("/profiles", headers=other)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "", "scopes": ["logs:read"]},
        {"name": "x", "scopes": ["logs:read"], "profiles": ["not a phone"]},
        {"name": "x", "scopes": ["logs:read"], "chats": ["a b"]},
        {"name": "x\u0000", "scopes": ["logs:read"], "rate_limit_per_minute": 2**63},
        {
            "name": "x",
            "scopes": ["logs:read"],
            "expires_at": (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat(),
        },
        {"name": "x", "scopes": ["messages:send"], "send_requires_approval": True},
    ],
)
async def test_bad_key_bodies_are_4xx(client, body):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    response = await client.post("/api-keys", json=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text


async def test_revoking_a_key_closes_its_open_event_sockets(app, http):
    tokens = await register_and_login(http, "ada@example.com")
    headers = bearer(tokens)
    me = (await http.get("/auth/me", headers=headers)).json()
    reader = (await http.post("/api-keys", json={"name": "r", "scopes": ["messages:read"]}, headers=headers)).json()
    profiles_only = (
        await http.post("/api-keys", json={"name": "p", "scopes": ["profiles:read"]}, headers=headers)
    ).json()
    await app.state.ctx.revocations.relaying()
    async with connect(ws_url(http), subprotocols=["bearer", profiles_only["secret"]]) as refused:
        code, reason = await close_code(refused)
    assert code == 4401
    assert "messages:read" in reason
    async with (
        connect(ws_url(http), subprotocols=["bearer", reader["secret"]]) as key_ws,
        connect(ws_url(http), subprotocols=["bearer", tokens["access_token"]]) as login_ws,
    ):
        await emit_events(app, UUID(me["id"]), 1)
        assert (await next_event(key_ws))["type"] == "message.received"
        assert (await http.delete(f"/api-keys/{reader['id']}", headers=headers)).status_code == 204
        code, reason = await close_code(key_ws)
        assert code == 4401
        await emit_events(app, UUID(me["id"]), 1)
        assert (await next_event(login_ws))["type"] == "message.received"
