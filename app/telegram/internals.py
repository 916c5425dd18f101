"""The Telethon internals the service reads, in one place (Telethon 1.x, the version pinned in uv.lock).

Telethon has no public API for these, and the service needs them: the update state of a client's MessageBox (to
checkpoint it after what it covers is committed), whether update handlers are still being dispatched, the access
hash the MessageBox keeps per channel, and the sender Telethon attached to a message. Beside these reads, three
private methods are overridden: `TelegramClient._call` and `_get_dc` (app.telegram.connector) and
`MemorySession._entity_to_row` (app.telegram.peers), and one is called, `MemorySession._entities_to_rows`.
tests/sandbox/test_telethon_internals.py pins all of it against the real client, so a Telethon upgrade that moves
them fails there, not in production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telethon import TelegramClient
from telethon.sessions import MemorySession
from telethon.tl.custom import Message

# Every private name the service reads or overrides, by the class that has it: the pin test checks each against
# the installed Telethon. (`Message._sender` is an instance attribute: the test reads it from a real message.)
PRIVATE_NAMES: dict[type[Any], tuple[str, ...]] = {
    TelegramClient: ("_event_handler_tasks", "_message_box", "_mb_entity_cache", "_call", "_get_dc"),
    MemorySession: ("_entity_to_row", "_entities_to_rows"),
    Message: ("_finish_init",),
}


def dispatching(client: TelegramClient) -> bool:
    """Whether update handlers of this client are still running or queued (Telethon's dispatch tasks)."""
    return bool(getattr(client, "_event_handler_tasks"))  # noqa: B009 - private, read on purpose


def message_box_state(client: TelegramClient) -> tuple[dict[str, Any], dict[int, int]] | None:
    """The MessageBox's (account state, {bare channel id: pts}), or None before it holds any state."""
    box = getattr(client, "_message_box")  # noqa: B009
    if box.is_empty():
        return None
    account, channels = box.session_state()
    return dict(account), dict(channels)


def account_date(account: dict[str, Any]) -> int:
    """The account state's date as a Unix timestamp (Telethon keeps a datetime, or an int before the first one)."""
    date = account["date"]
    return int(date.timestamp()) if isinstance(date, datetime) else int(date or 0)


def channel_access_hash(client: TelegramClient, channel_id: int) -> int | None:
    """The access hash the MessageBox's entity cache holds for a bare channel id, if any."""
    entity = getattr(client, "_mb_entity_cache").get(channel_id)  # noqa: B009
    return entity.hash if entity is not None else None


def cached_sender(message: Any) -> Any:
    """The sender entity Telethon attached to a message from the answer that carried it (no extra call)."""
    return getattr(message, "_sender", None)


def finish_message(client: TelegramClient, message: Any, update: Any) -> None:
    """Attach sender and chat to a message taken from a raw update, from the entities its `Updates` carried (as
    Telethon's own events do); a raw handler gets the update with those entities in `_entities`."""
    message._finish_init(client, getattr(update, "_entities", None) or {}, None)
