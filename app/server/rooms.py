"""Connects the domains that must not import each other, once per process, before any of them runs.

Channels build on messages and profiles (`app.domain.channels` imports both), so the answers that profiles and
messages need from channels are handed to them here instead of imported: what a profile's status change asks
of its channels (failover, retry), and which stored chats are a monitored channel (event context).
"""

from __future__ import annotations

from app.domain.channels.capture import channel_contexts
from app.domain.channels.failover import FOLLOW_UPS
from app.domain.messages.channel_context import connect_channel_contexts
from app.domain.profiles.channel_hooks import connect_channels


def connect_rooms() -> None:
    """Idempotent; `create_app` calls it, and so does anything that runs domain code without an app."""
    connect_channels(FOLLOW_UPS)
    connect_channel_contexts(channel_contexts)
