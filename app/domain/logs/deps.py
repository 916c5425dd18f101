"""What `GET /logs` receives by injection, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import Provide

from app.domain.logs.store import LogStore
from app.lib.di import provide_value


@dataclass(frozen=True, slots=True)
class LogQueries:
    store: LogStore
    timeout_s: int  # LOGS_QUERY_TIMEOUT_S


def dependencies(queries: LogQueries) -> dict[str, Provide]:
    return {"log_queries": provide_value(queries)}
