"""account.* for the account's own profile: username, names and bio, and the phone-number privacy keys."""

from __future__ import annotations

import re

from telethon.tl import TLObject, functions, types

from .. import privacy, render
from ..rpc import RpcContext, RpcError, boolean, rpc
from ..state import User

# Telegram: 5-32 characters of a-z, 0-9 and underscores, starting with a letter, not ending with an underscore.
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]$")
NAME_MAX = 64
ABOUT_MAX = 70


def _check_username(ctx: RpcContext, username: str) -> str | None:
    """The username to store (None removes it); USERNAME_INVALID / USERNAME_OCCUPIED as Telegram answers."""
    name = username.strip().lstrip("@")
    if not name:
        return None
    if not USERNAME.match(name) or "__" in name:
        raise RpcError(400, "USERNAME_INVALID")
    state = ctx.dc.state
    holder = state.user_by_username(name)
    if (holder is not None and holder.id != ctx.user.id) or state.channel_by_username(name) is not None:
        raise RpcError(400, "USERNAME_OCCUPIED")
    return name


@rpc(functions.account.CheckUsernameRequest)
async def check_username(ctx: RpcContext, request: functions.account.CheckUsernameRequest) -> object:
    try:
        _check_username(ctx, request.username)
    except RpcError as refused:
        if refused.message == "USERNAME_OCCUPIED":
            return boolean(False)
        raise
    return boolean(True)


@rpc(functions.account.UpdateUsernameRequest)
async def update_username(ctx: RpcContext, request: functions.account.UpdateUsernameRequest) -> types.User:
    me = ctx.user
    name = _check_username(ctx, request.username)
    if name == me.username:
        raise RpcError(400, "USERNAME_NOT_MODIFIED")
    me.username = name
    _announce_name(ctx, me)
    return render.user(me, me.id)


@rpc(functions.account.UpdateProfileRequest)
async def update_profile(ctx: RpcContext, request: functions.account.UpdateProfileRequest) -> types.User:
    me = ctx.user
    if request.first_name is not None:
        first = request.first_name.strip()
        if not first or len(first) > NAME_MAX:
            raise RpcError(400, "FIRSTNAME_INVALID")
    if request.last_name is not None and len(request.last_name.strip()) > NAME_MAX:
        raise RpcError(400, "LASTNAME_INVALID")
    if request.about is not None and len(request.about) > ABOUT_MAX:
        raise RpcError(400, "ABOUT_TOO_LONG")
    renamed = False
    if request.first_name is not None and request.first_name.strip() != me.first_name:
        me.first_name, renamed = request.first_name.strip(), True
    if request.last_name is not None and request.last_name.strip() != me.last_name:
        me.last_name, renamed = request.last_name.strip(), True
    if request.about is not None:
        me.about = request.about
    ctx.dc.mark_dirty()
    if renamed:
        _announce_name(ctx, me)
    return render.user(me, me.id)


def _announce_name(ctx: RpcContext, me: User) -> None:
    """updateUserName to the account's other sessions and to everyone who has it in their contacts."""
    ctx.dc.mark_dirty()
    usernames = [types.Username(me.username, editable=True, active=True)] if me.username else []
    update = types.UpdateUserName(me.id, me.first_name, me.last_name, usernames)
    ctx.dc.hub.push(me.id, render.updates([update], [render.user(me, me.id)]), exclude=ctx.conn)
    for other in ctx.dc.state.users.values():
        if me.id in other.contacts and other.id != me.id:
            ctx.dc.hub.push(other.id, render.updates([update], [render.user(me, other)]))


@rpc(functions.account.GetPrivacyRequest)
async def get_privacy(ctx: RpcContext, request: functions.account.GetPrivacyRequest) -> types.account.PrivacyRules:
    key = privacy.key_of(request.key)
    return types.account.PrivacyRules(privacy.rendered(privacy.current(ctx.user, key)), chats=[], users=[])


@rpc(functions.account.SetPrivacyRequest)
async def set_privacy(ctx: RpcContext, request: functions.account.SetPrivacyRequest) -> types.account.PrivacyRules:
    key = privacy.key_of(request.key)
    rules: list[TLObject] = list(request.rules)
    privacy.store(ctx.user, key, privacy.rule_of(key, rules))
    ctx.dc.mark_dirty()
    rendered = privacy.rendered(privacy.current(ctx.user, key))
    update = types.UpdatePrivacy(privacy.rendered_key(key), rendered)
    ctx.dc.hub.push(ctx.user.id, render.updates([update]), exclude=ctx.conn)
    return types.account.PrivacyRules(rendered, chats=[], users=[])
