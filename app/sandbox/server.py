"""`SandboxDC`: the asyncio TCP server that ties connections, state, updates and the control API together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import keys
from .actions import Actions
from .control import Control
from .dcs import Transfers
from .faults import Counters, ErrorInjector
from .files import FileStore
from .limits import SandboxLimits, UsernameLookups
from .persistence import read_state_file, write_state_file
from .session import Connection
from .state import ClientInit, SandboxState
from .updates import UpdateHub

if TYPE_CHECKING:
    from .demo import DemoTraffic
    from .handlers.qr_login import LoginToken
    from .srp import SrpChallenge

log = logging.getLogger(__name__)

SAVE_DELAY_SECONDS = 1.0


class SandboxDC:
    """An offline MTProto data center that an unmodified Telethon client can log in to.

    With several `dc_ids` it is that many data-centers (one listener each) sharing one world; `dc_id`, `host` and
    `port` name the first, where clients start (see `dcs.py` for which DC answers what).
    """

    def __init__(
        self, state_path: Path | str | None = None, *, seed_demo: bool = False, dc_ids: Sequence[int] = (2,)
    ) -> None:
        if not dc_ids or len(set(dc_ids)) != len(dc_ids) or not all(1 <= d <= 5 for d in dc_ids):
            raise ValueError("dc_ids must be distinct data-center ids 1-5")
        self.dc_ids: tuple[int, ...] = tuple(dc_ids)
        self.dc_id = self.dc_ids[0]
        # Every listener's address by DC id, once started (help.getConfig lists them).
        self.listeners: dict[int, tuple[str, int]] = {}
        self.transfers = Transfers()
        self.login_tokens: dict[bytes, LoginToken] = {}  # QR login (handlers/qr_login.py), not persisted
        self.state_path = Path(state_path) if state_path is not None else None
        self.state: SandboxState = read_state_file(self.state_path) if self.state_path else SandboxState()
        self.public_key_pem: str = keys.PUBLIC_KEY_PEM
        # 16-byte MTProxy secrets: obfuscated2 clients keyed with one of them are accepted as if through that proxy.
        self.proxy_secrets: list[bytes] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.hub = UpdateHub()
        # File contents on disk: beside the state file when there is one, else in a temporary directory.
        files_root = self.state_path.with_name(self.state_path.name + ".files") if self.state_path else None
        self.files = FileStore(files_root, self.dc_id)
        self.counters = Counters()
        self.injector = ErrorInjector()
        self.limits = SandboxLimits()
        self.username_lookups = UsernameLookups(self.limits)
        self.actions = Actions(self)
        self.control = Control(self)
        self.srp_challenges: dict[int, SrpChallenge] = {}
        self.new_password_salts: dict[int, bytes] = {}  # per auth key: the salt1 its last getPassword offered
        # Every initConnection seen, with its auth key id, in order (not persisted): what clients said they are.
        self.client_inits: list[tuple[int, ClientInit]] = []
        # Connections already checked for concurrent use of their key (AUTH_KEY_DUPLICATED rule, router.py).
        self.concurrency_examined: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._connections: set[Connection] = set()
        self._live_by_key: dict[int, list[Connection]] = {}
        self._servers: list[asyncio.Server] = []
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._save_handle: asyncio.TimerHandle | None = None
        self._dirty = False
        self._traffic: DemoTraffic | None = None
        if seed_demo:
            from .demo import seed_demo_world

            seed_demo_world(self)

    # Lifecycle -----------------------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0, ports: Mapping[int, int] | None = None) -> int:
        """Start one listener per DC; returns the first DC's port (also `self.port`).

        The first DC listens on `port`; the others on `ports[dc_id]`, else on port+1, port+2... (any free port
        when `port` is 0).
        """
        for index, dc_id in enumerate(self.dc_ids):
            wanted = port if index == 0 else (ports or {}).get(dc_id, port + index if port else 0)
            server = await asyncio.start_server(functools.partial(self._accept, dc_id), host, wanted)
            self._servers.append(server)
            self.listeners[dc_id] = (host, server.sockets[0].getsockname()[1])
            log.info("sandbox DC %d listening on %s:%d", dc_id, host, self.listeners[dc_id][1])
        self.host = host
        self.port = self.listeners[self.dc_id][1]
        if self._dirty:
            self.save()
        return self.port

    def address(self, dc_id: int) -> tuple[str, int]:
        """Where DC `dc_id` listens (the first DC's address before start)."""
        return self.listeners.get(dc_id, (self.host, self.port))

    async def stop(self) -> None:
        """Stop the traffic generator, close every connection and flush the state file."""
        if self._traffic is not None:
            await self._traffic.stop()
            self._traffic = None
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.close()
        for task in [*self._conn_tasks, *self._background]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._conn_tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self._servers = []
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        self.save()

    async def __aenter__(self) -> SandboxDC:
        if not self._servers:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_demo_traffic(self, interval: float = 5.0) -> DemoTraffic:
        """Start (or restart) the demo traffic generator inside this event loop."""
        from .demo import DemoTraffic, seed_demo_world

        seed_demo_world(self)
        if self._traffic is not None:
            self._traffic.cancel()
        self._traffic = DemoTraffic(self, interval)
        self._traffic.start()
        return self._traffic

    def run_in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task that lives until it ends or the sandbox stops."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _accept(self, dc_id: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer, dc_id)
        self._connections.add(conn)
        self.counters.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        try:
            await conn.serve()
        finally:
            if task is not None:
                self._conn_tasks.discard(task)

    # Persistence ---------------------------------------------------------------------------------------------
    def mark_dirty(self) -> None:
        """Schedule a (debounced) save; in-memory sandboxes ignore it."""
        self._dirty = True
        if self.state_path is None or self._save_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # saved on start() or stop()
        self._save_handle = loop.call_later(SAVE_DELAY_SECONDS, self.save)

    def save(self) -> None:
        self._save_handle = None
        if self.state_path is None or not self._dirty:
            return
        self._dirty = False
        write_state_file(self.state_path, self.state)

    # Connections, keys and users -------------------------------------------------------------------------
    def register_auth_key(self, key_id: int, key: bytes, dc_id: int) -> None:
        self.state.add_auth_key(key_id, key, dc_id)
        self.counters.handshakes += 1
        self.mark_dirty()

    def bind_connection_to_key(self, conn: Connection) -> None:
        assert conn.auth_key is not None
        for conns in self._live_by_key.values():
            if conn in conns:
                conns.remove(conn)
        self._live_by_key.setdefault(conn.auth_key.key_id, []).append(conn)

    def connections_of_key(self, key_id: int) -> list[Connection]:
        return [conn for conn in self._live_by_key.get(key_id, []) if not conn.closed.is_set()]

    def older_live_connections(self, conn: Connection) -> list[Connection]:
        """Open connections that bound the same key before `conn` did, with another session id."""
        if conn.auth_key is None:
            return []
        return [
            other
            for other in self._live_by_key.get(conn.auth_key.key_id, [])
            if other is not conn
            and not other.closed.is_set()
            and other.session_id != conn.session_id
            and other.bound_at < conn.bound_at
        ]

    def attach_user(self, conn: Connection, user_id: int, *, catch_up: bool = False) -> None:
        """Route the user's updates to this connection from now on."""
        if conn.user_id == user_id:
            return
        if conn.user_id is not None:
            self.hub.unbind(conn, conn.user_id)
        conn.user_id = user_id
        self.hub.bind(user_id, conn)
        if catch_up and conn.receive_updates:
            # Like Telegram after a reconnect: nudge the client to fetch what it missed while offline.
            conn.push_updates_too_long()

    def detach_user(self, conn: Connection) -> None:
        if conn.user_id is not None:
            self.hub.unbind(conn, conn.user_id)
            conn.user_id = None

    def on_connection_closed(self, conn: Connection) -> None:
        self._connections.discard(conn)
        if conn.auth_key is not None:
            conns = self._live_by_key.get(conn.auth_key.key_id)
            if conns and conn in conns:
                conns.remove(conn)
                if not conns:
                    del self._live_by_key[conn.auth_key.key_id]
        self.detach_user(conn)

    def connections(self, user_id: int | None = None) -> list[Connection]:
        return [c for c in self._connections if user_id is None or c.user_id == user_id]

    @property
    def open_connections(self) -> int:
        return len(self._connections)
