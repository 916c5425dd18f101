"""`WS /events`: the caller's committed events, live, with optional filters and a replay cursor.

Authentication happens inside the handler (the HTTP auth middleware skips this path): the token comes from the
`Sec-WebSocket-Protocol` header as the subprotocols `["bearer", "<token>"]` (the server then selects `bearer`)
or from `?token=`. A missing, bad, expired or revoked token is answered by accepting and immediately closing
with code 4401 and the reason, because an ASGI close before accept reaches the client only as a bare HTTP 403.

Close codes: 4400 bad query parameters, 4401 authentication failed, or during the stream the token expired or
its login was revoked (logout or refresh-token reuse, announced to every API process), 4408 the client fell
more than `WS_QUEUE_SIZE` events behind, 4409 a replay reached `WS_REPLAY_LIMIT` and more events remain; in
both cases reconnect with `?since=<id of the last event received>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from uuid import UUID

import msgspec
from litestar import WebSocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect

from app.domain.accounts.current_user import AuthUser, authenticate_token
from app.domain.accounts.tokens import is_revoked
from app.domain.events.deps import EventStreams
from app.domain.events.pubsub import BoundedSubscriber, user_channel
from app.domain.events.schemas import EventEnvelope, encode_envelope
from app.domain.events.services import events_since
from app.domain.events.types import unknown_types
from app.lib.errors import TooManyRequests, Unauthorized

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4408
CLOSE_REPLAY_LIMIT = 4409
CLOSE_RATE_LIMITED = 4429  # an API key over its rate limit
HEARTBEAT_FRAME = '{"type":"heartbeat"}'
_REPLAY_PAGE = 500
_TOO_SLOW = (CLOSE_TOO_SLOW, "client is too slow; reconnect with since")
_EXPIRED = (CLOSE_UNAUTHORIZED, "token expired")
_REVOKED = (CLOSE_UNAUTHORIZED, "token has been revoked (logout or refresh-token reuse)")


class _BadQuery(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StreamFilter:
    types: frozenset[str] | None
    profile: str | None
    since: UUID | None

    def matches(self, envelope: EventEnvelope) -> bool:
        if self.types is not None and envelope.type not in self.types:
            return False
        return self.profile is None or envelope.profile == self.profile


class _Head(msgspec.Struct):
    """What filtering needs of a published envelope, decoded without the payload."""

    id: UUID
    type: str
    profile: str | None = None


_decode_head = msgspec.json.Decoder(_Head).decode


def parse_filter(socket: WebSocket) -> StreamFilter:
    params = socket.query_params
    raw_types = params.get("types")
    types = frozenset(t.strip() for t in raw_types.split(",") if t.strip()) if raw_types else None
    if types is not None and (unknown := unknown_types(tuple(types))):
        raise _BadQuery(f"unknown event types: {', '.join(sorted(unknown))}")
    if types is not None and "*" in types:
        types = None
    since = None
    if raw_since := params.get("since"):
        try:
            since = UUID(raw_since)
        except ValueError:
            raise _BadQuery("since must be an event id") from None
    return StreamFilter(types=types, profile=params.get("profile") or None, since=since)


def _token(socket: WebSocket) -> tuple[str | None, bool]:
    """The access token and whether it came as a subprotocol (which the accept must then select)."""
    protocols = [p.strip() for p in socket.scope.get("subprotocols", []) or []]
    if "bearer" in protocols:
        index = protocols.index("bearer")
        return (protocols[index + 1] if index + 1 < len(protocols) else None), True
    return socket.query_params.get("token"), False


async def _reject(socket: WebSocket, subprotocol: str | None, code: int, reason: str) -> None:
    await socket.accept(subprotocols=subprotocol)
    await socket.close(code=code, reason=reason[:120])


async def serve_event_stream(socket: WebSocket, streams: EventStreams, channels: ChannelsPlugin) -> None:
    token, via_protocol = _token(socket)
    subprotocol = "bearer" if via_protocol else None
    try:
        if not token:
            raise Unauthorized("missing access token", code="missing_token")
        if streams.authenticate is not None:
            user = await streams.authenticate(token)
        else:
            user = await authenticate_token(token, streams.codec, streams.denylist)
        if user.key is not None and "messages:read" not in user.key.scopes:
            raise Unauthorized("api key lacks the scope messages:read", code="missing_scope")
    except Unauthorized as exc:
        await _reject(socket, subprotocol, CLOSE_UNAUTHORIZED, exc.message)
        return
    except TooManyRequests as exc:
        await _reject(socket, subprotocol, CLOSE_RATE_LIMITED, exc.message)
        return
    try:
        stream_filter = parse_filter(socket)
    except _BadQuery as exc:
        await _reject(socket, subprotocol, CLOSE_BAD_REQUEST, str(exc))
        return
    with streams.revocations.watch(user.claims.family) as revoked:
        # A logout between the token check and the watch would otherwise go unseen.
        if await is_revoked(user.claims, streams.denylist):
            await _reject(socket, subprotocol, CLOSE_UNAUTHORIZED, "token has been revoked")
            return
        # Subscribe before accepting: once a client sees the socket open, every event committed after that
        # reaches it.
        async with channels.start_subscription(user_channel(user.id)) as subscriber:
            assert isinstance(subscriber, BoundedSubscriber)
            await socket.accept(subprotocols=subprotocol)
            session = _StreamSession(socket, streams, user, stream_filter, subscriber, revoked)
            await session.run()


class _StreamSession:
    """One connection: replay, then live events, heartbeats, and the reasons to hang up."""

    def __init__(
        self,
        socket: WebSocket,
        streams: EventStreams,
        user: AuthUser,
        stream_filter: StreamFilter,
        sub: BoundedSubscriber,
        revoked: asyncio.Event,
    ) -> None:
        self.socket = socket
        self.streams = streams
        self.user = user
        self.filter = stream_filter
        self.subscriber = sub
        self.revoked = revoked
        self.replayed: set[UUID] = set()
        self.send_lock = asyncio.Lock()

    async def send(self, text: str) -> None:
        async with self.send_lock:
            await self.socket.send_text(text)

    async def run(self) -> None:
        # Subscribed before the replay query: anything committed meanwhile arrives live and is deduplicated.
        if self.filter.since is not None and not await self.replay(self.filter.since):
            await self.socket.close(code=CLOSE_REPLAY_LIMIT, reason="replay limit reached; reconnect with since")
            return
        tasks = {
            asyncio.ensure_future(self._hang_up_after(self.forward_live(), None)),
            asyncio.ensure_future(self._hang_up_after(self.heartbeats(), None)),
            asyncio.ensure_future(self._hang_up_after(self.wait_disconnect(), None)),
            asyncio.ensure_future(self._hang_up_after(self.subscriber.overflowed.wait(), _TOO_SLOW)),
            asyncio.ensure_future(self._hang_up_after(self.token_expiry(), _EXPIRED)),
            asyncio.ensure_future(self._hang_up_after(self.revoked.wait(), _REVOKED)),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is None and (close := task.result()) is not None:
                with contextlib.suppress(Exception):
                    await self.socket.close(code=close[0], reason=close[1])

    @staticmethod
    async def _hang_up_after(awaitable: Awaitable[object], close: tuple[int, str] | None) -> tuple[int, str] | None:
        with contextlib.suppress(WebSocketDisconnect, OSError):
            await awaitable
        return close

    async def replay(self, since: UUID) -> bool:
        """Send what the client missed; False when the replay limit left events unsent."""
        cursor, remaining = since, self.streams.replay_limit
        while True:
            limit = min(_REPLAY_PAGE, remaining + 1)
            async with self.streams.sessionmaker() as db:
                page = await events_since(db, self.user.id, cursor, types=self.filter.types, limit=limit)
            truncated = len(page) > remaining
            for envelope in page[:remaining]:
                self.replayed.add(envelope.id)
                if self.filter.matches(envelope):
                    await self.send(encode_envelope(envelope).decode())
            if truncated:
                return False
            if len(page) < limit:
                return True
            cursor, remaining = page[-1].id, remaining - len(page)

    async def forward_live(self) -> None:
        async for raw in self.subscriber.iter_events():
            head = _decode_head(raw)
            if head.id in self.replayed:
                self.replayed.discard(head.id)
                continue
            if self.filter.types is not None and head.type not in self.filter.types:
                continue
            if self.filter.profile is not None and head.profile != self.filter.profile:
                continue
            await self.send(raw.decode())

    async def heartbeats(self) -> None:
        interval = self.streams.heartbeat_s
        while True:
            await asyncio.sleep(interval)
            await self.send(HEARTBEAT_FRAME)

    async def wait_disconnect(self) -> None:
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return

    async def token_expiry(self) -> None:
        await asyncio.sleep(max(0.0, self.user.claims.expires_at - time.time()))
