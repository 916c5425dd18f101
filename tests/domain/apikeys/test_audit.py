"""Every action taken with an API key, directly or through an MCP tool, is a business event in the log store
(the real ClickHouse engine, chdb), listed by `GET /logs?kind=event&actor=apikey:<id>` with its outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.conftest import bearer, register_and_login
from tests.domain.apikeys.test_mcp import mcp_client, new_key
from tests.live import serve_asgi

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides(chdb_path: Any) -> dict[str, str]:
    return {
        "LOG_SHIPPING": "embedded",
        "CLICKHOUSE_DSN": f"chdb://{chdb_path}?database=keys_{uuid.uuid4().hex[:12]}",
        "LOG_FLUSH_INTERVAL_S": "600",
    }


@pytest.fixture
async def http(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        yield client


async def test_a_keys_actions_and_refusals_are_events_listed_by_actor(app, http):
    headers = bearer(await register_and_login(http, "ada@example.com"))
    secret = await new_key(http, headers, "profiles:read")
    key_id = (await http.get("/api-keys", headers=headers)).json()[0]["id"]
    other = await new_key(http, headers, "profiles:read")
    key = {"Authorization": f"Bearer {secret}"}
    assert (await http.get("/profiles", headers=key)).status_code == 200
    send = {"phone": "+15550001111", "text": "hi", "tg_receiver": "@bob"}
    assert (await http.post("/messages/send", json=send, headers=key)).status_code == 403
    assert (await http.get("/profiles", headers={"Authorization": f"Bearer {other}"})).status_code == 200
    async with mcp_client(http, secret) as client:
        assert not (await client.call_tool("list_profiles", {})).is_error
    await asyncio.to_thread(app.state.ctx.logs.flush)

    response = await http.get("/logs", params={"kind": "event", "actor": f"apikey:{key_id}"}, headers=headers)
    assert response.status_code == 200, response.text
    contexts = [item["context"] for item in response.json()["items"]]
    assert all(c["key_id"] == key_id and c["key_name"] == "agent" for c in contexts)
    seen = {(c["action"], c["status"], c["outcome"], c["mcp_tool"], c["phone"], c["chat"]) for c in contexts}
    assert seen == {
        ("GET /profiles", 200, "ok", None, None, None),
        ("POST /messages/send", 403, "refused", None, "+15550001111", "@bob"),
        ("POST /mcp", 200, "ok", None, None, None),
        ("GET /profiles", 200, "ok", "list_profiles", None, None),
    }
    bad = await http.get("/logs", params={"kind": "request", "actor": f"apikey:{key_id}"}, headers=headers)
    assert bad.status_code == 400
