"""Request and response bodies of the messaging and inbox APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.telegram.commands import DialogInfo, UnreadDialog
from app.telegram.contacts import ContactInfo
from app.telegram.entities import EntityIn, ParseMode
from app.telegram.records import MessageContent, MessageInfo, PeerInfo

MAX_TEXT = 4096
PEER_MAX_LENGTH = 255  # an @username, a t.me link or a phone
CURSOR_MAX_LENGTH = 512  # next_cursor values are far shorter
IDEMPOTENCY_KEY_MAX_LENGTH = 255
Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, examples=["+9996612345"])]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
Receiver = Annotated[
    str, msgspec.Meta(min_length=1, max_length=PEER_MAX_LENGTH, examples=["@username", "+15551234567"])
]
PAGE_MAX = 200
OFFSET_MAX = 10_000
Limit = Annotated[int, msgspec.Meta(ge=1, le=PAGE_MAX)]
Offset = Annotated[int, msgspec.Meta(ge=0, le=OFFSET_MAX)]
MessageId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]  # Telegram message ids are 32-bit


class DialogsQuery(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    limit: Limit = 50
    offset: Offset = 0


class UnreadQuery(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone


class SendMessage(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    text: Text
    tg_receiver: Receiver | int
    reply_to: MessageId | None = None
    silent: bool = False
    parse_mode: ParseMode | None = None  # default: the text is sent verbatim
    entities: Annotated[list[EntityIn], msgspec.Meta(max_length=100)] | None = None
    # A +phone receiver: also save the number to the profile's contacts once the message is sent.
    save_contact: bool = False


class ReadMessages(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    peer: Receiver | int
    max_id: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None


class EditMessage(msgspec.Struct, forbid_unknown_fields=True):
    text: Text


class Reply(msgspec.Struct, forbid_unknown_fields=True):
    text: Text
    reply_to: MessageId | None = None
    silent: bool = False
    parse_mode: ParseMode | None = None
    entities: Annotated[list[EntityIn], msgspec.Meta(max_length=100)] | None = None


class DialogsOut(msgspec.Struct):
    phone: str
    items: list[DialogInfo]
    total: int
    offset: int
    limit: int


class UnreadOut(msgspec.Struct):
    phone: str
    dialogs: list[UnreadDialog]
    total_unread: int


class HistoryOut(msgspec.Struct):
    phone: str
    peer: PeerInfo
    messages: list[MessageInfo]
    next_before_id: int | None


class StoredMessage(MessageContent, frozen=True, kw_only=True):
    """A message of the stored inbox: what it says (`MessageContent`, app.telegram.records) and its state here."""

    id: UUID
    conversation_id: UUID
    telegram_message_id: int | None
    direction: str
    status: str
    is_deleted: bool = False
    deleted_at: datetime | None = None
    error: str | None = None
    previous_texts: list[str] | None = None


class SendResult(msgspec.Struct):
    status: str
    conversation_id: UUID
    peer: PeerInfo
    message: StoredMessage
    contact: ContactInfo | None = None  # the saved contact (`save_contact`)


ContactPhone = Annotated[str, msgspec.Meta(pattern=r"^\+[0-9]{7,15}$", examples=["+15551234567"])]
ContactName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class AddContact(msgspec.Struct, forbid_unknown_fields=True):
    phone: ContactPhone
    first_name: ContactName
    last_name: Annotated[str, msgspec.Meta(max_length=64)] = ""


class ContactsOut(msgspec.Struct):
    phone: str
    items: list[ContactInfo]


class LookupOut(msgspec.Struct):
    phone: str
    peer: PeerInfo


class ReadOut(msgspec.Struct):
    phone: str
    peer: PeerInfo
    max_id: int


class ConversationOut(msgspec.Struct):
    id: UUID
    profile_id: UUID | None
    phone: str
    peer_id: int
    kind: str
    title: str | None
    username: str | None
    unread_count: int
    last_message_at: datetime | None
    last_message: StoredMessage | None = None
    can_post: bool = True  # False: a broadcast channel the profile does not admin, or a group it may not write in


class ProfileConversations(msgspec.Struct):
    phone: str
    profile_id: UUID | None
    unread_count: int
    conversations: list[ConversationOut]


class ConversationsOut(msgspec.Struct):
    profiles: list[ProfileConversations]


class MessagePage(msgspec.Struct):
    conversation: ConversationOut
    items: list[StoredMessage]
    next_cursor: str | None
