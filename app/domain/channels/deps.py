"""What the channels endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.channels.monitor import ChannelMonitor
from app.lib.di import provide_value
from app.telegram.commands import ProfileCommands


def dependencies(
    *, sessionmaker: async_sessionmaker[AsyncSession], commands: ProfileCommands, settings: Settings
) -> dict[str, Provide]:
    """`channel_monitor`: joins, backfills, catches up and leaves channels (stateless, shared by requests)."""
    return {"channel_monitor": provide_value(ChannelMonitor(sessionmaker, commands, settings))}
