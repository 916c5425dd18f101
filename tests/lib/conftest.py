"""The real ClickHouse engine (chdb) for the lib tests.

chdb hosts one engine per process on ONE data path: clients on that path can be many, but opening another
path (":memory:" too) while any client is open fails with "EmbeddedServer already initialized with path".
So the whole suite shares one engine path (`chdb_path` in tests/conftest.py, kept open by an anchor client),
and tests here isolate themselves with a fresh database each.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from app.lib import logging as applog
from app.lib.clickhouse import apply_schema, make_client


@pytest.fixture
def ch_dsn(chdb_path: Path) -> str:
    """A chdb DSN on the shared engine path with a database of its own."""
    return f"chdb://{chdb_path}?database=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def ch(ch_dsn: str) -> Iterator[Client]:
    """A client on a fresh database with the log schema applied."""
    client = make_client(ch_dsn)
    apply_schema(client, 30)
    try:
        yield client
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{client.database}`")
        client.close()


@pytest.fixture(autouse=True)
def _logging_defaults() -> Iterator[None]:
    """Every test starts with default logging state and no bound request."""
    applog.configure_logging("debug")
    applog.clear_request()
    yield
    applog.configure_logging("info")
    applog.clear_request()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, applog.StdlibBridgeHandler)]:
        root.removeHandler(handler)
