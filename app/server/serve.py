"""`python -m app serve|api`: check the database, bind the port, run uvicorn, and say in one line when ready.

Everything a first run trips over is answered in one plain line on stderr instead of a traceback: a database
that is not migrated (the embedded default migrates itself), a database that cannot be reached, a busy port.
"""

from __future__ import annotations

import errno
import socket
import sys

import uvicorn

from app.config import Settings
from app.db.migrations import pending_revisions, upgrade
from app.lib.logging import log_event
from app.server.http_limits import bounded_protocol

SANDBOX_HINT = "sandbox numbers +99966XYYYY (X = 1..3) log in with the code XXXXX, e.g. +9996611234 / 11111"


class StartupError(RuntimeError):
    """The process cannot serve; the message is the one line printed for the operator."""


def ready_line(settings: Settings, host: str, port: int) -> str:
    """`ready: http://127.0.0.1:8000/  dashboard, API docs at /schema, sandbox numbers …`."""
    # A wildcard listen address is not one a browser can open; this machine is reached on the loopback.
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    shown = f"[{shown}]" if ":" in shown else shown
    line = f"ready: http://{shown}:{port}/  dashboard at /dashboard/, API docs at /schema"
    if settings.telegram_mode == "sandbox":
        line += f", {SANDBOX_HINT}"
    return line


def ensure_migrated(settings: Settings, *, may_migrate: bool) -> None:
    """Raise StartupError unless the schema is at the newest revision; the embedded default upgrades itself."""
    try:
        pending = pending_revisions(settings)
    except Exception as exc:  # any driver error: the one line names the setting to look at
        raise StartupError(f"cannot open the database (DATABASE_URL): {exc}") from None
    if not pending:
        return
    if may_migrate:
        upgrade(settings)
        print(f"database migrated ({len(pending)} revision(s) applied)", file=sys.stderr)
        return
    raise StartupError("the database is not migrated: run `python -m app migrate` first")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy port is one clear line (uvicorn would log and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use: stop the other process or choose another PORT"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server that prints the ready line once the application started and the socket accepts."""

    def __init__(self, config: uvicorn.Config, announce: str, *, console: bool) -> None:
        super().__init__(config)
        self.announce = announce
        self.console = console

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        if self.console:
            print(self.announce, flush=True)
        else:
            log_event("info", "server", "server.ready", self.announce)


def serve(settings: Settings, host: str, port: int, *, api_only: bool) -> int:
    """Run the HTTP service until stopped; 2 with one printed line when it cannot start."""
    try:
        # Only the embedded default (development on the SQLite file in DATA_DIR) changes the schema by itself.
        ensure_migrated(settings, may_migrate=settings.app_env == "development" and settings.sqlite and not api_only)
        sock = bind(host, port)
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    bound_port = int(sock.getsockname()[1])  # PORT=0 picks a free one
    config = uvicorn.Config(
        "app.server.app:create_api_app" if api_only else "app.server.app:create_app",
        factory=True,
        host=host,
        port=bound_port,
        access_log=False,
        log_config=None,
        proxy_headers=False,  # the app applies forwarded headers itself, from FORWARDED_ALLOW_IPS only
        http=bounded_protocol(
            max_head_bytes=settings.max_request_head_bytes, max_header_count=settings.max_request_headers
        ),
    )
    announce = ready_line(settings, host, bound_port)
    server = AnnouncingServer(config, announce, console=settings.log_format == "console")
    server.run(sockets=[sock])
    return 0 if server.started else 1
