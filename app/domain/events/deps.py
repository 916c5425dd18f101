"""What `WS /events` receives by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from litestar.di import Provide
from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.accounts.current_user import AuthUser
from app.domain.accounts.revocations import LoginRevocations
from app.lib.di import provide_value
from app.lib.security import TokenCodec


@dataclass(frozen=True, slots=True)
class EventStreams:
    """What an event stream needs: who the caller is, when their login is revoked, and what they missed."""

    codec: TokenCodec
    denylist: Store
    revocations: LoginRevocations
    sessionmaker: async_sessionmaker[AsyncSession]  # replays read in their own sessions
    replay_limit: int  # WS_REPLAY_LIMIT
    heartbeat_s: float  # WS_HEARTBEAT_S
    # an access token or API key -> the caller (raises Unauthorized); default: access tokens only
    authenticate: Callable[[str], Awaitable[AuthUser]] | None = None


def dependencies(streams: EventStreams) -> dict[str, Provide]:
    return {"event_streams": provide_value(streams)}
