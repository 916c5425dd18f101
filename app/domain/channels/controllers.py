"""HTTP endpoints of channel monitoring: add, list, show, remove, and the stored posts of a channel."""

from __future__ import annotations

import functools
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.db.after_commit import after_commit
from app.db.engine import DbSession, release_connection
from app.domain.accounts.current_user import AuthRequest
from app.domain.channels import capture, services
from app.domain.channels.monitor import ChannelMonitor
from app.domain.channels.schemas import AddChannel, ChannelMessagePage, ChannelOut
from app.domain.messages import media
from app.domain.messages.deps import LiveMessages
from app.domain.messages.schemas import CURSOR_MAX_LENGTH, PAGE_MAX


class ChannelsController(Controller):
    path = "/channels"
    tags = ["channels"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        responses={HTTP_200_OK: ResponseSpec(ChannelOut, description="An orphaned channel, monitored again")},
    )
    async def add(
        self,
        data: JSONBody[AddChannel],
        request: AuthRequest,
        channel_monitor: NamedDependency[ChannelMonitor],
        db_session: DbSession,
    ) -> Response[ChannelOut]:
        """Monitor a channel (@username, t.me link, invite link or id) through the named or least-loaded profile.

        409 with the existing id when it is monitored already. The last `CHANNEL_BACKFILL_LIMIT` posts are stored
        after the response is committed. An `orphaned` channel is resumed instead (200, same id): the posts it
        missed meanwhile, up to `CHANNEL_CATCHUP_LIMIT`, are stored after the response.
        """
        monitor = channel_monitor
        channel, resumed = await monitor.add(db_session, request.user.id, data)
        out = (await services.to_out_many(db_session, [channel], detail=True))[0]
        if resumed:
            newest = await capture.newest_stored_id(db_session, channel)
            after_commit(db_session, functools.partial(monitor.catch_up, channel.id, newest))
            return Response(out, status_code=HTTP_200_OK)
        after_commit(db_session, functools.partial(monitor.backfill, channel.id))
        return Response(out, status_code=HTTP_201_CREATED)

    @get("/")
    async def list_channels(self, request: AuthRequest, db_session: DbSession) -> list[ChannelOut]:
        """The caller's monitored channels: assigned profile, status, last message time, message counts."""
        return await services.to_out_many(db_session, await services.list_owned(db_session, request.user.id))

    @get("/{channel_id:uuid}")
    async def show(self, channel_id: UUID, request: AuthRequest, db_session: DbSession) -> ChannelOut:
        """One channel with its assignment history."""
        channel = await services.get_owned(db_session, request.user.id, channel_id)
        return (await services.to_out_many(db_session, [channel], detail=True))[0]

    @delete("/{channel_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove(
        self,
        channel_id: UUID,
        request: AuthRequest,
        channel_monitor: NamedDependency[ChannelMonitor],
        db_session: DbSession,
    ) -> Response[None]:
        """Stop monitoring; the profile leaves the channel unless it was a member before or another monitor needs it."""
        channel = await services.get_owned(db_session, request.user.id, channel_id)
        leave = await services.needs_leaving(db_session, channel)
        profile_id, peer_id = channel.assigned_profile_id, channel.peer_id
        await services.remove(db_session, channel)
        if leave and profile_id is not None:
            after_commit(db_session, functools.partial(channel_monitor.leave, profile_id, peer_id))
        return Response(None, status_code=HTTP_204_NO_CONTENT)

    @get("/{channel_id:uuid}/messages")
    async def messages(
        self,
        channel_id: UUID,
        request: AuthRequest,
        db_session: DbSession,
        include_deleted: bool = True,
        cursor: Annotated[str | None, Parameter(max_length=CURSOR_MAX_LENGTH)] = None,
        limit: Annotated[int, Parameter(ge=1, le=PAGE_MAX)] = 50,
    ) -> ChannelMessagePage:
        """Stored posts, newest first, each once, with previous texts; deleted posts keep their content."""
        channel = await services.get_owned(db_session, request.user.id, channel_id)
        return await services.messages_page(
            db_session, channel, cursor=cursor, limit=limit, include_deleted=include_deleted
        )

    @get("/{channel_id:uuid}/messages/{message_id:uuid}/media")
    async def media(
        self,
        channel_id: UUID,
        message_id: UUID,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
        byte_range: media.RangeHeader = None,
    ) -> Stream:
        """A stored post's file, streamed from Telegram by the profile whose copy it is (`Range` supported)."""
        channel = await services.get_owned(db_session, request.user.id, channel_id)
        target = await media.channel_target(db_session, request.user.id, channel.peer_id, message_id)
        await release_connection(db_session)
        return await media.stream(live_messages.commands, target, byte_range, live_messages.media_download_max_bytes)
