"""Query filters and response bodies of `GET /logs`; an entry is one line of the log contract (README)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

LogKind = Literal["request", "event"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class RequestLogEntry(msgspec.Struct, tag_field="kind", tag="request"):
    ts: str
    request_id: str
    method: str
    path: str
    route: str
    status: int
    duration_ms: float
    user_id: str | None
    ip: str
    user_agent: str


class EventLogEntry(msgspec.Struct, tag_field="kind", tag="event"):
    ts: str
    level: str
    source: str
    event: str
    message: str
    context: Any
    user_id: str | None
    profile_id: str | None
    channel_id: str | None
    request_id: str | None


class LogPage(msgspec.Struct):
    items: list[RequestLogEntry | EventLogEntry]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class LogFilters:
    """What the caller asked for, already type-checked by the controller; rules are the service's."""

    kind: LogKind
    level: LogLevel | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    phone: str | None = None
    profile_id: UUID | None = None
    channel_id: str | None = None
    status: int | None = None
    path: str | None = None
    user_id: UUID | None = None
    limit: int = 100
    cursor: str | None = None
    actor: str | None = None
