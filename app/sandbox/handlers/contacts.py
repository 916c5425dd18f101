"""contacts.* : resolve usernames, list contacts."""

from __future__ import annotations

import re

from telethon.tl import functions, types

from .. import render
from ..rpc import RpcContext, RpcError, rpc

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
        return types.contacts.ResolvedPeer(
            peer=types.PeerUser(user.id), chats=[], users=[render.user(user, ctx.user.id)]
        )
    channel = state.channel_by_username(name)
    if channel is not None:
        return types.contacts.ResolvedPeer(
            peer=types.PeerChannel(channel.id), chats=[render.channel(channel, ctx.user.id)], users=[]
        )
    raise RpcError(400, "USERNAME_NOT_OCCUPIED")


@rpc(functions.contacts.GetContactsRequest)
async def get_contacts(ctx: RpcContext, request: functions.contacts.GetContactsRequest) -> types.contacts.Contacts:
    me = ctx.user
    users = [ctx.dc.state.users[uid] for uid in me.contacts if uid in ctx.dc.state.users]
    return types.contacts.Contacts(
        contacts=[types.Contact(user_id=u.id, mutual=me.id in u.contacts) for u in users],
        saved_count=0,
        users=[render.user(u, me.id) for u in users],
    )


@rpc(functions.contacts.ImportContactsRequest)
async def import_contacts(
    ctx: RpcContext, request: functions.contacts.ImportContactsRequest
) -> types.contacts.ImportedContacts:
    """Add accounts by phone to the caller's contacts; the answer carries their users (with the caller's hashes)."""
    me = ctx.user
    imported, users = [], []
    for contact in request.contacts:
        found = ctx.dc.state.user_by_phone(contact.phone)
        if found is None or found.id == me.id:
            continue
        if found.id not in me.contacts:
            me.contacts.append(found.id)
            ctx.dc.mark_dirty()
        imported.append(types.ImportedContact(user_id=found.id, client_id=contact.client_id))
        users.append(render.user(found, me.id))
    return types.contacts.ImportedContacts(imported=imported, popular_invites=[], retry_contacts=[], users=users)
