"""`/mcp` end to end: the SDK's own Streamable HTTP client against the app served on 127.0.0.1, with a bound
sandbox profile. Listing tools, reading (profiles, unread, history), sending (once, with an idempotency key),
marking read, a refused scope, and the access token as the alternative credential."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.domain.messages.support import connected_profile, eventually
from tests.domain.messages.test_sending import received_by
from tests.domain.webhooks.conftest import http, settings_overrides

__all__ = ["http", "settings_overrides"]

pytestmark = pytest.mark.asyncio

TOOLS = {
    "list_profiles",
    "list_dialogs",
    "unread_messages",
    "read_history",
    "list_conversations",
    "conversation_messages",
    "send_message",
    "reply",
    "mark_read",
    "list_channels",
    "channel_posts",
}


@asynccontextmanager
async def mcp_client(http_client: httpx.AsyncClient, credential: str) -> AsyncIterator[Client]:
    url = str(http_client.base_url).rstrip("/") + "/mcp"
    transport = create_mcp_http_client(headers={"Authorization": f"Bearer {credential}"})
    async with transport, Client(streamable_http_client(url, http_client=transport)) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def new_key(http_client: httpx.AsyncClient, headers: dict[str, str], *scopes: str) -> str:
    response = await http_client.post("/api-keys", json={"name": "agent", "scopes": list(scopes)}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


async def test_an_agent_reads_and_sends_through_mcp_within_its_scopes(app, http, sandbox):
    s = await connected_profile(http, app, sandbox)
    agent = await new_key(http, s.headers, "profiles:read", "messages:read", "messages:send", "channels:read")
    reader = await new_key(http, s.headers, "profiles:read", "messages:read")
    await sandbox.control.as_user(s.contact).send_message(s.me, "hello agent")
    contact = f"@{s.contact.username}"

    async with mcp_client(http, agent) as client:
        tools = (await client.list_tools()).tools
        assert {t.name for t in tools} == TOOLS
        assert all(t.description and len(t.description) > 60 for t in tools)
        profiles = await call(client, "list_profiles")
        assert [p["phone"] for p in profiles] == [s.phone]

        async def unread_text() -> list[str]:
            body = await call(client, "unread_messages", phone=s.phone)
            return [m["text"] for d in body["dialogs"] for m in d["messages"]]

        assert await eventually(unread_text, what="the contact's message unread") == ["hello agent"]
        history = await call(client, "read_history", phone=s.phone, peer=contact)
        assert [m["text"] for m in history["messages"]] == ["hello agent"]

        for _ in range(2):
            sent = await call(
                client, "send_message", phone=s.phone, to=contact, text="hi from the agent", idempotency_key="a-1"
            )
            assert sent["status"] == "sent"
        assert received_by(s.contact, s.me) == ["hi from the agent"]
        replied = await call(client, "reply", conversation_id=sent["conversation_id"], text="and more")
        assert replied["status"] == "sent"
        assert received_by(s.contact, s.me) == ["hi from the agent", "and more"]
        read = await call(client, "mark_read", phone=s.phone, peer=contact)
        assert read["peer"]["peer_id"] == s.contact.id
        assert await call(client, "list_channels") == []

        missing = await client.call_tool("read_history", {"phone": "+15550009999", "peer": contact})
        assert missing.is_error
        assert "HTTP 404" in missing.content[0].text  # type: ignore[union-attr]

    async with mcp_client(http, reader) as client:
        refused = await client.call_tool("send_message", {"phone": s.phone, "to": contact, "text": "not allowed"})
        assert refused.is_error
        text = refused.content[0].text  # type: ignore[union-attr]
        assert "HTTP 403 missing_scope" in text
        assert "messages:send" in text
        assert (await call(client, "list_profiles"))[0]["phone"] == s.phone
    assert received_by(s.contact, s.me) == ["hi from the agent", "and more"]

    # A user's access token works as well.
    async with mcp_client(http, s.headers["Authorization"].split(" ", 1)[1]) as client:
        assert [p["phone"] for p in await call(client, "list_profiles")] == [s.phone]


async def test_mcp_without_a_valid_credential_is_401(http):
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert (await http.post("/mcp", json=initialize, headers=headers)).status_code == 401
    bad = {**headers, "Authorization": "Bearer tgmp_nope"}
    response = await http.post("/mcp", json=initialize, headers=bad)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
