"""The checks every edit of a message passes, in private chats, basic groups, supergroups and channels alike.

Telegram: only the author edits a message (in a broadcast channel, an admin may edit any post); a message in a
private chat or group may be edited for 48 hours after it was sent (`MESSAGE_EDIT_TIME_EXPIRED`), a channel post
at any time; a service message is no message to edit (`MESSAGE_ID_INVALID`), and an edit that changes nothing is
`MESSAGE_NOT_MODIFIED`.
"""

from __future__ import annotations

from telethon.tl import TLObject

from . import entities as formatting
from .media import check_caption
from .rpc import RpcError
from .state import SandboxState, StoredMessage, now

MAX_MESSAGE_LENGTH = 4096
EDIT_WINDOW_S = 48 * 3600


def check_text(text: str) -> None:
    if not text or not text.strip():
        raise RpcError(400, "MESSAGE_EMPTY")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise RpcError(400, "MESSAGE_TOO_LONG")


def check_message(text: str, media_id: int) -> None:
    """A text message needs text; a media message's caption may be empty."""
    if media_id:
        check_caption(text)
    else:
        check_text(text)


def checked_edit(
    state: SandboxState,
    editor_id: int,
    stored: StoredMessage | None,
    text: str,
    entities: list[TLObject] | None,
    *,
    authored: bool,
    may_edit_others: bool = False,
    time_limited: bool = True,
) -> list[bytes]:
    """The new text's entities, once `editor_id` may edit `stored` into `text`; else Telegram's error."""
    check_text(text)
    stored_entities = formatting.checked(state, editor_id, text, entities)
    if stored is None or stored.action:
        raise RpcError(400, "MESSAGE_ID_INVALID")
    if not authored and not may_edit_others:
        raise RpcError(403, "MESSAGE_AUTHOR_REQUIRED")
    if time_limited and now() - stored.date > EDIT_WINDOW_S:
        raise RpcError(400, "MESSAGE_EDIT_TIME_EXPIRED")
    if stored.text == text and stored.entities == stored_entities:
        raise RpcError(400, "MESSAGE_NOT_MODIFIED")
    return stored_entities
