"""ClickHouse for the logs: clients for chdb:// and http(s)://, the schema, the embedded shipper, queries.

chdb constraints (chdb 4.4 / engine 26.9, found by experiment, see tests/lib/conftest.py):
- One engine per process, bound to ONE data path. Any number of clients may be open on that path (each
  has its own handle, its own USE/SET state and its own lock, so they are thread-safe and isolated); opening
  a different path (":memory:" included) while any client is open raises "EmbeddedServer already
  initialized with path ...". After every client is closed the engine can reopen on another path.
  So: one `chdb://` DSN per process; close clients you open (tests share one engine path per module).
- Calls on one client are serialised by its lock; use separate clients for the shipper and for queries
  so a slow query never stalls inserts (both on the same path is fine).
- `chdb://data/clickhouse` is a RELATIVE path here (clickhouse-connect itself would read "data" as the
  path and "clickhouse" as the database); the database comes from `?database=` and defaults to "default".
- Datetimes come back without their zone, so timestamps are formatted server-side in UTC.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import clickhouse_connect
import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ProgrammingError

from app.lib import logging as applog
from app.lib.errors import BadRequest

__all__ = [
    "EVENT_COLUMNS",
    "REQUEST_COLUMNS",
    "SCHEMA_DIR",
    "TABLES",
    "ClickHouseConfigError",
    "LogQueryError",
    "LogShipper",
    "apply_schema",
    "encode_json_each_row",
    "make_client",
    "query_logs",
]

SCHEMA_DIR: Final = Path(__file__).resolve().parents[2] / "config" / "clickhouse"
RETENTION_PLACEHOLDER: Final = "__RETENTION_DAYS__"
TABLES: Final = {"request": "request_log", "event": "event_log"}
REQUEST_COLUMNS: Final = (
    "ts", "request_id", "method", "path", "route", "status", "duration_ms", "user_id", "ip", "user_agent",
)  # fmt: skip
EVENT_COLUMNS: Final = (
    "ts", "level", "source", "event", "message", "context",
    "user_id", "profile_id", "channel_id", "request_id",
)  # fmt: skip
# What Vector's sink asks of the server, so embedded and production inserts behave alike.
INSERT_SETTINGS: Final = {"input_format_skip_unknown_fields": 0, "date_time_input_format": "best_effort"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ClickHouseConfigError(ValueError):
    """A CLICKHOUSE_DSN or schema setting that cannot work."""


class LogQueryError(BadRequest):
    """A bad filter or cursor for the log query (maps to 400 with a precise code)."""

    code = "invalid_log_query"


# --------------------------------------------------------------------------------------------- clients


def _chdb_location(dsn: str) -> tuple[str | None, str]:
    rest = dsn[len("chdb://") :]
    location, _, query = rest.partition("?")
    database = parse_qs(query).get("database", ["default"])[0]
    location = unquote(location)
    if location in ("", "memory", ":memory:"):
        return None, database
    return location, database


def _use_database(client: Client, database: str) -> Client:
    if not _IDENTIFIER.match(database):
        raise ClickHouseConfigError(f"CLICKHOUSE_DSN database {database!r} is not a plain identifier")
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.database = database
    return client


def make_client(dsn: str, *, connect_timeout_s: float = 5.0, query_timeout_s: float = 30.0) -> Client:
    """Open a clickhouse-connect client for `chdb://<path>[?database=db]` or `http(s)://user:pass@host:port/db`.

    The database is created if missing. Close the client when done (chdb: one engine path per process).
    """
    if dsn.startswith("chdb:"):
        if not dsn.startswith("chdb://"):
            raise ClickHouseConfigError("CLICKHOUSE_DSN must look like chdb://<path> or chdb://memory")
        path, database = _chdb_location(dsn)
        if path is not None:
            Path(path).mkdir(parents=True, exist_ok=True)
        try:
            client = clickhouse_connect.get_client(interface="chdb", path=path)
        except ProgrammingError as ex:
            raise ClickHouseConfigError(
                f"cannot open the chdb engine at {path or ':memory:'}: one engine path per process ({ex})"
            ) from ex
        return _use_database(client, database)
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClickHouseConfigError("CLICKHOUSE_DSN must be chdb://<path> or http(s)://user:pass@host:port/db")
    database = unquote(parts.path.strip("/")) or "default"
    client = clickhouse_connect.get_client(
        host=parts.hostname,
        port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        secure=parts.scheme == "https",
        connect_timeout=connect_timeout_s,
        send_receive_timeout=query_timeout_s,
        # A shared session would make concurrent queries from threads fail with SESSION_IS_LOCKED.
        autogenerate_session_id=False,
    )
    return _use_database(client, database)


# ---------------------------------------------------------------------------------------------- schema


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def apply_schema(client: Client, retention_days: int, *, schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Create the log tables if missing and set their TTL to `retention_days`; safe on every start."""
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise ClickHouseConfigError("LOG_RETENTION_DAYS must be an integer")
    if not 1 <= retention_days <= 36500:
        raise ClickHouseConfigError("LOG_RETENTION_DAYS must be between 1 and 36500")
    files = sorted(schema_dir.glob("*.sql"))
    if not files:
        raise ClickHouseConfigError(f"no ClickHouse schema files in {schema_dir}")
    for file in files:
        for statement in _statements(file.read_text(encoding="utf-8")):
            client.command(statement.replace(RETENTION_PLACEHOLDER, str(retention_days)))
    for table in TABLES.values():
        _ensure_ttl(client, table, retention_days)
    return [file.stem for file in files]


def _ensure_ttl(client: Client, table: str, retention_days: int) -> None:
    engine_full = client.command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        parameters={"t": table},
    )
    if f"toIntervalDay({retention_days})" in str(engine_full):
        return  # unchanged: no ALTER, so replicas starting together don't queue mutations
    client.command(f"ALTER TABLE {table} MODIFY TTL toDateTime(ts) + INTERVAL {retention_days} DAY")


# --------------------------------------------------------------------------------------------- shipper

_row_encoder = msgspec.json.Encoder(enc_hook=str)


def encode_json_each_row(rows: Iterable[applog.Row]) -> bytes:
    """JSONEachRow body as Vector sends it: each printed line minus `kind`, `context` as JSON text."""
    out = bytearray()
    for row in rows:
        record = {key: value for key, value in row.items() if key != "kind"}
        if "context" in record and not isinstance(record["context"], str):
            record["context"] = _row_encoder.encode(record["context"]).decode()
        out += _row_encoder.encode(record)
        out += b"\n"
    return bytes(out)


class LogShipper:
    """A logging sink that inserts rows into ClickHouse in batches from a background thread.

    The caller only appends to a bounded buffer under a short lock: it never waits for ClickHouse. When the
    buffer is full the newest row is dropped and counted; drops are reported by a periodic warning line.
    """

    def __init__(
        self,
        client: Client,
        *,
        buffer_size: int = 10_000,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        report_interval_s: float = 30.0,
    ) -> None:
        if buffer_size < 1 or batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("buffer_size and batch_size must be >= 1 and flush_interval_s > 0")
        self._client = client
        self._buffer: collections.deque[applog.Row] = collections.deque()
        self._buffer_size = buffer_size
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._report_interval_s = report_interval_s
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.shipped = 0
        self.dropped = 0
        self.failed_batches = 0
        self.failed_rows = 0
        self._reported_dropped = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def stats(self) -> dict[str, int]:
        """Counters for /metrics and tests."""
        return {
            "buffered": self.buffered,
            "shipped": self.shipped,
            "dropped": self.dropped,
            "failed_batches": self.failed_batches,
            "failed_rows": self.failed_rows,
        }

    def __call__(self, row: applog.Row) -> None:
        """The sink: enqueue a row, or count it as dropped when the buffer is full."""
        if row.get("kind") not in TABLES:
            return
        with self._lock:
            if len(self._buffer) >= self._buffer_size:
                self.dropped += 1
                return
            self._buffer.append(row)
            full_batch = len(self._buffer) >= self._batch_size
        if full_batch:
            self._wake.set()

    def start(self, *, register: bool = True) -> None:
        """Start the flusher thread and (by default) register as a sink of app.lib.logging."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()
        if register:
            applog.add_sink(self)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Unregister, stop the thread and flush what is left."""
        applog.remove_sink(self)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.flush()
        self._report_drops()

    def flush(self) -> None:
        """Insert everything buffered now, batch by batch (called by the thread; safe to call directly)."""
        with self._flush_lock:
            while batch := self._take_batch():
                self._ship(batch)

    def _take_batch(self) -> list[applog.Row]:
        with self._lock:
            count = min(self._batch_size, len(self._buffer))
            return [self._buffer.popleft() for _ in range(count)]

    def _ship(self, batch: Sequence[applog.Row]) -> None:
        by_table: dict[str, list[applog.Row]] = {}
        for row in batch:
            by_table.setdefault(TABLES[row["kind"]], []).append(row)
        for table, rows in by_table.items():
            try:
                self._client.raw_insert(
                    table,
                    insert_block=encode_json_each_row(rows),
                    fmt="JSONEachRow",
                    settings=INSERT_SETTINGS,
                )
            except Exception as ex:
                self.failed_batches += 1
                self.failed_rows += len(rows)
                applog.log_event(
                    "error",
                    "logs",
                    "logs.ship_failed",
                    f"could not insert {len(rows)} rows into {table}: {type(ex).__name__}",
                    context={"table": table, "rows": len(rows), "error": str(ex)[:500]},
                )
            else:
                self.shipped += len(rows)

    def _report_drops(self) -> None:
        dropped = self.dropped
        if dropped > self._reported_dropped:
            applog.log_event(
                "warning",
                "logs",
                "logs.dropped",
                f"log buffer full: {dropped - self._reported_dropped} rows dropped",
                context={
                    "dropped_since_last_report": dropped - self._reported_dropped,
                    "dropped_total": dropped,
                },
            )
            self._reported_dropped = dropped

    def _run(self) -> None:
        last_report = time.monotonic()
        while not self._stopping.is_set():
            self._wake.wait(self._flush_interval_s)
            self._wake.clear()
            self.flush()
            if time.monotonic() - last_report >= self._report_interval_s:
                self._report_drops()
                last_report = time.monotonic()


# --------------------------------------------------------------------------------------------- queries

_SELECT: Final = {
    "request": "request_id, method, path, route, status, duration_ms, user_id, ip, user_agent",
    "event": "level, source, event, message, context, user_id, profile_id, channel_id, request_id",
}
_TEXT_SEARCH: Final = {
    "request": ("path", "user_agent", "route"),
    "event": ("message", "event", "context", "source"),
}
_KIND_ONLY_FILTERS: Final = {
    "request": {"level", "profile_id", "channel_id"},
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
