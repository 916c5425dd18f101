"""Shared message-listing logic: history pages, dialogs and message lookups for users and channels."""

from __future__ import annotations

from telethon.tl import TLObject, types

from .. import render
from .. import updates as diff
from ..state import BasicGroup, Channel, SandboxState, StoredMessage, User

MAX_PAGE = 100


def conversation(owner: User, peer_id: int, kind: str = "user") -> list[StoredMessage]:
    """The copies in `owner`'s box of a private chat (kind "user") or a basic group (kind "chat")."""
    return [m for m in owner.messages.values() if m.peer_kind == kind and m.peer_id == peer_id]


def source(owner: User, target: User | Channel | BasicGroup) -> list[StoredMessage]:
    """What a history read of `target` looks through: the channel's messages, or the owner's own copies."""
    if isinstance(target, Channel):
        return list(target.messages.values())
    if isinstance(target, BasicGroup):
        return conversation(owner, target.id, "chat")
    return conversation(owner, target.id)


def page(
    messages: list[StoredMessage],
    *,
    offset_id: int = 0,
    offset_date: int = 0,
    add_offset: int = 0,
    limit: int = MAX_PAGE,
    max_id: int = 0,
    min_id: int = 0,
) -> tuple[list[StoredMessage], int]:
    """Telegram's history window: newest first, below offset_id, shifted by add_offset. Returns (page, total)."""
    ordered = sorted(messages, key=lambda m: m.id, reverse=True)
    if max_id:
        ordered = [m for m in ordered if m.id < max_id]
    if min_id:
        ordered = [m for m in ordered if m.id > min_id]
    start = 0
    if offset_id:
        start = next((i for i, m in enumerate(ordered) if m.id < offset_id), len(ordered))
    elif offset_date:
        start = next((i for i, m in enumerate(ordered) if m.date < offset_date), len(ordered))
    start = max(0, start + add_offset)
    limit = max(0, min(limit or MAX_PAGE, MAX_PAGE))
    return ordered[start : start + limit], len(ordered)


def messages_result(
    state: SandboxState, viewer: User, chunk: list[StoredMessage], total: int, channel: Channel | None = None
) -> TLObject:
    users, chats = render.entities_of_messages(state, viewer.id, chunk)
    if channel is not None and not chats:
        chats = [render.channel(channel, viewer.id)]
    tl = [render.message(m, viewer.id, state) for m in chunk]
    if channel is not None:
        return types.messages.ChannelMessages(
            pts=channel.log.pts, count=total, messages=tl, topics=[], chats=chats, users=users
        )
    if total > len(chunk):
        return types.messages.MessagesSlice(count=total, messages=tl, topics=[], chats=chats, users=users)
    return types.messages.Messages(messages=tl, topics=[], chats=chats, users=users)


def private_dialog(owner: User, peer_id: int, top: StoredMessage | None) -> types.Dialog:
    marks = owner.dialogs.get(peer_id)
    read_in = marks.read_inbox_max_id if marks else 0
    read_out = marks.read_outbox_max_id if marks else 0
    unread = sum(1 for m in conversation(owner, peer_id) if not m.out and m.id > read_in)
    return types.Dialog(
        peer=types.PeerUser(peer_id),
        top_message=top.id if top else 0,
        read_inbox_max_id=read_in,
        read_outbox_max_id=read_out,
        unread_count=unread,
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=render.notify_settings(),
    )


def group_dialog(
    group: BasicGroup, owner: User, copies: list[StoredMessage], top: StoredMessage | None
) -> types.Dialog:
    read_in = group.read_inbox.get(owner.id, 0)
    return types.Dialog(
        peer=types.PeerChat(group.id),
        top_message=top.id if top else 0,
        read_inbox_max_id=read_in,
        read_outbox_max_id=group.read_outbox.get(owner.id, 0),
        unread_count=sum(1 for m in copies if not m.out and m.id > read_in),
        unread_mentions_count=0,
        unread_reactions_count=0,
        unread_poll_votes_count=0,
        notify_settings=render.notify_settings(),
    )


def dialog_entries(state: SandboxState, owner: User) -> list[tuple[int, types.Dialog, StoredMessage | None]]:
    """Every dialog of `owner` as (sort date, Dialog, top message), newest first."""
    tops: dict[int, StoredMessage] = {}
    for stored in owner.messages.values():
        if stored.peer_kind == "user" and (stored.peer_id not in tops or stored.id > tops[stored.peer_id].id):
            tops[stored.peer_id] = stored
    entries: list[tuple[int, types.Dialog, StoredMessage | None]] = []
    for peer_id in set(tops) | set(owner.dialogs):
        if peer_id not in state.users:
            continue
        top = tops.get(peer_id)
        entries.append((top.date if top else 0, private_dialog(owner, peer_id, top), top))
    for group in state.groups_of(owner.id):
        if group.deactivated:
            continue  # an upgraded group leaves the dialog list: its supergroup takes its place
        copies = conversation(owner, group.id, "chat")
        top = max(copies, key=lambda m: m.id, default=None)
        member = group.members.get(owner.id)
        date = top.date if top else (member.joined if member else group.date)
        entries.append((date, group_dialog(group, owner, copies, top), top))
    for channel in state.channels_of(owner.id):
        top_id = max(channel.messages, default=0)
        top = channel.messages.get(top_id)
        date = top.date if top else channel.members[owner.id].joined
        entries.append((date, diff.channel_dialog(state, channel, owner.id), top))
    entries.sort(key=lambda e: (e[0], e[2].id if e[2] else 0), reverse=True)
    return entries
