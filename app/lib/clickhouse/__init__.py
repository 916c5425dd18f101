"""ClickHouse for the logs: clients for chdb:// and http(s):// (`client`), the schema (`schema`), the embedded
shipper (`shipper`) and the queries of `GET /logs` (`query`).

chdb constraints (chdb 4.4 / engine 26.9, found by experiment, see tests/conftest.py):
- One engine per process, bound to ONE data path. Any number of clients may be open on that path (each
  has its own handle, its own USE/SET state and its own lock, so they are thread-safe and isolated); opening
  a different path (":memory:" included) while any client is open raises "EmbeddedServer already
  initialized with path ...". After every client is closed the engine can reopen on another path.
  So: one `chdb://` DSN per process; close clients you open (the test suite shares one engine path).
- Calls on one client are serialised by its lock; use separate clients for the shipper and for queries
  so a slow query never stalls inserts (both on the same path is fine).
- `chdb://data/clickhouse` is a RELATIVE path here (clickhouse-connect itself would read "data" as the
  path and "clickhouse" as the database); the database comes from `?database=` and defaults to "default".
- Datetimes come back without their zone, so timestamps are formatted server-side in UTC.
"""

from __future__ import annotations

from app.lib.clickhouse.client import ClickHouseConfigError, make_client
from app.lib.clickhouse.query import LogQueryError, query_logs
from app.lib.clickhouse.schema import EVENT_COLUMNS, REQUEST_COLUMNS, SCHEMA_DIR, TABLES, apply_schema
from app.lib.clickhouse.shipper import INSERT_SETTINGS, LogShipper, encode_json_each_row

__all__ = [
    "EVENT_COLUMNS",
    "INSERT_SETTINGS",
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
