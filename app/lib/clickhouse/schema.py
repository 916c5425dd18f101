"""The log tables: DDL files in config/clickhouse/, applied idempotently with the retention as TTL."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from clickhouse_connect.driver.client import Client

from app.lib.clickhouse.client import ClickHouseConfigError

__all__ = ["EVENT_COLUMNS", "REQUEST_COLUMNS", "SCHEMA_DIR", "TABLES", "apply_schema"]

SCHEMA_DIR: Final = Path(__file__).resolve().parents[3] / "config" / "clickhouse"
RETENTION_PLACEHOLDER: Final = "__RETENTION_DAYS__"
TABLES: Final = {"request": "request_log", "event": "event_log"}
REQUEST_COLUMNS: Final = (
    "ts", "request_id", "method", "path", "route", "status", "duration_ms", "user_id", "ip", "user_agent",
)  # fmt: skip
EVENT_COLUMNS: Final = (
    "ts", "level", "source", "event", "message", "context",
    "user_id", "profile_id", "channel_id", "request_id",
)  # fmt: skip


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
