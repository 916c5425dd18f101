"""Channel operations that produce updates: posts, edits, deletions, reads, joins and leaves (see `actions`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telethon.tl import TLObject, types

from . import entities as formatting
from . import render
from .edits import check_message, checked_edit
from .rpc import RpcError
from .state import (
    MAX_CHANNELS_PER_USER,
    Channel,
    ChannelMember,
    InviteLink,
    StoredMessage,
    User,
    now,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .server import SandboxDC
    from .updates import LiveConnection


class ChannelActions:
    """What a user does in channels and supergroups; `Actions` adds private chats on the same state."""

    def __init__(self, dc: SandboxDC) -> None:
        self.dc = dc
        self.state = dc.state
        self.hub = dc.hub

    def _changed(self) -> None:
        self.dc.mark_dirty()

    def post(
        self,
        author: User,
        channel: Channel,
        text: str,
        *,
        reply_to: int | None = None,
        random_id: int | None = None,
        origin: LiveConnection | None = None,
        entities: list[TLObject] | None = None,
        media_id: int = 0,
        grouped_id: int = 0,
    ) -> tuple[int, TLObject]:
        check_message(text, media_id)
        stored_entities = formatting.checked(self.state, author.id, text, entities)
        member = channel.members.get(author.id)
        if member is None:
            raise RpcError(400, "CHANNEL_PRIVATE" if channel.private else "CHAT_WRITE_FORBIDDEN")
        if channel.broadcast and not member.admin:
            raise RpcError(403, "CHAT_WRITE_FORBIDDEN")
        if channel.slowmode_seconds and not member.admin:
            wait = member.last_post + channel.slowmode_seconds - now()
            if wait > 0:
                raise RpcError(420, f"SLOWMODE_WAIT_{wait}")
        member.last_post = now()
        stored = StoredMessage(
            id=channel.allocate_message_id(),
            peer_kind="channel",
            peer_id=channel.id,
            from_id=author.id,
            date=now(),
            text=text,
            reply_to=reply_to if reply_to in channel.messages else None,
            entities=stored_entities,
            media_id=media_id,
            grouped_id=grouped_id,
        )
        channel.messages[stored.id] = stored
        entry = channel.log.append("new_message", ids=[stored.id])
        result: TLObject | None = None
        for member_id in list(channel.members):
            update = types.UpdateNewChannelMessage(render.message(stored, member_id, self.state), entry.pts, 1)
            batch = self._channel_batch(channel, member_id, [update], author)
            if member_id == author.id:
                head = [types.UpdateMessageID(stored.id, random_id)] if random_id is not None else []
                result = self._channel_batch(channel, member_id, [*head, update], author)
                self.hub.push(member_id, batch, exclude=origin)
            else:
                self.hub.push(member_id, batch)
        self._changed()
        assert result is not None
        return stored.id, result

    def edit_channel_message(
        self,
        editor: User,
        channel: Channel,
        msg_id: int,
        text: str,
        *,
        origin: LiveConnection | None = None,
        entities: list[TLObject] | None = None,
    ) -> TLObject:
        stored = channel.messages.get(msg_id)
        member = channel.members.get(editor.id)
        stored_entities = checked_edit(
            self.state,
            editor.id,
            stored,
            text,
            entities,
            authored=stored is not None and stored.from_id == editor.id,
            may_edit_others=channel.broadcast and member is not None and member.admin,
            time_limited=channel.megagroup,
        )
        assert stored is not None
        stored.text, stored.edit_date, stored.entities = text, now(), stored_entities
        entry = channel.log.append("edit_message", ids=[msg_id])
        result = self._fan_out_channel(
            channel,
            editor,
            lambda viewer: types.UpdateEditChannelMessage(render.message(stored, viewer, self.state), entry.pts, 1),
            origin,
        )
        self._changed()
        return result

    def delete_channel_messages(
        self, actor: User, channel: Channel, msg_ids: list[int], *, origin: LiveConnection | None = None
    ) -> types.messages.AffectedMessages:
        member = channel.members.get(actor.id)
        ids = [i for i in dict.fromkeys(msg_ids) if i in channel.messages]
        ids = [i for i in ids if channel.messages[i].from_id == actor.id or (member and member.admin)]
        if not ids:
            return types.messages.AffectedMessages(pts=channel.log.pts, pts_count=0)
        for msg_id in ids:
            del channel.messages[msg_id]
        entry = channel.log.append("delete_messages", pts_count=len(ids), ids=ids)
        self._fan_out_channel(
            channel,
            actor,
            lambda _viewer: types.UpdateDeleteChannelMessages(channel.id, ids, entry.pts, entry.pts_count),
            origin,
        )
        self._changed()
        return types.messages.AffectedMessages(pts=entry.pts, pts_count=entry.pts_count)

    def read_channel(self, reader: User, channel: Channel, max_id: int) -> bool:
        member = channel.members.get(reader.id)
        if member is None:
            raise RpcError(400, "CHANNEL_PRIVATE")
        top = max(channel.messages, default=0)
        max_id = top if max_id <= 0 else min(max_id, top)
        if max_id > member.read_inbox_max_id:
            member.read_inbox_max_id = max_id
            self._changed()
        return True

    def join(
        self,
        user: User,
        channel: Channel,
        *,
        invite: InviteLink | None = None,
        origin: LiveConnection | None = None,
    ) -> types.Updates:
        """Join a public channel, or any channel through one of its invite links (private ones only that way)."""
        if user.id not in channel.members:
            # Banned from it or deleted: never; private: only through an invite link.
            if channel.deleted or user.id in channel.banned or (channel.private and invite is None):
                raise RpcError(400, "CHANNEL_PRIVATE")
            if len(self.state.channels_of(user.id)) >= MAX_CHANNELS_PER_USER:
                raise RpcError(400, "CHANNELS_TOO_MUCH")
            channel.members[user.id] = ChannelMember(read_inbox_max_id=max(channel.messages, default=0))
            channel.join_requests.pop(user.id, None)
            if invite is not None:
                invite.usage += 1
            self._changed()
        batch = render.updates([types.UpdateChannel(channel.id)], [], [render.channel(channel, user.id)])
        self.hub.push(user.id, batch, exclude=origin)
        return batch

    def request_join(self, user: User, channel: Channel) -> None:
        """An invite that needs approval: the request waits for an admin (Telegram: INVITE_REQUEST_SENT)."""
        channel.join_requests.setdefault(user.id, now())
        self._changed()

    def settle_join_request(self, user: User, channel: Channel, *, approved: bool) -> types.Updates:
        """An admin approves or dismisses a pending request; approval makes the user a member and tells them."""
        if channel.join_requests.pop(user.id, None) is None:
            raise RpcError(400, "HIDE_REQUESTER_MISSING")
        self._changed()
        if approved and user.id not in channel.members:
            channel.members[user.id] = ChannelMember(read_inbox_max_id=max(channel.messages, default=0))
            self.hub.push(
                user.id, render.updates([types.UpdateChannel(channel.id)], [], [render.channel(channel, user.id)])
            )
        return render.updates([], [], [])

    def leave(self, user: User, channel: Channel, *, origin: LiveConnection | None = None) -> TLObject:
        if user.id not in channel.members:
            raise RpcError(400, "USER_NOT_PARTICIPANT")
        if user.id == channel.creator_id:
            raise RpcError(400, "CHANNEL_ADMIN_REQUIRED")
        del channel.members[user.id]
        self._changed()
        batch = render.updates([types.UpdateChannel(channel.id)], [], [render.channel(channel, user.id)])
        self.hub.push(user.id, batch, exclude=origin)
        return batch

    def remove_member(self, channel: Channel, user: User, *, ban: bool) -> None:
        """An admin removes `user` (a kick; with `ban`, they may not come back and see channelForbidden).

        Like Telegram, the removed user's clients get updateChannel with the channel as they may see it now.
        """
        channel.members.pop(user.id, None)
        if ban and user.id not in channel.banned:
            channel.banned.append(user.id)
        self._changed()
        self.hub.push(user.id, render.updates([types.UpdateChannel(channel.id)], [], [render.chat(channel, user.id)]))

    def delete_channel(self, channel: Channel) -> None:
        """The creator deletes the channel: every member gets updateChannel with channelForbidden."""
        channel.deleted = True
        members, channel.members = list(channel.members), {}
        self._changed()
        for member_id in members:
            batch = render.updates([types.UpdateChannel(channel.id)], [], [render.chat(channel, member_id)])
            self.hub.push(member_id, batch)

    def _channel_batch(
        self, channel: Channel, viewer_id: int, updates: list[types.TypeUpdate], author: User
    ) -> types.Updates:
        # The Channel (with access_hash) must ride along or the client cannot call getChannelDifference later.
        users = [render.user(author, self.state.users[viewer_id])]
        return render.updates(updates, users, [render.channel(channel, viewer_id)])

    def _fan_out_channel(
        self,
        channel: Channel,
        actor: User,
        make_update: Callable[[int], types.TypeUpdate],
        origin: LiveConnection | None,
    ) -> TLObject:
        result: TLObject | None = None
        for member_id in list(channel.members):
            batch = self._channel_batch(channel, member_id, [make_update(member_id)], actor)
            if member_id == actor.id:
                result = batch
                self.hub.push(member_id, batch, exclude=origin)
            else:
                self.hub.push(member_id, batch)
        if result is None:
            result = self._channel_batch(channel, actor.id, [make_update(actor.id)], actor)
        return result
