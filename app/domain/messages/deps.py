"""What the messages endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.messages.services import Sender, pending_stale_after
from app.lib.di import provide_value
from app.telegram.commands import ProfileCommands


@dataclass(frozen=True, slots=True)
class LiveMessages:
    """Telegram reads and sends on behalf of a profile (dialogs, unread, history, read, send, reply)."""

    commands: ProfileCommands
    sender: Sender
    unread_per_dialog: int  # UNREAD_PER_DIALOG


def dependencies(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    commands: ProfileCommands,
    settings: Settings,
    sqlite_writes: contextlib.AbstractAsyncContextManager[object] | None,
) -> dict[str, Provide]:
    """`live_messages`; on SQLite, sends take turns on `sqlite_writes` (one writer at a time)."""
    sender = Sender(sessionmaker, commands, pending_stale_after(settings), sqlite_writes)
    live = LiveMessages(commands=commands, sender=sender, unread_per_dialog=settings.unread_per_dialog)
    return {"live_messages": provide_value(live)}
