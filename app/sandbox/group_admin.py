"""Basic group operations only an admin or the creator does: pins and the upgrade to a supergroup (see
`group_actions` for members and messages; a basic group's messages are copies in every member's own box)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telethon.tl import types

from . import render
from .group_actions import GroupActions
from .rpc import RpcError
from .state import BasicGroup, ChannelMember, StoredMessage, User, now

if TYPE_CHECKING:
    from .updates import LiveConnection


class GroupAdminActions(GroupActions):
    """Pins and `messages.migrateChat` (`Actions` inherits these)."""

    def pin_group_message(
        self,
        actor: User,
        group: BasicGroup,
        msg_id: int,
        *,
        unpin: bool = False,
        origin: LiveConnection | None = None,
    ) -> types.Updates:
        """messages.updatePinnedMessage in a basic group: every member's copy is (un)pinned in their own box; a
        pin also posts the "pinned" service message, which replies to the pinned copy."""
        self._writable(actor, group)
        own = actor.messages.get(msg_id)
        if own is None or own.peer_kind != "chat" or own.peer_id != group.id or own.action:
            raise RpcError(400, "MESSAGE_ID_INVALID")
        copies = {owner.id: stored.id for owner, stored in self.group_copies(group, own.group_seq)}
        pinned: dict[int, types.UpdatePinnedMessages] = {}
        for member_id in list(group.members):
            copy = copies.get(member_id)
            if copy is None:
                continue
            owner = self.state.users[member_id]
            if unpin:
                group.pinned.pop(member_id, None)
            else:
                group.pinned[member_id] = copy
            entry = owner.log.append(
                "unpinned_messages" if unpin else "pinned_messages", ids=[copy], peer_id=group.id, peer_kind="chat"
            )
            pinned[member_id] = types.UpdatePinnedMessages(
                types.PeerChat(group.id), [copy], entry.pts, 1, pinned=not unpin
            )
        if unpin:
            result: types.Updates | None = None
            for member_id, update in pinned.items():
                batch = self._group_batch(group, member_id, [update], actor)
                result = batch if member_id == actor.id else result
                self.hub.push(member_id, batch, exclude=origin if member_id == actor.id else None)
            self._changed()
            return result or self._group_batch(group, actor.id, [], actor)
        _, result = self._group_message(
            actor,
            group,
            action="pin",
            reply_to=msg_id,
            extra=lambda viewer: [pinned[viewer]] if viewer in pinned else [],
            extra_first=True,
            origin=origin,
        )
        return result

    # Migration -----------------------------------------------------------------------------------------------
    def migrate_group(self, actor: User, group: BasicGroup, *, origin: LiveConnection | None = None) -> types.Updates:
        """messages.migrateChat: the creator upgrades the group to a supergroup with the same members.

        The group is deactivated (`Chat.deactivated`, `migrated_to`) and gets a last service message,
        messageActionChatMigrateTo, in every member's box; the supergroup starts with messageActionChannelMigrateFrom
        (its message 1, on its own pts). Every member gets both in one `Updates`, with the group and the channel.
        """
        if group.deactivated:
            raise RpcError(400, "CHAT_ID_INVALID")
        if actor.id != group.creator_id:
            raise RpcError(400, "CHAT_ADMIN_REQUIRED")
        channel = self.state.add_channel(group.title, actor, username=None, broadcast=False, private=True)
        channel.migrated_from = group.id
        for member_id, member in group.members.items():
            channel.members.setdefault(member_id, ChannelMember(admin=member.admin))
        group.migrated_to = channel.id
        first = StoredMessage(
            id=channel.allocate_message_id(),
            peer_kind="channel",
            peer_id=channel.id,
            from_id=actor.id,
            date=now(),
            text="",
            action="channel_migrate_from",
            action_title=group.title,
            action_peer=group.id,
        )
        channel.messages[first.id] = first
        channel_entry = channel.log.append("new_message", ids=[first.id])

        def extra(viewer: int) -> list[types.TypeUpdate]:
            message = render.message(first, viewer, self.state)
            return [types.UpdateChannel(channel.id), types.UpdateNewChannelMessage(message, channel_entry.pts, 1)]

        _, result = self._group_message(
            actor,
            group,
            action="chat_migrate_to",
            action_peer=channel.id,
            extra=extra,
            with_channel=channel.id,
            origin=origin,
        )
        return result
