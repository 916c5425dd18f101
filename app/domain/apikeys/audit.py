"""The audit trail of API keys: every request made with a key is a business event, whatever its outcome.

The event (`api_key.action`, source `apikeys`) names who acted (`actor` = `apikey:<id>`, the key's id and
name), what (`action` = method and route, `mcp_tool` when an MCP tool made the call), where (`phone`, `chat`)
and the outcome (the response status). `GET /logs?kind=event&actor=apikey:<id>` lists a key's actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from app.domain.accounts.current_user import CallerKey
from app.domain.apikeys.authentication import key_family
from app.lib.logging import log_event

MCP_TOOL_HEADER = "x-mcp-tool"  # set by the MCP server's in-process calls


def _first(names: tuple[str, ...], *sources: Mapping[str, Any] | None) -> str | None:
    for source in sources:
        for name in names:
            if source and source.get(name) is not None:
                return str(source[name])[:255]
    return None


def audit_key_action(
    owner_id: UUID,
    key: CallerKey,
    *,
    method: str,
    route: str,
    status: int,
    path_params: Mapping[str, Any],
    query: Mapping[str, Any],
    body: Mapping[str, Any] | None,
    mcp_tool: str | None,
) -> None:
    outcome = "ok" if status < 400 else ("refused" if status < 500 else "failed")
    log_event(
        "info" if status < 500 else "error",
        "apikeys",
        "api_key.action",
        f"{key.name}: {method} {route} -> {status}",
        user_id=owner_id,
        context={
            "actor": key_family(key.id),
            "key_id": str(key.id),
            "key_name": key.name,
            "action": f"{method} {route}",
            "mcp_tool": mcp_tool[:64] if mcp_tool else None,
            "phone": _first(("phone",), path_params, query, body),
            "chat": _first(("peer", "tg_receiver", "conversation_id"), path_params, query, body),
            "status": status,
            "outcome": outcome,
        },
    )
