"""Message entities as Telegram keeps them: checked against the text, stored with the message, returned as sent.

Offsets and lengths count UTF-16 code units. An outgoing mention (`inputMessageEntityMentionName`) names an
InputUser and is stored as `messageEntityMentionName` with the bare user id. Not modelled: Telegram's own
detection of links, @mentions and hashtags in plain text (a message without entities gets none).
"""

from __future__ import annotations

from telethon.extensions import BinaryReader
from telethon.tl import TLObject, types

from .rpc import RpcError
from .state import SandboxState


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def checked(state: SandboxState, sender_id: int, text: str, entities: list[TLObject] | None) -> list[bytes]:
    """The entities to store (serialised TL), or 400 ENTITY_BOUNDS_INVALID / ENTITY_MENTION_USER_INVALID.

    A mention names its user with the access hash Telegram issued to the sender (hashes are per account).
    """
    size = _utf16_length(text)
    stored: list[bytes] = []
    for entity in entities or ():
        offset, length = getattr(entity, "offset", -1), getattr(entity, "length", 0)
        if offset < 0 or length <= 0 or offset + length > size:
            raise RpcError(400, "ENTITY_BOUNDS_INVALID")
        if isinstance(entity, types.InputMessageEntityMentionName):
            user = entity.user_id
            found = state.users.get(getattr(user, "user_id", 0))
            if found is None or getattr(user, "access_hash", None) != found.access_hash_for(sender_id):
                raise RpcError(400, "ENTITY_MENTION_USER_INVALID")
            entity = types.MessageEntityMentionName(offset, length, found.id)
        stored.append(bytes(entity))
    return stored


def rendered(stored: list[bytes]) -> list[TLObject] | None:
    return [BinaryReader(raw).tgread_object() for raw in stored] or None
