"""Log queries for `GET /logs`: newest first, keyset cursor, every value bound server-side."""

from __future__ import annotations

import base64
import binascii
import contextlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from clickhouse_connect.driver.client import Client

from app.lib import logging as applog
from app.lib.clickhouse.schema import TABLES
from app.lib.errors import BadRequest

__all__ = ["LogQueryError", "query_logs"]


class LogQueryError(BadRequest):
    """A bad filter or cursor for the log query (maps to 400 with a precise code)."""

    code = "invalid_log_query"


_SELECT: Final = {
    "request": "request_id, method, path, route, status, duration_ms, user_id, ip, user_agent",
    "event": "level, source, event, message, context, user_id, profile_id, channel_id, request_id",
}
_TEXT_SEARCH: Final = {
    "request": ("path", "user_agent", "route"),
    "event": ("message", "event", "context", "source"),
}
_KIND_ONLY_FILTERS: Final = {
    "request": {"level", "profile_id", "channel_id", "actor"},
    "event": {"status", "path"},
}
_DT_PARAM_FORMAT: Final = "%Y-%m-%d %H:%M:%S.%f"


def _fail(code: str, message: str, field: str) -> LogQueryError:
    return LogQueryError(message, code=code, details={"field": field})


def _dt_param(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(_DT_PARAM_FORMAT)


def _encode_cursor(kind: str, ts_key: str, row_id: str) -> str:
    raw = msgspec.json.encode([kind, ts_key, row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_kind, ts_key, row_id = msgspec.json.decode(raw, type=tuple[str, str, str])
        datetime.strptime(ts_key, _DT_PARAM_FORMAT)  # a UTC wall-clock key: only its shape is checked
        _check_uuid(row_id)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError) as ex:
        raise _fail("invalid_cursor", "cursor is not one this API returned", "cursor") from ex
    if cursor_kind != kind:
        raise _fail("invalid_cursor", "cursor belongs to another log kind", "cursor")
    return ts_key, row_id


def _check_uuid(value: str) -> None:
    uuid.UUID(value)


def _check_text(value: str | None, field: str, max_len: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise _fail("invalid_filter", f"{field} must be text of at most {max_len} characters", field)
    return value


def _where(kind: str, user_id: str | None, filters: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if user_id is not None:
        clauses.append("user_id = {user_id:String}")
        params["user_id"] = str(user_id)
    if filters["since"] is not None:
        clauses.append("ts >= {since:DateTime64(6, 'UTC')}")
        params["since"] = _dt_param(filters["since"])
    if filters["until"] is not None:
        clauses.append("ts < {until:DateTime64(6, 'UTC')}")
        params["until"] = _dt_param(filters["until"])
    for name in ("level", "profile_id", "channel_id"):
        if filters[name] is not None:
            clauses.append(f"{name} = {{{name}:String}}")
            params[name] = filters[name]
    if filters["status"] is not None:
        clauses.append("status = {status:UInt16}")
        params["status"] = filters["status"]
    if filters["path"] is not None:
        clauses.append("startsWith(path, {path:String})")
        params["path"] = filters["path"]
    if filters["actor"] is not None:  # who acted (an API key: "apikey:<id>"), kept in the event's context
        clauses.append("JSONExtractString(context, 'actor') = {actor:String}")
        params["actor"] = filters["actor"]
    if filters["q"] is not None:
        columns = _TEXT_SEARCH[kind]
        clauses.append("(" + " OR ".join(f"positionCaseInsensitiveUTF8({c}, {{q:String}}) > 0" for c in columns) + ")")
        params["q"] = filters["q"]
    return clauses, params


def _validate(kind: str, limit: int, filters: dict[str, Any]) -> None:
    if kind not in TABLES:
        raise _fail("invalid_filter", "kind must be 'request' or 'event'", "kind")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise _fail("invalid_filter", "limit must be between 1 and 1000", "limit")
    for name in _KIND_ONLY_FILTERS[kind]:
        if filters[name] is not None:
            raise _fail("invalid_filter", f"{name} does not apply to {kind} logs", name)
    if filters["level"] is not None and filters["level"] not in applog.LEVELS:
        raise _fail("invalid_filter", f"level must be one of {', '.join(applog.LEVELS)}", "level")
    status = filters["status"]
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599):
        raise _fail("invalid_filter", "status must be an HTTP status code (100-599)", "status")
    for name in ("since", "until"):
        if filters[name] is not None and not isinstance(filters[name], datetime):
            raise _fail("invalid_filter", f"{name} must be a datetime", name)
    since, until = filters["since"], filters["until"]
    if since is not None and until is not None and _dt_param(since) > _dt_param(until):
        raise _fail("invalid_filter", "since must not be after until", "since")


def _to_row(kind: str, names: Sequence[str], values: Sequence[Any]) -> applog.Row:
    row: applog.Row = {"kind": kind}
    row.update(zip(names, values, strict=True))
    if row.get("user_id") == "":
        row["user_id"] = None
    if kind == "event":
        with contextlib.suppress(msgspec.DecodeError):  # otherwise keep the text as stored
            row["context"] = msgspec.json.decode(row["context"])
    return row


def query_logs(
    client: Client,
    *,
    kind: str,
    user_id: str | None,
    level: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
    profile_id: str | None = None,
    channel_id: str | None = None,
    status: int | None = None,
    path: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
    timeout_s: float = 5.0,
    actor: str | None = None,
) -> tuple[list[applog.Row], str | None]:
    """Newest-first log rows of one kind; `user_id=None` means all users (admins only).

    Every value is bound server-side; `path` is a prefix, `q` a case-insensitive substring. Returns the rows
    (contract shape, `kind` included) and an opaque cursor for the next page, or None on the last page.
    Raises LogQueryError for bad filters or cursors.
    """
    filters: dict[str, Any] = {
        "level": _check_text(level, "level", 16),
        "since": since,
        "until": until,
        "q": _check_text(q, "q", 200),
        "profile_id": _check_text(profile_id, "profile_id", 64),
        "channel_id": _check_text(channel_id, "channel_id", 64),
        "status": status,
        "path": _check_text(path, "path", 2048),
        "actor": _check_text(actor, "actor", 64),
    }
    _validate(kind, limit, filters)
    clauses, params = _where(kind, user_id, filters)
    if cursor:
        params["cursor_ts"], params["cursor_id"] = _decode_cursor(kind, cursor)
        clauses.append("(ts, row_id) < ({cursor_ts:DateTime64(6, 'UTC')}, {cursor_id:UUID})")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # Only fixed identifiers and a validated int are formatted in; every value is a bound parameter.
    sql = (
        "SELECT formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS ts_text, toString(ts) AS ts_key, "  # noqa: S608
        f"toString(row_id) AS row_key, {_SELECT[kind]} FROM {TABLES[kind]}{where} "
        f"ORDER BY ts DESC, row_id DESC LIMIT {int(limit) + 1}"
    )
    result = client.query(sql, parameters=params, settings={"max_execution_time": max(1, round(timeout_s))})
    names = ["ts", *[name.strip() for name in _SELECT[kind].split(",")]]
    records = result.result_rows
    rows = [_to_row(kind, names, (record[0], *record[3:])) for record in records[:limit]]
    next_cursor = None
    if len(records) > limit:
        last = records[limit - 1]
        next_cursor = _encode_cursor(kind, last[1], last[2])
    return rows, next_cursor
