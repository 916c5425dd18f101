"""Build Telethon TL objects from the stored model, as seen by one viewer (is_self, out, left, ...)."""

from __future__ import annotations

import datetime

from telethon.tl import TLObject, types

from . import privacy
from .entities import rendered
from .media import message_media
from .state import BasicGroup, Channel, SandboxState, StoredMessage, User, now


def ts(value: int | None) -> datetime.datetime | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


def user(target: User, viewer: User | int) -> types.User:
    """`target` as `viewer` sees it: `contact` when the viewer saved it, `mutual_contact` when both did, and the
    phone only where its privacy (`privacy.py`) lets the viewer see it. A bare id is the account's own view."""
    if isinstance(viewer, int):
        if viewer != target.id:
            raise TypeError("another account's view of a user needs that account (for its contacts)")
        viewer = target
    is_self = target.id == viewer.id
    contact = not is_self and target.id in viewer.contacts
    return types.User(
        id=target.id,
        is_self=is_self,
        contact=contact,
        mutual_contact=contact and viewer.id in target.contacts,
        deleted=target.deleted,
        access_hash=target.access_hash_for(viewer.id),
        first_name=target.first_name,
        last_name=target.last_name or None,
        username=target.username,
        phone=target.phone if privacy.phone_visible(target, viewer) else None,
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


def group(target: BasicGroup, viewer_id: int, state: SandboxState) -> types.Chat | types.ChatForbidden:
    """A basic group as `viewer_id` sees it: chatForbidden once removed, `left` after leaving, `deactivated`
    with `migrated_to` (the supergroup, with the viewer's access hash) once upgraded."""
    if viewer_id in target.kicked:
        return types.ChatForbidden(target.id, target.title)
    member = target.members.get(viewer_id)
    successor = state.channels.get(target.migrated_to) if target.migrated_to else None
    migrated_to = types.InputChannel(successor.id, successor.access_hash_for(viewer_id)) if successor else None
    return types.Chat(
        id=target.id,
        title=target.title,
        photo=types.ChatPhotoEmpty(),
        participants_count=len(target.members),
        date=ts(member.joined if member else target.date),
        version=target.version,
        creator=viewer_id == target.creator_id,
        left=member is None,
        deactivated=target.deactivated,
        migrated_to=migrated_to,
        admin_rights=_group_admin_rights() if member is not None and member.admin else None,
        default_banned_rights=types.ChatBannedRights(until_date=ts(2**31 - 1)),
    )


def participants(target: BasicGroup, viewer_id: int) -> types.TypeChatParticipants:
    """The member list of a basic group; someone no longer in it sees chatParticipantsForbidden."""
    if not target.participant(viewer_id):
        return types.ChatParticipantsForbidden(target.id)
    listed: list[types.TypeChatParticipant] = []
    for user_id, member in target.members.items():
        if user_id == target.creator_id:
            listed.append(types.ChatParticipantCreator(user_id))
        elif member.admin:
            listed.append(types.ChatParticipantAdmin(user_id, member.inviter_id, ts(member.joined)))
        else:
            listed.append(types.ChatParticipant(user_id, member.inviter_id, ts(member.joined)))
    return types.ChatParticipants(target.id, listed, target.version)


def _group_admin_rights() -> types.ChatAdminRights:
    return types.ChatAdminRights(
        change_info=True,
        delete_messages=True,
        ban_users=True,
        invite_users=True,
        pin_messages=True,
        manage_call=True,
        other=True,
    )


def service_action(stored: StoredMessage) -> TLObject:
    """The messageAction of a stored service message."""
    kind = stored.action
    if kind == "chat_create":
        return types.MessageActionChatCreate(title=stored.action_title, users=list(stored.action_users))
    if kind == "chat_add_user":
        return types.MessageActionChatAddUser(users=list(stored.action_users))
    if kind == "chat_delete_user":
        return types.MessageActionChatDeleteUser(user_id=stored.action_users[0])
    if kind == "chat_edit_title":
        return types.MessageActionChatEditTitle(title=stored.action_title)
    if kind == "pin":
        return types.MessageActionPinMessage()
    if kind == "chat_migrate_to":
        return types.MessageActionChatMigrateTo(channel_id=stored.action_peer)
    if kind == "channel_migrate_from":
        return types.MessageActionChannelMigrateFrom(title=stored.action_title, chat_id=stored.action_peer)
    raise ValueError(f"unknown service action {kind!r}")


def _peer_of(stored: StoredMessage) -> types.TypePeer:
    if stored.peer_kind == "channel":
        return types.PeerChannel(stored.peer_id)
    if stored.peer_kind == "chat":
        return types.PeerChat(stored.peer_id)
    return types.PeerUser(stored.peer_id)


def message(stored: StoredMessage, viewer_id: int, state: SandboxState) -> types.Message | types.MessageService:
    peer = _peer_of(stored)
    if stored.peer_kind == "channel":
        chan = state.channels[stored.peer_id]
        from_id = None if chan.broadcast else types.PeerUser(stored.from_id)
        out = stored.from_id == viewer_id
        post = chan.broadcast
    else:
        from_id = types.PeerUser(stored.from_id)
        out = stored.out
        post = False
    reply = types.MessageReplyHeader(reply_to_msg_id=stored.reply_to) if stored.reply_to else None
    if stored.action:
        return types.MessageService(
            id=stored.id,
            peer_id=peer,
            date=ts(stored.date),
            action=service_action(stored),
            out=out,
            post=post,
            from_id=from_id,
            reply_to=reply,
        )
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
        media=message_media(stored.media_id, viewer_id, state) if stored.media_id else None,
        grouped_id=stored.grouped_id or None,
    )


# telethon.tl.patched replaces types.MessageEmpty with a subclass whose __init__ requires peer_id; build the
# generated class underneath it instead.
_MessageEmpty = next(c for c in types.MessageEmpty.__mro__ if c.__module__ == "telethon.tl.types")


def message_empty(msg_id: int) -> TLObject:
    return _MessageEmpty(id=msg_id)


def entities_for(
    state: SandboxState, viewer_id: int, user_ids: set[int], channel_ids: set[int], group_ids: set[int] | None = None
) -> tuple[list[types.User], list[types.TypeChat]]:
    users = [user(state.users[uid], state.users[viewer_id]) for uid in sorted(user_ids) if uid in state.users]
    chats: list[types.TypeChat] = [
        channel(state.channels[cid], viewer_id) for cid in sorted(channel_ids) if cid in state.channels
    ]
    chats += [group(state.groups[gid], viewer_id, state) for gid in sorted(group_ids or ()) if gid in state.groups]
    return users, chats


def entities_of_messages(
    state: SandboxState, viewer_id: int, messages: list[StoredMessage]
) -> tuple[list[types.User], list[types.TypeChat]]:
    """The users, channels and basic groups a client needs to make sense of `messages`."""
    user_ids = {viewer_id}
    channel_ids: set[int] = set()
    group_ids: set[int] = set()
    for stored in messages:
        user_ids.add(stored.from_id)
        user_ids.update(stored.action_users)
        if stored.peer_kind == "channel":
            channel_ids.add(stored.peer_id)
        elif stored.peer_kind == "chat":
            group_ids.add(stored.peer_id)
        else:
            user_ids.add(stored.peer_id)
        if stored.action == "chat_migrate_to":
            channel_ids.add(stored.action_peer)
        elif stored.action == "channel_migrate_from":
            group_ids.add(stored.action_peer)
    return entities_for(state, viewer_id, user_ids, channel_ids, group_ids)


def updates(
    update_list: list[types.TypeUpdate],
    users: list[types.User] | None = None,
    chats: list[types.TypeChat] | None = None,
) -> types.Updates:
    # seq=0 turns the client's seq checks off; the date must be real or the client treats it as updatesTooLong.
    return types.Updates(updates=update_list, users=users or [], chats=chats or [], date=ts(now()), seq=0)


def notify_settings() -> types.PeerNotifySettings:
    return types.PeerNotifySettings(show_previews=True, silent=False)
