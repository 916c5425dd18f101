"""HTTP endpoints: dialogs, unread, history, send, read (`/messages`) and the stored inbox (`/conversations`)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from app.db.engine import DbSession, release_connection
from app.db.models import TelegramProfile
from app.domain.accounts.current_user import AuthRequest
from app.domain.messages import inbox, media, own_messages, receivers, send_rules, services
from app.domain.messages.deps import LiveMessages, StoredConversations
from app.domain.messages.schemas import (
    CURSOR_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    OFFSET_MAX,
    PAGE_MAX,
    PEER_MAX_LENGTH,
    ConversationsOut,
    DialogsOut,
    DialogsQuery,
    EditMessage,
    HistoryOut,
    MessagePage,
    ReadMessages,
    ReadOut,
    Reply,
    SendMessage,
    SendResult,
    StoredMessage,
    UnreadOut,
    UnreadQuery,
)
from app.domain.profiles import services as profiles

# The same bounds as the JSON bodies' (schemas), so query and body forms of a request accept the same values.
LimitParam = Annotated[int, Parameter(ge=1, le=PAGE_MAX)]
OffsetParam = Annotated[int, Parameter(ge=0, le=OFFSET_MAX)]
PeerParam = Annotated[str, Parameter(min_length=1, max_length=PEER_MAX_LENGTH)]
CursorParam = Annotated[str | None, Parameter(max_length=CURSOR_MAX_LENGTH, description="next_cursor of the last page")]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", required=False, min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
]


async def live_profile(db_session: DbSession, owner_id: UUID, phone: str) -> TelegramProfile:
    """The caller's active profile; the request then holds no DB connection while it waits on Telegram."""
    profile = await profiles.get_owned(db_session, owner_id, phone)
    send_rules.require_live(profile)
    await release_connection(db_session)
    return profile


def _sent(result: SendResult, replayed: bool) -> Response[SendResult]:
    return Response(result, status_code=HTTP_200_OK, headers={"Idempotent-Replayed": "true"} if replayed else None)


class MessagesController(Controller):
    path = "/messages"
    tags = ["messages"]

    async def _dialogs(
        self, live: LiveMessages, db_session: DbSession, owner_id: UUID, query: DialogsQuery
    ) -> DialogsOut:
        profile = await live_profile(db_session, owner_id, query.phone)
        page = await live.commands.dialogs(profile.id, limit=query.limit, offset=query.offset)
        return DialogsOut(profile.phone, page.items, page.total, page.offset, page.limit)

    @get("/dialogs")
    async def dialogs(
        self,
        phone: str,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        limit: LimitParam = 50,
        offset: OffsetParam = 0,
    ) -> DialogsOut:
        """The profile's dialogs from Telegram (chats, groups, channels) with unread counts, paginated."""
        return await self._dialogs(live_messages, db_session, request.user.id, DialogsQuery(phone, limit, offset))

    @post("/dialogs", status_code=HTTP_200_OK)
    async def dialogs_post(
        self,
        data: JSONBody[DialogsQuery],
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> DialogsOut:
        """Same as `GET /messages/dialogs`, with the parameters in the body."""
        return await self._dialogs(live_messages, db_session, request.user.id, data)

    async def _unread(self, live: LiveMessages, db_session: DbSession, owner_id: UUID, phone: str) -> UnreadOut:
        profile = await live_profile(db_session, owner_id, phone)
        dialogs = await live.commands.unread(profile.id, per_dialog=live.unread_per_dialog)
        return UnreadOut(profile.phone, dialogs, sum(d.dialog.unread_count for d in dialogs))

    @get("/unread")
    async def unread(
        self, phone: str, request: AuthRequest, live_messages: NamedDependency[LiveMessages], db_session: DbSession
    ) -> UnreadOut:
        """Every dialog with unread messages and those messages (bounded per dialog); nothing is marked read."""
        return await self._unread(live_messages, db_session, request.user.id, phone)

    @post("/unread", status_code=HTTP_200_OK)
    async def unread_post(
        self,
        data: JSONBody[UnreadQuery],
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> UnreadOut:
        """Same as `GET /messages/unread`, with the phone in the body."""
        return await self._unread(live_messages, db_session, request.user.id, data.phone)

    @post("/send", status_code=HTTP_200_OK)
    async def send(
        self,
        data: JSONBody[SendMessage],
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[SendResult]:
        """Send a text to `tg_receiver` (numeric id, @username, +phone, t.me/username or t.me/+phone) as the profile.

        A +phone reaches an account that is not a contact when its privacy lets the profile find it (else 404
        `peer_not_found`); `save_contact` also saves the number as a contact once sent.

        With an `Idempotency-Key` header a retried request sends once and answers the first result.
        """
        outgoing = send_rules.outgoing(
            data.text,
            reply_to=data.reply_to,
            silent=data.silent,
            parse_mode=data.parse_mode,
            entities=data.entities,
            idempotency_key=idempotency_key,
        )
        profile = await live_profile(db_session, request.user.id, data.phone)
        result, replayed = await receivers.send(
            live_messages, profile, data.tg_receiver, outgoing, save_contact=data.save_contact
        )
        return _sent(result, replayed)

    @get("/history")
    async def history(
        self,
        phone: str,
        peer: PeerParam,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        limit: LimitParam = 50,
        before_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
    ) -> HistoryOut:
        """Messages with a peer from Telegram, newest first; `before_id` pages to older ones."""
        profile = await live_profile(db_session, request.user.id, phone)
        info, messages = await live_messages.commands.history(profile.id, peer, limit=limit, before_id=before_id)
        next_before = messages[-1].id if len(messages) == limit else None
        return HistoryOut(profile.phone, info, messages, next_before)

    @post("/read", status_code=HTTP_200_OK)
    async def read(
        self,
        data: ReadMessages,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> ReadOut:
        """Mark a peer's messages read up to `max_id` (default: all)."""
        profile = await live_profile(db_session, request.user.id, data.phone)
        result = await live_messages.commands.read(profile.id, data.peer, max_id=data.max_id)
        await services.mark_read(db_session, profile.id, result.peer.peer_id)
        return ReadOut(profile.phone, result.peer, result.max_id)


class ConversationsController(Controller):
    path = "/conversations"
    tags = ["inbox"]

    @get("/")
    async def list_conversations(
        self, request: AuthRequest, stored_conversations: NamedDependency[StoredConversations], phone: str | None = None
    ) -> ConversationsOut:
        """Stored conversations grouped by profile, newest first, with unread counts."""
        owner_id = request.user.id

        async def read() -> ConversationsOut:
            # A session of its own, only when the listing is not kept: a kept answer needs no request session
            # (and none of its commit).
            async with stored_conversations.sessionmaker() as session:
                return await inbox.list_conversations(session, owner_id, phone)

        return await stored_conversations.listings.get(owner_id, phone, read)

    @get("/{conversation_id:uuid}/messages")
    async def messages(
        self,
        conversation_id: UUID,
        request: AuthRequest,
        db_session: DbSession,
        cursor: CursorParam = None,
        limit: LimitParam = 50,
        include_deleted: bool = True,
    ) -> MessagePage:
        """A conversation's stored messages (incoming and outgoing, with status), newest first."""
        chat = await inbox.get_conversation(db_session, request.user.id, conversation_id)
        return await inbox.page_messages(db_session, chat, cursor=cursor, limit=limit, include_deleted=include_deleted)

    @get("/{conversation_id:uuid}/messages/{message_id:uuid}/media")
    async def media(
        self,
        conversation_id: UUID,
        message_id: UUID,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        byte_range: media.RangeHeader = None,
    ) -> Stream:
        """The message's file, streamed from Telegram by the profile whose copy it is (`Range` supported)."""
        target = await media.conversation_target(db_session, request.user.id, conversation_id, message_id)
        await release_connection(db_session)
        return await media.stream(live_messages.commands, target, byte_range, live_messages.media_download_max_bytes)

    @post("/{conversation_id:uuid}/reply", status_code=HTTP_200_OK)
    async def reply(
        self,
        conversation_id: UUID,
        data: JSONBody[Reply],
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[SendResult]:
        """Reply in a conversation, sent by the profile that owns it."""
        outgoing = send_rules.outgoing(
            data.text,
            reply_to=data.reply_to,
            silent=data.silent,
            parse_mode=data.parse_mode,
            entities=data.entities,
            idempotency_key=idempotency_key,
        )
        chat = await inbox.get_conversation(db_session, request.user.id, conversation_id)
        profile = await inbox.owning_profile(db_session, chat)
        send_rules.require_live(profile)
        await release_connection(db_session)
        result, replayed = await live_messages.sender.send(profile, send_rules.peer_of(chat), outgoing)
        return _sent(result, replayed)

    @patch("/{conversation_id:uuid}/messages/{message_id:uuid}")
    async def edit_message(
        self,
        conversation_id: UUID,
        message_id: UUID,
        data: JSONBody[EditMessage],
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> StoredMessage:
        """Edit one of the profile's sent messages at Telegram; stored with its previous text, `message.edited`."""
        return await own_messages.edit(
            db_session, live_messages.commands, request.user.id, conversation_id, message_id, data.text
        )

    @delete("/{conversation_id:uuid}/messages/{message_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_message(
        self,
        conversation_id: UUID,
        message_id: UUID,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        revoke: bool = True,
    ) -> None:
        """Delete a message at Telegram (`revoke`: for everyone); kept here as deleted, `message.deleted`."""
        await own_messages.delete(
            db_session, live_messages.commands, request.user.id, conversation_id, message_id, revoke=revoke
        )
