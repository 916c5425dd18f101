"""The documented contract of `/api-keys` (merged into `openapi_contract.OPERATIONS`)."""

from __future__ import annotations

from typing import Any

KEY_OPERATIONS: dict[tuple[str, str], tuple[str, str, tuple[int, ...], dict[str, Any] | None]] = {
    ("POST", "/api-keys"): (
        "Create an API key",
        "A scoped key for a program or an AI agent (`Authorization: Bearer tgmp_…` on the API, `WS /events` "
        "and `/mcp`); its secret is returned once, in this answer only. Keys cannot manage keys.",
        (403,),
        {
            "name": "support agent",
            "scopes": ["profiles:read", "messages:read", "messages:send"],
            "profiles": ["+9996612345"],
            "expires_at": "2030-01-01T00:00:00Z",
        },
    ),
    ("GET", "/api-keys"): (
        "List API keys",
        "The caller's keys, revoked ones included, never their secrets.",
        (403,),
        None,
    ),
    ("GET", "/api-keys/{key_id}"): ("An API key", "One key with its scopes, limits and last use.", (403,), None),
    ("DELETE", "/api-keys/{key_id}"): (
        "Revoke an API key",
        "Effective at once: the key's next request is 401 and its open event sockets close with 4401.",
        (403,),
        None,
    ),
}
