"""JSON-lines logging: one request or event object per stdout line, redacted, fanned out to sinks.

The line shapes are the Vector contract (see README): every key here is a column of `request_log` or
`event_log` plus `kind`. Sinks (e.g. the embedded ClickHouse shipper) receive the same row dict that was
printed; they must not mutate it and must return quickly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from app.lib.redaction import redact, redact_text

__all__ = [
    "LEVELS",
    "Row",
    "Sink",
    "StdlibBridgeHandler",
    "add_sink",
    "bind_request",
    "bind_user",
    "clear_request",
    "configure_logging",
    "console_line",
    "current_request_id",
    "current_user_id",
    "log_event",
    "log_request",
    "new_request_id",
    "remove_sink",
    "utc_timestamp",
]

Row = dict[str, Any]
Sink = Callable[[Row], None]
IdLike = str | uuid.UUID | None

LEVELS: Final = ("debug", "info", "warning", "error", "critical")
_LEVEL_NUMBERS: Final = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

_request_id: ContextVar[str | None] = ContextVar("log_request_id", default=None)
_user_id: ContextVar[str | None] = ContextVar("log_user_id", default=None)


def _encode_fallback(value: Any) -> Any:
    # Context may carry arbitrary objects (Decimal, Path, enums...): print their text, never fail the caller.
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_encode_fallback)


class _State:
    """Process-wide settings; swapped wholesale so the hot path reads without locking."""

    min_level: int = _LEVEL_NUMBERS["info"]
    stdout: bool = True
    console: bool = False
    sinks: tuple[Sink, ...] = ()


_state = _State()
_sinks_lock = threading.Lock()


def utc_timestamp(moment: datetime | None = None) -> str:
    """UTC ISO-8601 with microseconds and a trailing Z, the `ts` format of every line."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" -> "Z"; a third faster than strftime


def new_request_id() -> str:
    """A fresh request id (32 hex characters; random bytes, a quarter of uuid4's cost on every request)."""
    return os.urandom(16).hex()


def _id_text(value: IdLike) -> str | None:
    return None if value is None else str(value)


def bind_request(request_id: str | None, user_id: IdLike = None) -> None:
    """Bind the current request (and its user, if known) to this context; later lines pick them up."""
    _request_id.set(request_id)
    _user_id.set(_id_text(user_id))


def bind_user(user_id: IdLike) -> None:
    """Bind the authenticated user to the current context (after the token was checked)."""
    _user_id.set(_id_text(user_id))


def clear_request() -> None:
    """Forget the bound request and user (keep-alive connections reuse one context)."""
    _request_id.set(None)
    _user_id.set(None)


def current_request_id() -> str | None:
    return _request_id.get()


def current_user_id() -> str | None:
    return _user_id.get()


def add_sink(sink: Sink) -> None:
    """Register a callable that receives every emitted row dict (after redaction)."""
    with _sinks_lock:
        if sink not in _state.sinks:
            _state.sinks = (*_state.sinks, sink)


def remove_sink(sink: Sink) -> None:
    """Unregister a sink; unknown sinks are ignored."""
    with _sinks_lock:
        _state.sinks = tuple(s for s in _state.sinks if s != sink)


def console_line(row: Row) -> str:
    """A row as a person reads it in a terminal: time, then the request or the event, then its context."""
    clock = str(row.get("ts", ""))[11:19]
    if row.get("kind") == "request":
        user = f"  user {row['user_id']}" if row.get("user_id") else ""
        return f"{clock} {row['status']} {row['method']} {row['path']} {row['duration_ms']:.1f} ms{user}"
    context = dict(row.get("context") or {})
    exception = context.pop("exception", None)
    details = " ".join(f"{key}={value}" for key, value in context.items())
    line = f"{clock} {row.get('level', 'info'):<7} {row.get('source', '')}: {row.get('message', '')}"
    line += f"  [{row.get('event', '')}{' ' + details if details else ''}]"
    return f"{line}\n{exception}" if exception else line


def _emit(row: Row) -> None:
    if _state.stdout:
        line = (console_line(row) if _state.console else _encoder.encode(row).decode()) + "\n"
        with contextlib.suppress(OSError, ValueError):  # a closed stdout must never break a request
            sys.stdout.write(line)
    for sink in _state.sinks:
        with contextlib.suppress(Exception):  # a failing sink must not break the caller
            sink(row)


def log_request(
    method: str,
    path: str,
    route: str,
    status: int,
    duration_ms: float,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    user_id: IdLike = None,
) -> Row:
    """Print one request line; request_id/user_id default to the bound context."""
    row: Row = {
        "kind": "request",
        "ts": utc_timestamp(),
        "request_id": request_id or _request_id.get() or new_request_id(),
        "method": method,
        "path": redact_text(path),
        "route": route,
        "status": int(status),
        "duration_ms": round(float(duration_ms), 3),
        "user_id": _id_text(user_id) if user_id is not None else _user_id.get(),
        "ip": ip or "",
        "user_agent": redact_text(user_agent or ""),
    }
    _emit(row)
    return row


def _level_name(level: str | int) -> str:
    if isinstance(level, int):
        for name in reversed(LEVELS):
            if level >= _LEVEL_NUMBERS[name]:
                return name
        return "debug"
    name = level.lower()
    if name == "warn":
        return "warning"
    if name not in _LEVEL_NUMBERS:
        raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(LEVELS)}")
    return name


def log_event(
    level: str,
    source: str,
    event: str,
    message: str,
    *,
    context: Mapping[str, Any] | None = None,
    user_id: IdLike = None,
    profile_id: IdLike = None,
    channel_id: IdLike = None,
    request_id: str | None = None,
) -> Row | None:
    """Print one business-event line (redacted); returns the row, or None when below the configured level."""
    name = _level_name(level)
    if _LEVEL_NUMBERS[name] < _state.min_level:
        return None
    row: Row = {
        "kind": "event",
        "ts": utc_timestamp(),
        "level": name,
        "source": source,
        "event": event,
        "message": redact_text(message),
        "context": redact(context) if context else {},
        "user_id": _id_text(user_id) if user_id is not None else _user_id.get(),
        "profile_id": _id_text(profile_id),
        "channel_id": _id_text(channel_id),
        "request_id": request_id if request_id is not None else _request_id.get(),
    }
    _emit(row)
    return row


class StdlibBridgeHandler(logging.Handler):
    """Turns stdlib `logging` records (telethon, uvicorn, libraries) into event lines."""

    _guard = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._guard, "active", False):
            return  # a sink logging through stdlib while we emit: drop rather than recurse
        self._guard.active = True
        try:
            context: dict[str, Any] = {"logger": record.name, "module": record.module, "line": record.lineno}
            if record.exc_info:
                context["exception"] = self.formatter_exception(record)
            log_event(
                _level_name(record.levelno),
                record.name,
                "log.record",
                record.getMessage(),
                context=context,
            )
        except Exception:
            self.handleError(record)
        finally:
            self._guard.active = False

    @staticmethod
    def formatter_exception(record: logging.LogRecord) -> str:
        assert record.exc_info is not None
        return logging.Formatter().formatException(record.exc_info)


def configure_logging(
    level: str | int = "info", *, stdout: bool = True, bridge_level: str | int = "warning", console: bool = False
) -> None:
    """Set the minimum event level and stdout printing, and route stdlib records at bridge_level+ to lines.

    `console=True` prints readable lines instead of JSON (development); sinks receive the same rows either way.
    """
    _state.min_level = _LEVEL_NUMBERS[_level_name(level)]
    _state.stdout = stdout
    _state.console = console
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, StdlibBridgeHandler):
            root.removeHandler(handler)
    bridge = StdlibBridgeHandler(level=_LEVEL_NUMBERS[_level_name(bridge_level)])
    root.addHandler(bridge)
    if root.level == logging.NOTSET or root.level > bridge.level:
        root.setLevel(bridge.level)
