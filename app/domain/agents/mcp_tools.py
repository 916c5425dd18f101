"""The MCP server (`/mcp`, Streamable HTTP): tools an AI agent calls to read and write Telegram through the API.

Each tool is a thin adapter over one REST route, called in-process with the caller's own bearer credential
(an API key or an access token): the route's checks all apply unchanged — the key's scopes (403 naming the
missing scope), its profile and chat restrictions, its rate limit, tenant isolation (404), pacing, send
budgets and idempotency. A refused call is a tool error whose text says the status, code and reason, so the
model can tell the user what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

MCP_TOOL_HEADER = "X-MCP-Tool"  # which tool made an in-process call (the API keys' audit names it)

INSTRUCTIONS = """\
Tools of the Telegram Multi-Profile API. Every tool acts as the owner of the API key (or access token) you were
given and only within its scopes: profiles:read, messages:read, messages:send, channels:read. A profile is one
Telegram account, named by its phone number in E.164 form (e.g. +15551234567); call list_profiles first.
Errors come back as text "HTTP <status> <code>: <reason>": 403 missing_scope means the key lacks the scope named,
404 means the profile/chat/channel does not exist for this owner, 429 means wait (Retry-After seconds) and retry.
"""

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

ClientFactory = Callable[[], httpx.AsyncClient]


def _credential(ctx: Context) -> str:
    request = ctx.request_context.request
    header = request.headers.get("authorization") if request is not None else None
    if not header:
        raise ToolError("HTTP 401 missing_token: call /mcp with Authorization: Bearer <api key or access token>")
    return str(header)


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class ApiCaller:
    """Calls the REST API in-process with the MCP request's credential; a 4xx/5xx becomes a ToolError."""

    def __init__(self, client: ClientFactory) -> None:
        self._client = client

    async def __call__(
        self,
        ctx: Context,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        params_of_call = ctx.request_context.params or {}
        tool = str(params_of_call.get("name", ""))[:64]
        sent = {"Authorization": _credential(ctx), MCP_TOOL_HEADER: tool, **(headers or {})}
        async with self._client() as http:
            response = await http.request(
                method, path, params=_clean(params or {}), json=_clean(body) if body is not None else None, headers=sent
            )
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                text = f"HTTP {response.status_code} {error.get('code')}: {error.get('message')}"
            except (ValueError, KeyError, TypeError):
                text = f"HTTP {response.status_code}: {response.text[:300]}"
            if "Retry-After" in response.headers:
                text += f" (retry after {response.headers['Retry-After']} s)"
            raise ToolError(text)
        return response.text  # the route's JSON, as the model reads it


def build_mcp_server(client: ClientFactory) -> MCPServer:
    """The MCP server whose tools call the REST API through `client` (an httpx client over the app)."""
    api = ApiCaller(client)
    server = MCPServer(name="telegram-multi-profile", instructions=INSTRUCTIONS, version="0.1.0")

    @server.tool(annotations=READ)
    async def list_profiles(ctx: Context) -> str:
        """List the Telegram profiles (accounts) this key may use: phone, status (only `active` ones can read or
        send), display name and limits. Needs profiles:read. Call this first to learn the phone numbers the
        other tools take."""
        return await api(ctx, "GET", "/profiles")

    @server.tool(annotations=READ)
    async def list_dialogs(ctx: Context, phone: str, limit: int = 50, offset: int = 0) -> str:
        """List a profile's Telegram dialogs (private chats, groups, channels) with their peer id, title,
        username and unread count, newest first; page with offset (limit 1-200). Asks Telegram live. Needs
        messages:read."""
        return await api(ctx, "GET", "/messages/dialogs", params={"phone": phone, "limit": limit, "offset": offset})

    @server.tool(annotations=READ)
    async def unread_messages(ctx: Context, phone: str) -> str:
        """Every dialog of a profile that has unread messages, with those messages (a bounded number per dialog)
        and the total unread. Nothing is marked read (use mark_read). Needs messages:read."""
        return await api(ctx, "GET", "/messages/unread", params={"phone": phone})

    @server.tool(annotations=READ)
    async def read_history(ctx: Context, phone: str, peer: str, limit: int = 50, before_id: int | None = None) -> str:
        """Messages of one chat from Telegram, newest first. `peer` is a numeric peer id, @username, +phone or
        t.me link; `before_id` (the response's next_before_id) pages to older messages; limit 1-200. Needs
        messages:read."""
        params = {"phone": phone, "peer": peer, "limit": limit, "before_id": before_id}
        return await api(ctx, "GET", "/messages/history", params=params)

    @server.tool(annotations=READ)
    async def list_conversations(ctx: Context) -> str:
        """The stored inbox (no Telegram call): each profile's conversations with the last message, unread count
        and conversation id (used by reply and conversation_messages). Needs messages:read."""
        return await api(ctx, "GET", "/conversations")

    @server.tool(annotations=READ)
    async def conversation_messages(
        ctx: Context, conversation_id: str, limit: int = 50, cursor: str | None = None
    ) -> str:
        """Stored messages of one conversation, newest first, including edited (previous_texts) and deleted ones;
        pass the response's next_cursor to page. No Telegram call. Needs messages:read."""
        params = {"limit": limit, "cursor": cursor}
        return await api(ctx, "GET", f"/conversations/{conversation_id}/messages", params=params)

    @server.tool(annotations=WRITE)
    async def send_message(
        ctx: Context,
        phone: str,
        to: str,
        text: str,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Send a text message as the profile to `to` (numeric peer id, @username, +phone or t.me link).
        Sends are paced and counted against the profile's daily budget; pass the same idempotency_key when
        retrying so the message is sent once. Text up to 4096 characters, sent verbatim. Needs messages:send.
        The result has the delivery status and the stored message."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = {"phone": phone, "tg_receiver": to, "text": text, "reply_to": reply_to}
        return await api(ctx, "POST", "/messages/send", body=body, headers=headers)

    @server.tool(annotations=WRITE)
    async def reply(
        ctx: Context, conversation_id: str, text: str, reply_to: int | None = None, idempotency_key: str | None = None
    ) -> str:
        """Reply in a stored conversation (its id from list_conversations), optionally quoting the Telegram
        message id `reply_to`. Paced and budgeted like send_message. Needs messages:send."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = {"text": text, "reply_to": reply_to}
        return await api(ctx, "POST", f"/conversations/{conversation_id}/reply", body=body, headers=headers)

    @server.tool(annotations=WRITE)
    async def mark_read(ctx: Context, phone: str, peer: str, max_id: int | None = None) -> str:
        """Mark a chat's messages read up to `max_id` (default: all); the other side sees them read. Needs
        messages:read."""
        return await api(ctx, "POST", "/messages/read", body={"phone": phone, "peer": peer, "max_id": max_id})

    @server.tool(annotations=READ)
    async def list_channels(ctx: Context) -> str:
        """The monitored Telegram channels (id, title, username, status, which profile reads each). Needs
        channels:read."""
        return await api(ctx, "GET", "/channels")

    @server.tool(annotations=READ)
    async def channel_posts(ctx: Context, channel_id: str, limit: int = 50, cursor: str | None = None) -> str:
        """Stored posts of a monitored channel (its id from list_channels), newest first, with previous texts of
        edited posts; deleted posts keep their content. Page with next_cursor. Needs channels:read."""
        params = {"limit": limit, "cursor": cursor}
        return await api(ctx, "GET", f"/channels/{channel_id}/messages", params=params)

    return server
