"""Clients for `chdb://<path>` (the in-process engine) and `http(s)://` (a ClickHouse server)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ProgrammingError

__all__ = ["ClickHouseConfigError", "make_client"]

_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ClickHouseConfigError(ValueError):
    """A CLICKHOUSE_DSN or schema setting that cannot work."""


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
        if importlib.util.find_spec("chdb") is None:
            raise ClickHouseConfigError(
                "the embedded ClickHouse engine (chdb) is not installed here (the production image leaves it out): "
                "set CLICKHOUSE_DSN to a ClickHouse server, or LOG_SHIPPING=stdout or off"
            )
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
