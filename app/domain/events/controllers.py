"""`WS /events`: the live event stream (see `stream.py` for authentication, filters and close codes)."""

from __future__ import annotations

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency

from app.domain.events.deps import EventStreams
from app.domain.events.stream import serve_event_stream


@websocket("/events")
async def events_socket(
    socket: WebSocket, event_streams: NamedDependency[EventStreams], channels: NamedDependency[ChannelsPlugin]
) -> None:
    """Stream the caller's events: `?types=a,b&profile=+1555...&since=<event id>`; token as subprotocol or query."""
    await serve_event_stream(socket, event_streams, channels)
