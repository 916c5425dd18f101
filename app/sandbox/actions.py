"""State changes that produce updates: the one code path shared by RPC handlers and the control API.

Each action mutates the state, logs every pts step, pushes updates to the live connections that did not ask for
the change, and returns what the asking connection (if any) gets as its RPC result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telethon.tl import TLObject, types

from . import entities as formatting
from . import render
from .edits import check_message, checked_edit
from .group_admin import GroupAdminActions
from .rpc import RpcError
from .state import (
    PrivateDialog,
    StoredMessage,
    User,
    now,
)

if TYPE_CHECKING:
    from .updates import LiveConnection


class Actions(GroupAdminActions):
    """Messaging operations performed by a user: private chats here, basic groups in `GroupActions` and
    `GroupAdminActions`, channels in `ChannelActions`."""

    # Private messages --------------------------------------------------------------------------------------
    def send_private(
        self,
        sender: User,
        recipient: User,
        text: str,
        *,
        reply_to: int | None = None,
        origin: LiveConnection | None = None,
        lose_update: bool = False,
        entities: list[TLObject] | None = None,
        media_id: int = 0,
        grouped_id: int = 0,
        random_id: int | None = None,
    ) -> tuple[int, TLObject]:
        """Store one copy per participant; returns (sender's message id, the sender's RPC result).

        `lose_update` stores both copies without logging or pushing their updates: a silent gap that only reading
        the history reveals (what the service's reconciler and its check of interrupted sends are for).
        """
        check_message(text, media_id)
        _check_recipient(sender, recipient)
        stored_entities = formatting.checked(self.state, sender.id, text, entities)
        date = now()
        own = StoredMessage(
            id=sender.allocate_message_id(),
            peer_kind="user",
            peer_id=recipient.id,
            from_id=sender.id,
            date=date,
            text=text,
            out=True,
            reply_to=reply_to,
            entities=stored_entities,
            media_id=media_id,
            grouped_id=grouped_id,
        )
        sender.messages[own.id] = own
        sender.dialogs.setdefault(recipient.id, _new_dialog())
        own_pts = sender.log.pts
        own_update: TLObject | None = None
        users = [render.user(sender, sender), render.user(recipient, sender)]
        if not lose_update:
            own_entry = sender.log.append("new_message", ids=[own.id], peer_id=recipient.id)
            own_pts = own_entry.pts
            own_update = types.UpdateNewMessage(render.message(own, sender.id, self.state), own_entry.pts, 1)
            self.hub.push(sender.id, render.updates([own_update], users), exclude=origin)

        if recipient.id != sender.id:
            theirs = StoredMessage(
                id=recipient.allocate_message_id(),
                peer_kind="user",
                peer_id=sender.id,
                from_id=sender.id,
                date=date,
                text=text,
                out=False,
                entities=list(stored_entities),
                reply_to=_twin_reply(sender, recipient, reply_to),
                twin_owner=sender.id,
                media_id=media_id,
                grouped_id=grouped_id,
            )
            theirs.twin_id = own.id
            own.twin_owner, own.twin_id = recipient.id, theirs.id
            recipient.messages[theirs.id] = theirs
            recipient.dialogs.setdefault(sender.id, _new_dialog())
            if not lose_update:
                entry = recipient.log.append("new_message", ids=[theirs.id], peer_id=sender.id)
                their_users = [render.user(sender, recipient), render.user(recipient, recipient)]
                update = types.UpdateNewMessage(render.message(theirs, recipient.id, self.state), entry.pts, 1)
                self.hub.push(recipient.id, render.updates([update], their_users))
        self._changed()
        pts_count = 0 if lose_update else 1
        if media_id and own_update is not None:  # a media message: Telegram answers the whole message
            head = [types.UpdateMessageID(own.id, random_id)] if random_id is not None else []
            return own.id, render.updates([*head, own_update], users)
        result = types.UpdateShortSentMessage(
            id=own.id,
            pts=own_pts,
            pts_count=pts_count,
            date=render.ts(date),
            out=True,
            entities=formatting.rendered(own.entities),
        )
        return own.id, result

    def edit_private(
        self,
        editor: User,
        msg_id: int,
        text: str,
        *,
        origin: LiveConnection | None = None,
        entities: list[TLObject] | None = None,
    ) -> TLObject:
        own = editor.messages.get(msg_id)
        own = own if own is not None and own.peer_kind == "user" else None
        authored = own is not None and own.out
        stored_entities = checked_edit(self.state, editor.id, own, text, entities, authored=authored)
        assert own is not None
        result: TLObject | None = None
        for owner, stored in self._copies(editor, own):
            stored.text, stored.edit_date, stored.entities = text, now(), list(stored_entities)
            entry = owner.log.append("edit_message", ids=[stored.id], peer_id=stored.peer_id)
            update = types.UpdateEditMessage(render.message(stored, owner.id, self.state), entry.pts, 1)
            users = [render.user(editor, owner), render.user(self.state.users[stored.peer_id], owner)]
            batch = render.updates([update], users)
            if owner is editor:
                result = batch
                self.hub.push(owner.id, batch, exclude=origin)
            else:
                self.hub.push(owner.id, batch)
        self._changed()
        assert result is not None
        return result

    def delete_private(
        self, actor: User, msg_ids: list[int], *, revoke: bool, origin: LiveConnection | None = None
    ) -> types.messages.AffectedMessages:
        """messages.deleteMessages: ids of the actor's own box, private and basic group messages alike."""
        own = [actor.messages[i] for i in dict.fromkeys(msg_ids) if i in actor.messages]
        in_groups = [m for m in own if m.peer_kind == "chat"]
        own = [m for m in own if m.peer_kind == "user"]
        if not own and not in_groups:
            return types.messages.AffectedMessages(pts=actor.log.pts, pts_count=0)
        affected = self._delete_copies(actor, own + in_groups, origin)
        if revoke:
            self.revoke_group_copies(actor, in_groups)
            by_owner: dict[int, list[StoredMessage]] = {}
            for stored in own:
                twin_owner = self.state.users.get(stored.twin_owner)
                if twin_owner is not None and stored.twin_id in twin_owner.messages:
                    by_owner.setdefault(twin_owner.id, []).append(twin_owner.messages[stored.twin_id])
            for owner_id, copies in by_owner.items():
                self._delete_copies(self.state.users[owner_id], copies, None)
        self._changed()
        return affected

    def _delete_copies(
        self, owner: User, copies: list[StoredMessage], origin: LiveConnection | None
    ) -> types.messages.AffectedMessages:
        ids = [m.id for m in copies]
        for msg_id in ids:
            owner.messages.pop(msg_id, None)
        entry = owner.log.append("delete_messages", pts_count=len(ids), ids=ids)
        update = types.UpdateShort(types.UpdateDeleteMessages(ids, entry.pts, entry.pts_count), render.ts(now()))
        self.hub.push(owner.id, update, exclude=origin)
        return types.messages.AffectedMessages(pts=entry.pts, pts_count=entry.pts_count)

    def read_private(
        self, reader: User, peer: User, max_id: int, *, origin: LiveConnection | None = None
    ) -> types.messages.AffectedMessages:
        incoming = [m for m in reader.messages.values() if m.peer_kind == "user" and m.peer_id == peer.id]
        top = max((m.id for m in incoming if not m.out), default=0)
        max_id = top if max_id <= 0 else min(max_id, top)
        dialog = reader.dialogs.setdefault(peer.id, _new_dialog())
        if max_id <= dialog.read_inbox_max_id:
            return types.messages.AffectedMessages(pts=reader.log.pts, pts_count=0)
        dialog.read_inbox_max_id = max_id
        entry = reader.log.append("read_inbox", peer_id=peer.id, max_id=max_id)
        update = types.UpdateReadHistoryInbox(types.PeerUser(peer.id), max_id, 0, entry.pts, 1)
        self.hub.push(reader.id, render.updates([update], [render.user(peer, reader)]), exclude=origin)
        # The sender learns up to which of *its own* message ids the reader has read.
        twins = [m.twin_id for m in incoming if not m.out and m.id <= max_id and m.twin_owner == peer.id]
        if twins and peer.id != reader.id:
            outbox_max = max(twins)
            peer_dialog = peer.dialogs.setdefault(reader.id, _new_dialog())
            if outbox_max > peer_dialog.read_outbox_max_id:
                peer_dialog.read_outbox_max_id = outbox_max
                peer_entry = peer.log.append("read_outbox", peer_id=reader.id, max_id=outbox_max)
                outbox = types.UpdateReadHistoryOutbox(types.PeerUser(reader.id), outbox_max, peer_entry.pts, 1)
                self.hub.push(peer.id, render.updates([outbox], [render.user(reader, peer)]))
        self._changed()
        return types.messages.AffectedMessages(pts=entry.pts, pts_count=1)

    def _copies(self, owner: User, stored: StoredMessage) -> list[tuple[User, StoredMessage]]:
        copies = [(owner, stored)]
        twin_owner = self.state.users.get(stored.twin_owner)
        if twin_owner is not None and stored.twin_id in twin_owner.messages:
            copies.append((twin_owner, twin_owner.messages[stored.twin_id]))
        return copies


def _new_dialog() -> PrivateDialog:
    return PrivateDialog()


def _twin_reply(sender: User, recipient: User, reply_to: int | None) -> int | None:
    """Map a reply target in the sender's box to the recipient's copy of the same message."""
    if reply_to is None or reply_to not in sender.messages:
        return None
    target = sender.messages[reply_to]
    return target.twin_id if target.twin_owner == recipient.id else None


def _check_recipient(sender: User, recipient: User) -> None:
    """Telegram's rules on who may write to whom: spam limits, paid messages, Premium-only privacy."""
    if sender.id == recipient.id:
        return
    known = sender.id in recipient.contacts
    if sender.spam_limited and sender.spam_limited_until and now() >= sender.spam_limited_until:
        sender.spam_limited, sender.spam_limited_until = False, 0  # Telegram lifted the limit by itself
    if sender.spam_limited and not (known and recipient.id in sender.contacts):
        raise RpcError(400, "PEER_FLOOD")
    if recipient.paid_messages_stars and not known:
        raise RpcError(400, f"ALLOW_PAYMENT_REQUIRED_{recipient.paid_messages_stars}")
    if recipient.premium_required and not known and not sender.premium:
        raise RpcError(403, "PRIVACY_PREMIUM_REQUIRED")
