"""help.* : the config Telethon asks for on connect."""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping

from telethon.tl import TLObject, functions, types

from .. import render
from ..rpc import RpcContext, rpc


def build_config(listeners: Mapping[int, tuple[str, int]], dc_id: int) -> types.Config:
    """The config as DC `dc_id` answers it: every data-center of the sandbox at its listener's real address."""
    now = int(time.time())
    return types.Config(
        date=render.ts(now),
        expires=render.ts(now + 3600),
        test_mode=False,
        this_dc=dc_id,
        dc_options=[
            types.DcOption(id=dc, ip_address=host, port=port, static=True) for dc, (host, port) in listeners.items()
        ],
        dc_txt_domain_name="sandbox.invalid",
        chat_size_max=200,
        megagroup_size_max=200000,
        forwarded_count_max=100,
        online_update_period_ms=210000,
        offline_blur_timeout_ms=5000,
        offline_idle_timeout_ms=30000,
        online_cloud_timeout_ms=300000,
        notify_cloud_delay_ms=30000,
        notify_default_delay_ms=1500,
        push_chat_period_ms=60000,
        push_chat_limit=2,
        edit_time_limit=172800,
        revoke_time_limit=2147483647,
        revoke_pm_time_limit=2147483647,
        rating_e_decay=2419200,
        stickers_recent_limit=200,
        channels_read_media_period=604800,
        call_receive_timeout_ms=20000,
        call_ring_timeout_ms=90000,
        call_connect_timeout_ms=30000,
        call_packet_timeout_ms=10000,
        me_url_prefix="https://t.me/",
        caption_length_max=1024,
        message_length_max=4096,
        webfile_dc_id=dc_id,
    )


@rpc(functions.help.GetConfigRequest, auth=False)
async def get_config(ctx: RpcContext, request: functions.help.GetConfigRequest) -> types.Config:
    listeners = ctx.dc.listeners or {ctx.dc.dc_id: (ctx.dc.host, ctx.dc.port)}
    return build_config(listeners, ctx.conn.dc_id)


@rpc(functions.help.GetNearestDcRequest, auth=False)
async def get_nearest_dc(ctx: RpcContext, request: functions.help.GetNearestDcRequest) -> types.NearestDc:
    return types.NearestDc(country="XX", this_dc=ctx.conn.dc_id, nearest_dc=ctx.dc.dc_id)


@rpc(functions.help.GetAppConfigRequest, auth=False)
async def get_app_config(ctx: RpcContext, request: functions.help.GetAppConfigRequest) -> TLObject:
    """The client configuration; a frozen account finds its freeze here (Telegram 2025: freeze_* keys)."""
    entries: list[types.JsonObjectValue] = []
    auth = ctx.auth_key.authorization
    user = ctx.dc.state.users.get(auth.user_id) if auth is not None and not auth.password_pending else None
    if user is not None and user.frozen_since:
        entries = [
            types.JsonObjectValue("freeze_since_date", types.JsonNumber(user.frozen_since)),
            types.JsonObjectValue("freeze_until_date", types.JsonNumber(user.frozen_until)),
            types.JsonObjectValue("freeze_appeal_url", types.JsonString(user.freeze_appeal_url)),
        ]
    config = types.JsonObject(entries)
    digest = zlib.crc32(bytes(config)) & 0x7FFFFFFF
    if request.hash and request.hash == digest:
        return types.help.AppConfigNotModified()
    return types.help.AppConfig(hash=digest, config=config)
