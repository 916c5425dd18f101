"""HTTP endpoint of the PROXY_POOL's health (administrators): each entry as the periodic check last found it."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get

from app.db.engine import DbSession
from app.domain.accounts.current_user import admin_only
from app.domain.profiles import proxy_pool
from app.domain.profiles.controllers import Profiles


class PoolEntryOut(msgspec.Struct):
    type: str
    host: str
    port: int
    healthy: bool | None  # null: not checked yet
    checked_at: datetime | None
    changed_at: datetime | None  # when `healthy` last changed
    failures: int  # checks failed in a row
    last_error: str | None
    profiles: int  # profiles whose own proxy it is


class ProxyPoolController(Controller):
    path = "/admin/proxy-pool"
    tags = ["profiles"]
    guards = [admin_only]

    @get("/")
    async def list_entries(self, profile_service: Profiles, db_session: DbSession) -> list[PoolEntryOut]:
        """Every PROXY_POOL entry with its health, its last check and how many profiles use it (no credentials)."""
        settings = profile_service.login.settings
        pool = settings.proxy_pool if settings is not None else ()
        return [msgspec.convert(entry, PoolEntryOut) for entry in await proxy_pool.report(db_session, pool)]
