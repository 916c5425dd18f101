"""What an API key may do: its scopes, and the scope each route needs (a route not listed is closed to keys).

A key is a user's credential with less power: it acts as its owner (another tenant's data stays 404) but only
on the routes its scopes open. Account, key, invitation and profile-binding routes are listed nowhere, so no
key can sign in, mint keys, or bind Telegram accounts, whatever scopes it holds.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Scope = Literal[
    "profiles:read",
    "messages:read",
    "messages:send",
    "channels:read",
    "channels:manage",
    "archives:read",
    "archives:manage",
    "webhooks:manage",
    "logs:read",
]
SCOPES: Final[tuple[str, ...]] = get_args(Scope)

ANY_KEY: Final = ""  # a route every valid key may call

ROUTE_SCOPES: Final[dict[tuple[str, str], str]] = {
    ("GET", "/auth/me"): ANY_KEY,
    ("GET", "/utils/me"): "profiles:read",
    ("GET", "/profiles"): "profiles:read",
    ("GET", "/profiles/{phone}/limits"): "profiles:read",
    ("GET", "/profiles/{phone}/channels"): "channels:read",
    ("GET", "/profiles/{phone}/contacts"): "profiles:read",
    ("GET", "/profiles/{phone}/lookup"): "messages:read",
    # Saving or removing a contact acts as the account towards another person, as a send does.
    ("POST", "/profiles/{phone}/contacts"): "messages:send",
    ("DELETE", "/profiles/{phone}/contacts/{peer_id}"): "messages:send",
    ("GET", "/messages/dialogs"): "messages:read",
    ("POST", "/messages/dialogs"): "messages:read",
    ("GET", "/messages/unread"): "messages:read",
    ("POST", "/messages/unread"): "messages:read",
    ("GET", "/messages/history"): "messages:read",
    ("POST", "/messages/read"): "messages:read",
    ("POST", "/messages/send"): "messages:send",
    ("GET", "/conversations"): "messages:read",
    ("GET", "/conversations/{conversation_id}/messages"): "messages:read",
    ("POST", "/conversations/{conversation_id}/reply"): "messages:send",
    ("PATCH", "/conversations/{conversation_id}/messages/{message_id}"): "messages:send",
    ("DELETE", "/conversations/{conversation_id}/messages/{message_id}"): "messages:send",
    ("GET", "/conversations/{conversation_id}/messages/{message_id}/media"): "messages:read",
    ("GET", "/channels"): "channels:read",
    ("GET", "/channels/{channel_id}"): "channels:read",
    ("GET", "/channels/{channel_id}/messages"): "channels:read",
    ("GET", "/channels/{channel_id}/messages/{message_id}/media"): "channels:read",
    ("POST", "/channels"): "channels:manage",
    ("DELETE", "/channels/{channel_id}"): "channels:manage",
    ("GET", "/archives"): "archives:read",
    ("GET", "/archives/{archive_id}"): "archives:read",
    ("POST", "/archives"): "archives:manage",
    ("DELETE", "/archives/{archive_id}"): "archives:manage",
    ("GET", "/webhooks"): "webhooks:manage",
    ("POST", "/webhooks"): "webhooks:manage",
    ("GET", "/webhooks/{webhook_id}"): "webhooks:manage",
    ("PATCH", "/webhooks/{webhook_id}"): "webhooks:manage",
    ("DELETE", "/webhooks/{webhook_id}"): "webhooks:manage",
    ("GET", "/webhooks/{webhook_id}/deliveries"): "webhooks:manage",
    ("GET", "/webhooks/{webhook_id}/deliveries/{delivery_id}"): "webhooks:manage",
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): "webhooks:manage",
    ("POST", "/webhooks/{webhook_id}/rotate-secret"): "webhooks:manage",
    ("POST", "/webhooks/{webhook_id}/test"): "webhooks:manage",
    ("GET", "/logs"): "logs:read",
    ("POST", "/mcp"): ANY_KEY,  # each MCP tool calls a route above, which checks its own scope
    ("GET", "/mcp"): ANY_KEY,
    ("DELETE", "/mcp"): ANY_KEY,
}

# Routes that name the profile (a `phone` path/query parameter or body field) and the chat (`peer`,
# `tg_receiver`): the only ones a key restricted to listed profiles or chats may call.
NAMES_PROFILE: Final = frozenset(
    {
        ("GET", "/profiles/{phone}/limits"),
        ("GET", "/profiles/{phone}/channels"),
        ("GET", "/profiles/{phone}/contacts"),
        ("POST", "/profiles/{phone}/contacts"),
        ("DELETE", "/profiles/{phone}/contacts/{peer_id}"),
        ("GET", "/profiles/{phone}/lookup"),
        ("GET", "/messages/dialogs"),
        ("POST", "/messages/dialogs"),
        ("GET", "/messages/unread"),
        ("POST", "/messages/unread"),
        ("GET", "/messages/history"),
        ("POST", "/messages/read"),
        ("POST", "/messages/send"),
    }
)
NAMES_CHAT: Final = frozenset({("GET", "/messages/history"), ("POST", "/messages/read"), ("POST", "/messages/send")})
UNRESTRICTED: Final = frozenset({("GET", "/auth/me"), ("POST", "/mcp"), ("GET", "/mcp"), ("DELETE", "/mcp")})


def normalise_chat(value: object) -> str:
    """A chat as a key's restriction lists it: a numeric id, or a username without `@`, lower case."""
    text = str(value).strip()
    return text.removeprefix("@").lower()
