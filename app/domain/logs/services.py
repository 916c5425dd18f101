"""Log rules: who sees which rows, phone -> profile, and running the query off the event loop."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import TelegramProfile
from app.domain.logs.schemas import EventLogEntry, LogFilters, LogPage, RequestLogEntry
from app.domain.logs.store import LogStore
from app.lib.clickhouse import LogQueryError, query_logs
from app.lib.errors import AppError, BadRequest, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from app.lib.logging import log_event
from app.lib.phones import normalize_phone

_ENTRY = {"request": RequestLogEntry, "event": EventLogEntry}


class LogsUnavailable(ServiceUnavailable):
    code = "logs_unavailable"


class LogsQueryTimeout(AppError):
    status = 504
    code = "logs_query_timeout"


async def resolve_profile_id(session: AsyncSession, user_id: UUID, phone: str, *, is_admin: bool = False) -> UUID:
    """The id of the caller's profile with this phone (any user's for admins); 404 when there is none."""
    query = select(TelegramProfile.id).where(
        TelegramProfile.phone == normalize_phone(phone, source="query", code="validation_error")
    )
    if not is_admin:
        query = query.where(TelegramProfile.owner_id == user_id)
    profile_id = await session.scalar(query)
    if profile_id is None:
        raise NotFound("profile not found")
    return profile_id


# ClickHouse's DateTime64 holds 1900-01-01 to 2299-12-31; a moment outside is a client mistake, not an outage.
EARLIEST_LOG_YEAR, LATEST_LOG_YEAR = 1900, 2299


def rows_owner(user_id: UUID, is_admin: bool, requested: UUID | None) -> str | None:
    """Whose rows the caller may read: their own, or for admins everyone's (None) or one user's."""
    if is_admin:
        return None if requested is None else str(requested)
    if requested is not None and requested != user_id:
        raise Forbidden("only administrators may read another user's logs", details={"field": "user_id"})
    return str(user_id)


async def list_logs(
    session: AsyncSession, store: LogStore, filters: LogFilters, *, user_id: UUID, is_admin: bool, timeout_s: float
) -> LogPage:
    """`GET /logs` for one caller: pick whose rows, resolve the phone, run the query."""
    for field, moment in (("since", filters.since), ("until", filters.until)):
        if moment is not None and not EARLIEST_LOG_YEAR <= moment.year <= LATEST_LOG_YEAR:
            raise ValidationFailed(
                f"{field} must lie between the years {EARLIEST_LOG_YEAR} and {LATEST_LOG_YEAR}",
                details=[{"field": field}],
            )
    owner = rows_owner(user_id, is_admin, filters.user_id)
    if filters.phone is not None and filters.profile_id is not None:
        raise BadRequest("give phone or profile_id, not both", code="invalid_filter", details={"field": "phone"})
    if filters.phone is not None:  # bad input is a 4xx even while the log store is down
        normalize_phone(filters.phone, source="query", code="validation_error")
    if not store.queryable:
        raise _unavailable()
    profile_id = filters.profile_id
    if filters.phone is not None:
        profile_id = await resolve_profile_id(session, user_id, filters.phone, is_admin=is_admin)
    return await search_logs(store, filters, owner=owner, profile_id=profile_id, timeout_s=timeout_s)


def _unavailable() -> LogsUnavailable:
    return LogsUnavailable(
        "log queries are unavailable: set LOG_SHIPPING=embedded, or CLICKHOUSE_DSN with LOG_SHIPPING=stdout"
    )


async def search_logs(
    store: LogStore, filters: LogFilters, *, owner: str | None, profile_id: UUID | None, timeout_s: float
) -> LogPage:
    """Newest-first rows of one kind for `owner` (None: all users), queried in a worker thread."""
    if not store.queryable:
        raise _unavailable()
    arguments: dict[str, Any] = {
        "kind": filters.kind,
        "user_id": owner,
        "level": filters.level,
        "since": filters.since,
        "until": filters.until,
        "q": filters.q,
        "profile_id": str(profile_id) if profile_id is not None else None,
        "channel_id": filters.channel_id,
        "status": filters.status,
        "path": filters.path,
        "limit": filters.limit,
        "cursor": filters.cursor,
        "timeout_s": timeout_s,
        "actor": filters.actor,
    }

    def run() -> tuple[list[dict[str, Any]], str | None]:
        return query_logs(store.query_client(), **arguments)

    try:
        # The server stops the query at timeout_s; the outer bound covers a store that does not answer.
        rows, next_cursor = await asyncio.wait_for(asyncio.to_thread(run), timeout=timeout_s + 5)
    except LogQueryError:
        raise
    except TimeoutError:
        raise LogsQueryTimeout(f"the log query took longer than {timeout_s:g} s; narrow the filters") from None
    except Exception as ex:
        if "TIMEOUT_EXCEEDED" in str(ex) or "Timeout exceeded" in str(ex):
            raise LogsQueryTimeout(f"the log query took longer than {timeout_s:g} s; narrow the filters") from None
        log_event(
            "error", "logs", "logs.query_failed", f"log query failed: {type(ex).__name__}",
            context={"error": str(ex)[:500]},
        )  # fmt: skip
        raise LogsUnavailable("the log store is not reachable right now") from None
    entry = _ENTRY[filters.kind]
    items = [msgspec.convert(row, entry) for row in rows]
    return LogPage(items=items, next_cursor=next_cursor)
