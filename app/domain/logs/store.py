"""The ClickHouse side of the logs in one process: the embedded shipper and the client `GET /logs` queries.

Modes (`LOG_SHIPPING`): `embedded` ships every printed row through a `LogShipper` (its own client, opened and
schema-checked in the shipper's thread so start-up never waits ~0.5 s for chdb) and queries `CLICKHOUSE_DSN`;
`stdout` only prints (Vector ships) and queries `CLICKHOUSE_DSN` when one is set; `off` neither ships nor
queries. Logs are not needed to serve requests, so every failure here is reported, never raised at start-up.
"""

from __future__ import annotations

import threading
from typing import Any

from clickhouse_connect.driver.client import Client

from app.config import Settings
from app.lib.clickhouse import LogShipper, apply_schema, make_client


class LogStore:
    def __init__(self, settings: Settings) -> None:
        self.mode = settings.log_shipping
        self._dsn = settings.clickhouse_dsn
        self._retention_days = settings.log_retention_days
        self._query_timeout_s = settings.logs_query_timeout_s
        self._buffer = (settings.log_buffer_size, settings.log_batch_size, settings.log_flush_interval_s)
        self._shipper: LogShipper | None = None
        self._query_client: Client | None = None
        self._query_lock = threading.Lock()

    @property
    def queryable(self) -> bool:
        """Whether `GET /logs` has somewhere to look."""
        return self._dsn is not None and self.mode != "off"

    @property
    def shipping(self) -> bool:
        return self._dsn is not None and self.mode == "embedded"

    def start(self) -> None:
        """Register the shipper as a logging sink (non-blocking: its thread opens the client)."""
        if self.shipping and self._shipper is None:
            buffer_size, batch_size, flush_interval_s = self._buffer
            self._shipper = LogShipper(
                self._open_with_schema,
                buffer_size=buffer_size,
                batch_size=batch_size,
                flush_interval_s=flush_interval_s,
            )
            self._shipper.start()

    def stop(self) -> None:
        """Flush and stop the shipper, close every client (blocking: call from a worker thread)."""
        if self._shipper is not None:
            self._shipper.stop()
            self._shipper = None
        with self._query_lock:
            if self._query_client is not None:
                self._query_client.close()
                self._query_client = None

    def flush(self) -> None:
        """Insert every buffered row now (blocking)."""
        if self._shipper is not None:
            self._shipper.flush()

    def query_client(self) -> Client:
        """The client for queries, opened on first use (blocking: call from a worker thread)."""
        if not self.queryable:
            raise RuntimeError("log queries are not configured")
        with self._query_lock:
            if self._query_client is None:
                # The tables are created by the shipper (embedded) or by `migrate` (production).
                if self._shipper is not None and not self._shipper.connect():
                    raise ConnectionError(self._shipper.last_error or "the log store is not reachable")
                assert self._dsn is not None
                self._query_client = make_client(self._dsn, query_timeout_s=self._query_timeout_s + 5)
            return self._query_client

    def ping(self) -> None:
        """Raise when the log store cannot be queried or the last shipment failed (blocking)."""
        self.query_client().command("SELECT 1")
        if self._shipper is not None and self._shipper.last_error:
            raise ConnectionError(f"shipping fails: {self._shipper.last_error}")

    def details(self) -> dict[str, Any]:
        """The mode and the shipper's counters, for `GET /health`."""
        details: dict[str, Any] = {"mode": self.mode, "queryable": self.queryable}
        if self._shipper is not None:
            details["shipper"] = self._shipper.stats()
        return details

    def _open_with_schema(self) -> Client:
        assert self._dsn is not None
        client = make_client(self._dsn)
        try:
            apply_schema(client, self._retention_days)
        except BaseException:
            client.close()
            raise
        return client
