"""Build Telethon TL objects from the stored model, as seen by one viewer (is_self, out, left, ...)."""

from __future__ import annotations

import datetime

from telethon.tl import TLObject, types

from .entities import rendered
from .state import Channel, SandboxState, StoredMessage, User, now


def ts(value: int | None) -> datetime.datetime | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


def user(target: User, viewer_id: int) -> types.User:
    is_self = target.id == viewer_id
    return types.User(
        id=target.id,
        is_self=is_self,
        contact=viewer_id in target.contacts,
        mutual_contact=False,
        deleted=target.deleted,
        access_hash=target.access_hash_for(viewer_id),
        first_name=target.first_name,
        last_name=target.last_name or None,
        username=target.username,
        phone=target.phone if is_self or viewer_id in target.contacts else None,
        status=types.UserStatusRecently(),
    )


def channel(target: Channel, viewer_id: int) -> types.Channel:
    member = target.members.get(viewer_id)
    return types.Channel(
        id=target.id,
        title=target.title,
        photo=types.ChatPhotoEmpty(),
        date=ts(member.joined if member else target.date),
        creator=viewer_id == target.creator_id,
        left=member is None,
        broadcast=target.broadcast,
        megagroup=target.megagroup,
        access_hash=target.access_hash_for(viewer_id),
        username=target.username,
        participants_count=len(target.members),
        admin_rights=_admin_rights(target) if member is not None and member.admin else None,
    )


def _admin_rights(target: Channel) -> types.ChatAdminRights:
    """What Telegram shows an admin (the creator included) of its own rights; posting exists in broadcasts only."""
    return types.ChatAdminRights(
        change_info=True,
        post_messages=True if target.broadcast else None,
        edit_messages=True if target.broadcast else None,
        delete_messages=True,
        ban_users=True if target.megagroup else None,
        invite_users=True,
        pin_messages=True if target.megagroup else None,
        manage_call=True,
        other=True,
    )


def chat(target: Channel, viewer_id: int) -> types.Channel | types.ChannelForbidden:
    """The channel as `viewer_id` may see it: channelForbidden when deleted, banned or private to them."""
    if target.forbidden_to(viewer_id):
        return types.ChannelForbidden(
            target.id,
            target.access_hash_for(viewer_id),
            target.title,
            broadcast=target.broadcast,
            megagroup=target.megagroup,
        )
    return channel(target, viewer_id)


def message(stored: StoredMessage, viewer_id: int, state: SandboxState) -> types.Message:
    if stored.peer_kind == "channel":
        chan = state.channels[stored.peer_id]
        peer: types.PeerUser | types.PeerChannel = types.PeerChannel(stored.peer_id)
        from_id = None if chan.broadcast else types.PeerUser(stored.from_id)
        out = stored.from_id == viewer_id
        post = chan.broadcast
    else:
        peer = types.PeerUser(stored.peer_id)
        from_id = types.PeerUser(stored.from_id)
        out = stored.out
        post = False
    reply = types.MessageReplyHeader(reply_to_msg_id=stored.reply_to) if stored.reply_to else None
    return types.Message(
        id=stored.id,
        peer_id=peer,
        date=ts(stored.date),
        message=stored.text,
        entities=rendered(stored.entities),
        out=out,
        post=post,
        from_id=from_id,
        reply_to=reply,
        edit_date=ts(stored.edit_date),
        views=1 if post else None,
        forwards=0 if post else None,
    )


# telethon.tl.patched replaces types.MessageEmpty with a subclass whose __init__ requires peer_id; build the
# generated class underneath it instead.
_MessageEmpty = next(c for c in types.MessageEmpty.__mro__ if c.__module__ == "telethon.tl.types")


def message_empty(msg_id: int) -> TLObject:
    return _MessageEmpty(id=msg_id)


def entities_for(
    state: SandboxState, viewer_id: int, user_ids: set[int], channel_ids: set[int]
) -> tuple[list[types.User], list[types.Channel]]:
    users = [user(state.users[uid], viewer_id) for uid in sorted(user_ids) if uid in state.users]
    chats = [channel(state.channels[cid], viewer_id) for cid in sorted(channel_ids) if cid in state.channels]
    return users, chats


def entities_of_messages(
    state: SandboxState, viewer_id: int, messages: list[StoredMessage]
) -> tuple[list[types.User], list[types.Channel]]:
    """The users and channels a client needs to make sense of `messages`."""
    user_ids = {viewer_id}
    channel_ids: set[int] = set()
    for stored in messages:
        user_ids.add(stored.from_id)
        if stored.peer_kind == "channel":
            channel_ids.add(stored.peer_id)
        else:
            user_ids.add(stored.peer_id)
    return entities_for(state, viewer_id, user_ids, channel_ids)


def updates(
    update_list: list[types.TypeUpdate],
    users: list[types.User] | None = None,
    chats: list[types.Channel] | None = None,
) -> types.Updates:
    # seq=0 turns the client's seq checks off; the date must be real or the client treats it as updatesTooLong.
    return types.Updates(updates=update_list, users=users or [], chats=chats or [], date=ts(now()), seq=0)


def notify_settings() -> types.PeerNotifySettings:
    return types.PeerNotifySettings(show_previews=True, silent=False)
