"""The embedded shipper: a logging sink that inserts rows into ClickHouse in batches from its own thread."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Final

import msgspec
from clickhouse_connect.driver.client import Client

from app.lib import logging as applog
from app.lib.clickhouse.schema import TABLES

__all__ = ["INSERT_SETTINGS", "LogShipper", "encode_json_each_row"]

# What Vector's sink asks of the server, so embedded and production inserts behave alike.
INSERT_SETTINGS: Final = {"input_format_skip_unknown_fields": 0, "date_time_input_format": "best_effort"}

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

    `client` is an open client (the caller closes it) or a function that opens one: then the flusher thread
    opens it on its first flush (chdb takes ~0.5 s to start, which must not delay the caller), retries on
    every flush while it fails (rows keep buffering, bounded), and closes it on `stop()`.
    """

    def __init__(
        self,
        client: Client | Callable[[], Client],
        *,
        buffer_size: int = 10_000,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        report_interval_s: float = 30.0,
    ) -> None:
        if buffer_size < 1 or batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("buffer_size and batch_size must be >= 1 and flush_interval_s > 0")
        self._client: Client | None = client if isinstance(client, Client) else None
        self._open_client = None if isinstance(client, Client) else client
        self.last_error: str | None = None
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
        if self._open_client is not None and self._client is not None:
            with self._flush_lock:
                self._client.close()
                self._client = None

    def flush(self) -> None:
        """Insert everything buffered now, batch by batch (called by the thread; safe to call directly)."""
        with self._flush_lock:
            client = self._connected_client()
            if client is None:
                return  # rows stay buffered (bounded) until the client opens
            while batch := self._take_batch():
                self._ship(client, batch)

    def connect(self) -> bool:
        """Open a lazily opened client now (blocking, e.g. to know the schema exists); True when connected."""
        with self._flush_lock:
            return self._connected_client() is not None

    def _connected_client(self) -> Client | None:
        if self._client is None and self._open_client is not None:
            try:
                self._client = self._open_client()
            except Exception as ex:
                error = f"{type(ex).__name__}: {ex}"[:500]
                if error != self.last_error:  # report each distinct failure once, not on every retry
                    applog.log_event(
                        "error", "logs", "logs.ship_unavailable", "cannot open the log store; rows stay buffered",
                        context={"error": error},
                    )  # fmt: skip
                self.last_error = error
                return None
            self.last_error = None
        return self._client

    def _take_batch(self) -> list[applog.Row]:
        with self._lock:
            count = min(self._batch_size, len(self._buffer))
            return [self._buffer.popleft() for _ in range(count)]

    def _ship(self, client: Client, batch: Sequence[applog.Row]) -> None:
        by_table: dict[str, list[applog.Row]] = {}
        for row in batch:
            by_table.setdefault(TABLES[row["kind"]], []).append(row)
        for table, rows in by_table.items():
            try:
                client.raw_insert(
                    table,
                    insert_block=encode_json_each_row(rows),
                    fmt="JSONEachRow",
                    settings=INSERT_SETTINGS,
                )
            except Exception as ex:
                self.failed_batches += 1
                self.failed_rows += len(rows)
                self.last_error = f"{type(ex).__name__}: {ex}"[:500]
                applog.log_event(
                    "error",
                    "logs",
                    "logs.ship_failed",
                    f"could not insert {len(rows)} rows into {table}: {type(ex).__name__}",
                    context={"table": table, "rows": len(rows), "error": str(ex)[:500]},
                )
            else:
                self.shipped += len(rows)
                self.last_error = None

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
