"""Basic group operations that produce updates: create, members, title, messages and reads (pins and the
upgrade to a supergroup, `messages.migrateChat`, are in `group_admin`).

A basic group's messages live in every member's own message box: each member gets a copy with an id of their
own account, and every copy consumes that member's account pts (`updateNewMessage`, `updateEditMessage`,
`updateDeleteMessages`), exactly like private messages; nothing here has a pts of its own. Service messages
(created, member added or removed, title changed, pinned, migrated) are copies too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from telethon.tl import TLObject, types

from . import entities as formatting
from . import render
from .channel_actions import ChannelActions
from .edits import check_message, checked_edit
from .rpc import RpcError
from .state import BasicGroup, GroupMember, StoredMessage, User, now

if TYPE_CHECKING:
    from .updates import LiveConnection

MAX_TITLE_LENGTH = 128
MAX_GROUP_MEMBERS = 200  # Telegram's basic group limit; bigger groups must be supergroups

ExtraUpdates = Callable[[int], list[types.TypeUpdate]]


class GroupActions(ChannelActions):
    """What users do in basic groups (channels in `ChannelActions`, private chats in `Actions`)."""

    # Membership and settings ---------------------------------------------------------------------------------
    def create_group(
        self, creator: User, title: str, invited: list[User], *, origin: LiveConnection | None = None
    ) -> types.messages.InvitedUsers:
        title = _checked_title(title)
        others = list({u.id: u for u in invited if u.id != creator.id}.values())
        if len(others) + 1 > MAX_GROUP_MEMBERS:
            raise RpcError(400, "USERS_TOO_MUCH")
        group = self.state.add_group(title, creator)
        for user in others:
            group.members[user.id] = GroupMember(inviter_id=creator.id)
        _, result = self._group_message(
            creator,
            group,
            action="chat_create",
            action_title=title,
            action_users=[creator.id, *(u.id for u in others)],
            extra=lambda viewer: [types.UpdateChatParticipants(render.participants(group, viewer))],
            origin=origin,
        )
        return types.messages.InvitedUsers(updates=result, missing_invitees=[])

    def add_group_member(
        self, actor: User, group: BasicGroup, user: User, *, origin: LiveConnection | None = None
    ) -> types.messages.InvitedUsers:
        self._writable(actor, group)
        if group.participant(user.id):
            raise RpcError(400, "USER_ALREADY_PARTICIPANT")
        if user.id in group.kicked and not self._is_admin(actor, group):
            raise RpcError(400, "USER_KICKED")
        if len(group.members) >= MAX_GROUP_MEMBERS:
            raise RpcError(400, "USERS_TOO_MUCH")
        _drop(group.left, user.id)
        _drop(group.kicked, user.id)
        group.members[user.id] = GroupMember(inviter_id=actor.id)
        group.version += 1
        joined = render.ts(group.members[user.id].joined)
        _, result = self._group_message(
            actor,
            group,
            action="chat_add_user",
            action_users=[user.id],
            extra=lambda _viewer: [types.UpdateChatParticipantAdd(group.id, user.id, actor.id, joined, group.version)],
            origin=origin,
        )
        return types.messages.InvitedUsers(updates=result, missing_invitees=[])

    def remove_group_member(
        self,
        actor: User,
        group: BasicGroup,
        user: User,
        *,
        revoke_history: bool = False,
        origin: LiveConnection | None = None,
    ) -> types.Updates:
        """A member leaves (actor == user) or is removed by an admin or whoever invited them."""
        if group.deactivated:
            raise RpcError(400, "CHAT_ID_INVALID")
        if not group.participant(user.id):
            raise RpcError(400, "USER_NOT_PARTICIPANT")
        if actor.id != user.id:
            self._writable(actor, group)
            if not self._is_admin(actor, group) and group.members[user.id].inviter_id != actor.id:
                raise RpcError(400, "CHAT_ADMIN_REQUIRED")
            if user.id == group.creator_id:
                raise RpcError(400, "CHAT_ADMIN_REQUIRED")
        recipients = list(group.members)  # the removed user gets the service message too
        del group.members[user.id]
        (group.left if actor.id == user.id else group.kicked).append(user.id)
        group.version += 1
        _, result = self._group_message(
            actor,
            group,
            action="chat_delete_user",
            action_users=[user.id],
            recipients=recipients,
            extra=lambda _viewer: [types.UpdateChatParticipantDelete(group.id, user.id, group.version)],
            origin=origin,
        )
        if revoke_history and actor.id == user.id:
            own = [m for m in user.messages.values() if m.peer_kind == "chat" and m.peer_id == group.id]
            if own:
                self._delete_group_copies(user, own, origin)
        return result

    def edit_group_title(
        self, actor: User, group: BasicGroup, title: str, *, origin: LiveConnection | None = None
    ) -> types.Updates:
        self._writable(actor, group)
        title = _checked_title(title)
        if title == group.title:
            raise RpcError(400, "CHAT_NOT_MODIFIED")
        group.title = title
        _, result = self._group_message(
            actor,
            group,
            action="chat_edit_title",
            action_title=title,
            extra=lambda _viewer: [types.UpdateChat(group.id)],
            origin=origin,
        )
        return result

    # Messages ------------------------------------------------------------------------------------------------
    def post_group(
        self,
        author: User,
        group: BasicGroup,
        text: str,
        *,
        reply_to: int | None = None,
        random_id: int | None = None,
        origin: LiveConnection | None = None,
        entities: list[TLObject] | None = None,
        media_id: int = 0,
        grouped_id: int = 0,
    ) -> tuple[int, types.Updates]:
        """Send to a basic group; returns (the author's message id, the author's RPC result)."""
        check_message(text, media_id)
        self._writable(author, group)
        stored_entities = formatting.checked(self.state, author.id, text, entities)
        return self._group_message(
            author,
            group,
            text=text,
            entities=stored_entities,
            reply_to=reply_to,
            random_id=random_id,
            origin=origin,
            media_id=media_id,
            grouped_id=grouped_id,
        )

    def edit_group_message(
        self,
        editor: User,
        group: BasicGroup,
        msg_id: int,
        text: str,
        *,
        origin: LiveConnection | None = None,
        entities: list[TLObject] | None = None,
    ) -> types.Updates:
        own = editor.messages.get(msg_id)
        own = own if own is not None and own.peer_kind == "chat" and own.peer_id == group.id else None
        authored = own is not None and own.out
        stored_entities = checked_edit(self.state, editor.id, own, text, entities, authored=authored)
        assert own is not None
        result: types.Updates | None = None
        for owner, stored in self.group_copies(group, own.group_seq):
            stored.text, stored.edit_date, stored.entities = text, now(), list(stored_entities)
            entry = owner.log.append("edit_message", ids=[stored.id], peer_id=group.id, peer_kind="chat")
            update = types.UpdateEditMessage(render.message(stored, owner.id, self.state), entry.pts, 1)
            batch = self._group_batch(group, owner.id, [update], editor)
            if owner is editor:
                result = batch
            self.hub.push(owner.id, batch, exclude=origin if owner is editor else None)
        self._changed()
        assert result is not None
        return result

    def revoke_group_copies(self, actor: User, own: list[StoredMessage]) -> None:
        """Delete for everyone: the other members' copies of `own` that `actor` may delete (theirs, or any as an
        admin); each member's deletion consumes that member's pts."""
        by_owner: dict[int, list[StoredMessage]] = {}
        for stored in own:
            group = self.state.groups.get(stored.peer_id)
            if group is None or not (stored.out or self._is_admin(actor, group)):
                continue
            for owner, copy in self.group_copies(group, stored.group_seq):
                if owner.id != actor.id:
                    by_owner.setdefault(owner.id, []).append(copy)
        for owner_id, copies in by_owner.items():
            self._delete_group_copies(self.state.users[owner_id], copies, None)

    def _delete_group_copies(
        self, owner: User, copies: list[StoredMessage], origin: LiveConnection | None
    ) -> types.messages.AffectedMessages:
        ids = [m.id for m in copies]
        for stored in copies:
            owner.messages.pop(stored.id, None)
        entry = owner.log.append("delete_messages", pts_count=len(ids), ids=ids)
        update = types.UpdateShort(types.UpdateDeleteMessages(ids, entry.pts, entry.pts_count), render.ts(now()))
        self.hub.push(owner.id, update, exclude=origin)
        self._changed()
        return types.messages.AffectedMessages(pts=entry.pts, pts_count=entry.pts_count)

    def read_group(
        self, reader: User, group: BasicGroup, max_id: int, *, origin: LiveConnection | None = None
    ) -> types.messages.AffectedMessages:
        incoming = [
            m for m in reader.messages.values() if m.peer_kind == "chat" and m.peer_id == group.id and not m.out
        ]
        top = max((m.id for m in incoming), default=0)
        max_id = top if max_id <= 0 else min(max_id, top)
        if max_id <= group.read_inbox.get(reader.id, 0):
            return types.messages.AffectedMessages(pts=reader.log.pts, pts_count=0)
        group.read_inbox[reader.id] = max_id
        entry = reader.log.append("read_inbox", peer_id=group.id, peer_kind="chat", max_id=max_id)
        update = types.UpdateReadHistoryInbox(types.PeerChat(group.id), max_id, 0, entry.pts, 1)
        self.hub.push(reader.id, self._group_batch(group, reader.id, [update], reader), exclude=origin)
        # Each sender learns up to which of its own copies someone has read.
        by_sender: dict[int, int] = {}
        for stored in incoming:
            if stored.id > max_id or stored.action:
                continue
            sender_copy = group.copies.get(stored.group_seq, {}).get(stored.from_id)
            if sender_copy is not None:
                by_sender[stored.from_id] = max(by_sender.get(stored.from_id, 0), sender_copy)
        for sender_id, outbox_max in by_sender.items():
            sender = self.state.users.get(sender_id)
            if sender is None or outbox_max <= group.read_outbox.get(sender_id, 0):
                continue
            group.read_outbox[sender_id] = outbox_max
            sender_entry = sender.log.append("read_outbox", peer_id=group.id, peer_kind="chat", max_id=outbox_max)
            outbox = types.UpdateReadHistoryOutbox(types.PeerChat(group.id), outbox_max, sender_entry.pts, 1)
            self.hub.push(sender_id, self._group_batch(group, sender_id, [outbox], reader))
        self._changed()
        return types.messages.AffectedMessages(pts=entry.pts, pts_count=1)

    # Helpers -------------------------------------------------------------------------------------------------
    def group_copies(self, group: BasicGroup, seq: int) -> list[tuple[User, StoredMessage]]:
        """Every member's (and former member's) copy of group message `seq` that still exists."""
        found = []
        for owner_id, msg_id in group.copies.get(seq, {}).items():
            owner = self.state.users.get(owner_id)
            stored = owner.messages.get(msg_id) if owner is not None else None
            if owner is not None and stored is not None:
                found.append((owner, stored))
        return found

    def _group_message(
        self,
        author: User,
        group: BasicGroup,
        *,
        text: str = "",
        entities: list[bytes] | None = None,
        reply_to: int | None = None,
        random_id: int | None = None,
        recipients: list[int] | None = None,
        extra: ExtraUpdates | None = None,
        extra_first: bool = False,
        with_channel: int = 0,
        origin: LiveConnection | None = None,
        **action: Any,
    ) -> tuple[int, types.Updates]:
        """Store one copy per recipient (the members by default), each on its owner's pts, and push it.

        `reply_to` is a message id in the author's box; each copy replies to the recipient's copy of it.
        Returns (the author's message id, the author's RPC result).
        """
        seq = group.allocate_seq()
        date = now()
        target = author.messages.get(reply_to) if reply_to else None
        target_seq = target.group_seq if target is not None and target.peer_id == group.id else 0
        copies: dict[int, int] = {}
        result: types.Updates | None = None
        own_id = 0
        for member_id in recipients if recipients is not None else list(group.members):
            owner = self.state.users[member_id]
            stored = StoredMessage(
                id=owner.allocate_message_id(),
                peer_kind="chat",
                peer_id=group.id,
                from_id=author.id,
                date=date,
                text=text,
                out=member_id == author.id,
                reply_to=group.copies.get(target_seq, {}).get(member_id) if target_seq else None,
                entities=list(entities or []),
                group_seq=seq,
                **action,
            )
            owner.messages[stored.id] = stored
            copies[member_id] = stored.id
            entry = owner.log.append("new_message", ids=[stored.id], peer_id=group.id, peer_kind="chat")
            new = types.UpdateNewMessage(render.message(stored, member_id, self.state), entry.pts, 1)
            more = extra(member_id) if extra is not None else []
            update_list = [*more, new] if extra_first else [new, *more]
            batch = self._group_batch(group, member_id, update_list, author, stored, with_channel)
            if member_id == author.id:
                own_id = stored.id
                head = [types.UpdateMessageID(stored.id, random_id)] if random_id is not None else []
                result = self._group_batch(group, member_id, [*head, *update_list], author, stored, with_channel)
                self.hub.push(member_id, batch, exclude=origin)
            else:
                self.hub.push(member_id, batch)
        group.copies[seq] = copies
        self._changed()
        assert result is not None, "the author is always a recipient"
        return own_id, result

    def _group_batch(
        self,
        group: BasicGroup,
        viewer_id: int,
        update_list: list[types.TypeUpdate],
        actor: User,
        stored: StoredMessage | None = None,
        with_channel: int = 0,
    ) -> types.Updates:
        user_ids = {actor.id, viewer_id, *(stored.action_users if stored else ())}
        channels = {with_channel} if with_channel else set()
        users, chats = render.entities_for(self.state, viewer_id, user_ids, channels, {group.id})
        return render.updates(update_list, users, chats)

    def _writable(self, user: User, group: BasicGroup) -> None:
        """Only a current member of a group that was not upgraded may write to it or change it."""
        if group.deactivated:
            raise RpcError(400, "CHAT_ID_INVALID")
        if not group.participant(user.id):
            raise RpcError(403, "CHAT_WRITE_FORBIDDEN")

    @staticmethod
    def _is_admin(user: User, group: BasicGroup) -> bool:
        member = group.members.get(user.id)
        return user.id == group.creator_id or (member is not None and member.admin)


def _checked_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise RpcError(400, "CHAT_TITLE_EMPTY")
    return title[:MAX_TITLE_LENGTH]


def _drop(items: list[int], value: int) -> None:
    if value in items:
        items.remove(value)
