"""Fan-out of updates to live connections, and the getDifference / getChannelDifference builders.

pts rules (design doc §3): every pts the server hands out is logged, including the ones consumed by the results of
the client's own RPCs, so a client that applies `local + pts_count == pts` never sees a gap that is not real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from telethon.tl import TLObject, types

from . import render
from .limits import ACCOUNT_DIFFERENCE_BOUND
from .state import Channel, LogEntry, SandboxState, User, now

if TYPE_CHECKING:
    from collections.abc import Iterable

DIFFERENCE_LIMIT = 1000


class LiveConnection(Protocol):
    receive_updates: bool

    def push(self, obj: TLObject) -> None: ...


class UpdateHub:
    """Knows which live connections belong to which user, and pushes updates to them."""

    def __init__(self) -> None:
        self._by_user: dict[int, set[LiveConnection]] = {}
        self.pushed = 0

    def bind(self, user_id: int, conn: LiveConnection) -> None:
        self._by_user.setdefault(user_id, set()).add(conn)

    def unbind(self, conn: LiveConnection, user_id: int | None = None) -> None:
        user_ids = [user_id] if user_id is not None else list(self._by_user)
        for uid in user_ids:
            conns = self._by_user.get(uid)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self._by_user[uid]

    def connections_of(self, user_id: int) -> list[LiveConnection]:
        return list(self._by_user.get(user_id, ()))

    def online_user_ids(self) -> list[int]:
        return list(self._by_user)

    def push(self, user_id: int, obj: TLObject, exclude: LiveConnection | None = None) -> None:
        for conn in self.connections_of(user_id):
            if conn is not exclude and conn.receive_updates:
                conn.push(obj)
                self.pushed += 1

    def push_too_long(self, user_id: int) -> None:
        """Send the user's clients updatesTooLong (on demand only: bans and revocations push nothing)."""
        self.push(user_id, types.UpdatesTooLong())


# Differences ---------------------------------------------------------------------------------------------------


def _account_update(state: SandboxState, owner: User, entry: LogEntry) -> types.TypeUpdate | None:
    if entry.kind == "edit_message":
        stored = owner.messages.get(entry.ids[0])
        if stored is None:
            return None
        return types.UpdateEditMessage(render.message(stored, owner.id, state), entry.pts, entry.pts_count)
    if entry.kind == "delete_messages":
        return types.UpdateDeleteMessages(entry.ids, entry.pts, entry.pts_count)
    if entry.kind == "read_inbox":
        return types.UpdateReadHistoryInbox(log_peer(entry), entry.max_id, 0, entry.pts, entry.pts_count)
    if entry.kind == "read_outbox":
        return types.UpdateReadHistoryOutbox(log_peer(entry), entry.max_id, entry.pts, entry.pts_count)
    if entry.kind == "pinned_messages":
        return types.UpdatePinnedMessages(log_peer(entry), entry.ids, entry.pts, entry.pts_count, pinned=True)
    return None


def log_peer(entry: LogEntry) -> types.TypePeer:
    """The peer an account log entry names: a user, or a basic group (`peer_kind` "chat")."""
    return types.PeerChat(entry.peer_id) if entry.peer_kind == "chat" else types.PeerUser(entry.peer_id)


def account_state(owner: User) -> types.updates.State:
    return types.updates.State(pts=owner.log.pts, qts=0, date=render.ts(now()), seq=0, unread_count=0)


def account_difference(
    state: SandboxState, owner: User, pts: int, date: int, *, bound: int = ACCOUNT_DIFFERENCE_BOUND
) -> TLObject:
    """updates.getDifference for `owner`, starting after `pts`; a gap above `bound` is `differenceTooLong`."""
    channel_hints = [
        types.UpdateChannelTooLong(channel.id, pts=channel.log.pts)
        for channel in state.channels_of(owner.id)
        if channel.log.last_date >= date and channel.log.entries
    ]
    if pts == owner.log.pts and not channel_hints:
        return types.updates.DifferenceEmpty(date=render.ts(now()), seq=0)
    entries = owner.log.since(pts)
    if entries is None or pts > owner.log.pts or owner.log.pts - pts > bound:
        return types.updates.DifferenceTooLong(pts=owner.log.pts)
    sliced = len(entries) > DIFFERENCE_LIMIT
    entries = entries[:DIFFERENCE_LIMIT]
    new_messages = []
    other: list[types.TypeUpdate] = []
    for entry in entries:
        if entry.kind == "new_message":
            stored = owner.messages.get(entry.ids[0])
            if stored is not None:
                new_messages.append(stored)
        else:
            update = _account_update(state, owner, entry)
            if update is not None:
                other.append(update)
    if not sliced:
        other.extend(channel_hints)
    users, chats = render.entities_of_messages(state, owner.id, new_messages)
    user_ids = {e.peer_id for e in entries if e.peer_id and e.peer_kind == "user"}
    group_ids = {e.peer_id for e in entries if e.peer_id and e.peer_kind == "chat"}
    extra_users, hint_chats = render.entities_for(
        state, owner.id, user_ids, {hint.channel_id for hint in channel_hints}, group_ids
    )
    users += [u for u in extra_users if u.id not in {x.id for x in users}]
    chats += [c for c in hint_chats if (type(c), c.id) not in {(type(x), x.id) for x in chats}]
    tl_messages = [render.message(m, owner.id, state) for m in new_messages]
    if sliced:
        last = entries[-1].pts
        intermediate = types.updates.State(pts=last, qts=0, date=render.ts(now()), seq=0, unread_count=0)
        return types.updates.DifferenceSlice(tl_messages, [], other, chats, users, intermediate)
    return types.updates.Difference(tl_messages, [], other, chats, users, account_state(owner))


def channel_dialog(state: SandboxState, channel: Channel, viewer_id: int) -> types.Dialog:
    member = channel.members.get(viewer_id)
    read_max = member.read_inbox_max_id if member else 0
    alive = [mid for mid in channel.messages]
    return types.Dialog(
        peer=types.PeerChannel(channel.id),
        top_message=max(alive, default=0),
        read_inbox_max_id=read_max,
        read_outbox_max_id=max(alive, default=0),
        unread_count=sum(1 for mid in alive if mid > read_max),
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=render.notify_settings(),
        pts=channel.log.pts,
    )


def channel_difference(state: SandboxState, channel: Channel, viewer_id: int, pts: int, limit: int) -> TLObject:
    """updates.getChannelDifference for a member of `channel`, starting after `pts`.

    As Telegram: more than `limit` missing updates answer `channelDifferenceTooLong` with the dialog and the
    latest messages, and nothing of the gap is replayed (the client must read history itself).
    """
    if pts >= channel.log.pts:
        return types.updates.ChannelDifferenceEmpty(pts=channel.log.pts, final=True)
    limit = max(1, min(limit or 100, DIFFERENCE_LIMIT))
    entries = channel.log.since(pts)
    if entries is None or channel.log.pts - pts > limit:
        recent = sorted(channel.messages)[-limit:]
        stored = [channel.messages[mid] for mid in recent]
        users, chats = render.entities_of_messages(state, viewer_id, stored)
        if not chats:
            chats = [render.channel(channel, viewer_id)]
        return types.updates.ChannelDifferenceTooLong(
            dialog=channel_dialog(state, channel, viewer_id),
            messages=[render.message(m, viewer_id, state) for m in stored],
            chats=chats,
            users=users,
            final=True,
        )
    new_messages = []
    other: list[types.TypeUpdate] = []
    for entry in entries:
        if entry.kind == "new_message":
            if entry.ids[0] in channel.messages:
                new_messages.append(channel.messages[entry.ids[0]])
        elif entry.kind == "edit_message" and entry.ids[0] in channel.messages:
            msg = render.message(channel.messages[entry.ids[0]], viewer_id, state)
            other.append(types.UpdateEditChannelMessage(msg, entry.pts, entry.pts_count))
        elif entry.kind == "delete_messages":
            other.append(types.UpdateDeleteChannelMessages(channel.id, entry.ids, entry.pts, entry.pts_count))
    users, chats = render.entities_of_messages(state, viewer_id, new_messages)
    if not chats:
        chats = [render.channel(channel, viewer_id)]
    return types.updates.ChannelDifference(
        pts=entries[-1].pts if entries else channel.log.pts,
        new_messages=[render.message(m, viewer_id, state) for m in new_messages],
        other_updates=other,
        chats=chats,
        users=users,
        final=True,  # the gap is within `limit`: all of it is in this answer
    )


def distinct(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))
