"""What the messages endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.messages.listing_cache import ConversationListings
from app.domain.messages.send_outcomes import pending_stale_after
from app.domain.messages.services import Sender
from app.domain.profiles.budgets import BudgetPolicy
from app.lib.di import provide_value
from app.telegram.commands import ProfileCommands


@dataclass(frozen=True, slots=True)
class LiveMessages:
    """Telegram reads and sends on behalf of a profile (dialogs, unread, history, read, send, reply)."""

    commands: ProfileCommands
    sender: Sender
    unread_per_dialog: int  # UNREAD_PER_DIALOG
    media_download_max_bytes: int = 2 * 1024**3  # MEDIA_DOWNLOAD_MAX_BYTES


@dataclass(frozen=True, slots=True)
class StoredConversations:
    """`GET /conversations`: the kept listings, and where a miss reads them (a session of its own)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    listings: ConversationListings


def dependencies(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    commands: ProfileCommands,
    settings: Settings,
    sqlite_writes: contextlib.AbstractAsyncContextManager[object] | None,
    listings: ConversationListings,
) -> dict[str, Provide]:
    """`live_messages` and `stored_conversations`; on SQLite, sends take turns on `sqlite_writes`."""
    sender = Sender(
        sessionmaker, commands, pending_stale_after(settings), sqlite_writes, BudgetPolicy.from_settings(settings)
    )
    live = LiveMessages(
        commands=commands,
        sender=sender,
        unread_per_dialog=settings.unread_per_dialog,
        media_download_max_bytes=settings.media_download_max_bytes,
    )
    return {
        "live_messages": provide_value(live),
        "stored_conversations": provide_value(StoredConversations(sessionmaker, listings)),
    }
