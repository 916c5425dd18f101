"""contacts.* : resolve usernames and phone numbers, list, import and delete contacts."""

from __future__ import annotations

import re

from telethon.tl import functions, types

from .. import privacy, render
from ..rpc import RpcContext, RpcError, rpc
from ..state import User, normalize_phone
from . import peers

USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")  # laxer than Telegram (5+) so tests can use short names


@rpc(functions.contacts.ResolveUsernameRequest)
async def resolve_username(
    ctx: RpcContext, request: functions.contacts.ResolveUsernameRequest
) -> types.contacts.ResolvedPeer:
    name = request.username.lstrip("@")
    if not USERNAME.match(name):
        raise RpcError(400, "USERNAME_INVALID")
    wait = ctx.dc.username_lookups.wait_for(ctx.user.id)
    if wait is not None:
        raise RpcError(420, f"FLOOD_WAIT_{wait}")
    state = ctx.dc.state
    user = state.user_by_username(name)
    if user is not None:
        return types.contacts.ResolvedPeer(peer=types.PeerUser(user.id), chats=[], users=[render.user(user, ctx.user)])
    channel = state.channel_by_username(name)
    if channel is not None:
        return types.contacts.ResolvedPeer(
            peer=types.PeerChannel(channel.id), chats=[render.channel(channel, ctx.user.id)], users=[]
        )
    raise RpcError(400, "USERNAME_NOT_OCCUPIED")


def _found_by_phone(ctx: RpcContext, phone: str) -> User | None:
    """The account with this number, if its privacy lets the caller find it (else it does not exist, to them)."""
    found = ctx.dc.state.user_by_phone(phone) if normalize_phone(phone) else None
    if found is None or not privacy.findable_by_phone(found, ctx.user):
        return None
    return found


@rpc(functions.contacts.ResolvePhoneRequest)
async def resolve_phone(
    ctx: RpcContext, request: functions.contacts.ResolvePhoneRequest
) -> types.contacts.ResolvedPeer:
    """A user by phone number, if their privacy allows it; Telegram answers PHONE_NOT_OCCUPIED otherwise too."""
    found = _found_by_phone(ctx, request.phone)
    if found is None:
        raise RpcError(400, "PHONE_NOT_OCCUPIED")
    return types.contacts.ResolvedPeer(peer=types.PeerUser(found.id), chats=[], users=[render.user(found, ctx.user)])


@rpc(functions.contacts.GetContactsRequest)
async def get_contacts(ctx: RpcContext, request: functions.contacts.GetContactsRequest) -> types.contacts.Contacts:
    me = ctx.user
    users = [ctx.dc.state.users[uid] for uid in me.contacts if uid in ctx.dc.state.users]
    return types.contacts.Contacts(
        contacts=[types.Contact(user_id=u.id, mutual=me.id in u.contacts) for u in users],
        saved_count=0,
        users=[render.user(u, me) for u in users],
    )


@rpc(functions.contacts.ImportContactsRequest)
async def import_contacts(
    ctx: RpcContext, request: functions.contacts.ImportContactsRequest
) -> types.contacts.ImportedContacts:
    """Add accounts by phone to the caller's contacts; numbers with no account, or whose owner's privacy does not
    let the caller find them, are left out without an error (as on Telegram)."""
    me = ctx.user
    imported, found_users = [], []
    for contact in request.contacts:
        found = _found_by_phone(ctx, contact.phone)
        if found is None or found.id == me.id:
            continue
        if found.id not in me.contacts:
            me.contacts.append(found.id)
            ctx.dc.mark_dirty()
        imported.append(types.ImportedContact(user_id=found.id, client_id=contact.client_id))
        found_users.append(found)
    users = [render.user(u, me) for u in found_users]
    return types.contacts.ImportedContacts(imported=imported, popular_invites=[], retry_contacts=[], users=users)


@rpc(functions.contacts.DeleteContactsRequest)
async def delete_contacts(ctx: RpcContext, request: functions.contacts.DeleteContactsRequest) -> types.Updates:
    """Remove users from the caller's contacts; the answer carries them as the caller now sees them."""
    me = ctx.user
    removed = []
    for item in request.id:
        target = peers.user(ctx, item)
        if target.id in me.contacts:
            me.contacts.remove(target.id)
            ctx.dc.mark_dirty()
        removed.append(target)
    if not removed:
        raise RpcError(400, "CONTACT_ID_INVALID")
    return render.updates([], [render.user(u, me) for u in removed])
