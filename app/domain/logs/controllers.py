"""`GET /logs`: request and event log rows from ClickHouse; own rows only, every row for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from app.db.engine import DbSession
from app.domain.accounts.current_user import AuthRequest
from app.domain.logs import services
from app.domain.logs.deps import LogQueries
from app.domain.logs.schemas import LogFilters, LogKind, LogLevel, LogPage


class LogsController(Controller):
    tags = ["logs"]

    @get("/logs")
    async def list_logs(
        self,
        request: AuthRequest,
        log_queries: NamedDependency[LogQueries],
        db_session: DbSession,
        level: Annotated[LogLevel | None, Parameter(description="event level")] = None,
        since: Annotated[datetime | None, Parameter(description="ISO-8601, inclusive; no zone means UTC")] = None,
        until: Annotated[datetime | None, Parameter(description="ISO-8601, exclusive; no zone means UTC")] = None,
        q: Annotated[str | None, Parameter(max_length=200, description="case-insensitive text search")] = None,
        phone: Annotated[str | None, Parameter(max_length=32, description="events of this profile")] = None,
        profile_id: Annotated[UUID | None, Parameter(description="events of this profile")] = None,
        channel_id: Annotated[str | None, Parameter(max_length=64, description="events of this channel")] = None,
        status: Annotated[int | None, Parameter(ge=100, le=599, description="request status")] = None,
        path_prefix: Annotated[str | None, Parameter(query="path", max_length=2048, description="path prefix")] = None,
        user_id: Annotated[UUID | None, Parameter(description="admins: rows of one user")] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=512, description="next_cursor of the last page")] = None,
        kind: Annotated[LogKind, Parameter(description="which log: request (the default) or event")] = "request",
        actor: Annotated[
            str | None, Parameter(max_length=64, description="events: who acted, e.g. apikey:<key id>")
        ] = None,
    ) -> LogPage:
        """Newest first; `next_cursor` is null on the last page."""
        filters = LogFilters(
            kind=kind, level=level, since=since, until=until, q=q, phone=phone, profile_id=profile_id,
            channel_id=channel_id, status=status, path=path_prefix, user_id=user_id, limit=limit, cursor=cursor,
            actor=actor,
        )  # fmt: skip
        return await services.list_logs(
            db_session,
            log_queries.store,
            filters,
            user_id=request.user.id,
            is_admin=request.user.is_admin,
            timeout_s=log_queries.timeout_s,
        )
