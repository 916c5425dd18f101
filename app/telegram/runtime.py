"""The Telegram runtime: one Telethon client per active profile, owned by exactly one process.

Each active profile gets a supervisor task that takes the profile's lease, connects with bounded concurrency (the
whole connect phase with its database reads, so a thousand profiles starting at once never empty the pool),
keeps the lease renewed, and reconnects with backoff after transient failures. An authorization error (ban,
revoked or unknown key) marks the profile and stops its supervisor: it never crash-loops. Telegram pushes no
such news: every call's error passes `AccountWatch` (app.telegram.health), and the health monitor (a background
service, app.domain.profiles.health) runs each connected profile's check (`check_health`) once per
`PROFILE_HEALTH_INTERVAL_S`, so a ban is found at the next call or within that interval.

A connection ends in one order, whatever ends it (a worker joining, SIGTERM, a lost lease): the client is
disconnected (intake stops), the release hooks commit what it queued, and only then is the lease released,
so the next owner catches up from a checkpoint that covers everything this one stored. What a refusal, a failed
proxy or the account check does to a connection: app.telegram.account_verdicts. How the lease is taken,
kept and held while draining, so one session is never live twice: app.telegram.profile_lease. What the runtime
and the rest of the service hand each other: app.telegram.runtime_contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from typing import Any
from uuid import UUID

from telethon import TelegramClient, functions, types

from app.lib.logging import log_event
from app.telegram.account_verdicts import AccountVerdicts
from app.telegram.connector import TelegramConnector
from app.telegram.errors import status_for
from app.telegram.exclusive import exclusive_client
from app.telegram.health import AccountWatch
from app.telegram.lease_renewals import LeaseRenewals
from app.telegram.leases import LeaseStore
from app.telegram.membership import Membership, SingleProcessMembership, rendezvous_owner
from app.telegram.profile_lease import ProfileLease
from app.telegram.records import account_info
from app.telegram.runtime_contract import (
    ClientHook,
    ConnectedProfile,
    Ending,
    PrepareHook,
    ProfileCredentials,
    ProfileSource,
    ReleaseHook,
)

DEACTIVATE_RECHECK_S = 1.0  # how often `deactivate` checks that its cancellation was honoured


class ProfileRuntime(AccountVerdicts):
    def __init__(
        self,
        *,
        connector: TelegramConnector,
        source: ProfileSource,
        leases: LeaseStore,
        lease_ttl_ms: int = 15_000,
        connect_concurrency: int = 20,
        backoff_max_s: float = 60.0,
        instance_id: str | None = None,
        membership: Membership | None = None,
        reconcile_interval_s: float = 5.0,
        limited_recheck_s: float = 0.0,
    ) -> None:
        self.connector = connector
        self.source = source
        self.leases = leases
        self.membership = membership or SingleProcessMembership()
        self.reconcile_interval_s = reconcile_interval_s
        self.limited_recheck_s = limited_recheck_s
        self._workers: list[str] = []
        self._background: list[asyncio.Task[None]] = []
        self._retired: set[UUID] = set()
        self.running = False
        self.lease_ttl_ms = lease_ttl_ms
        self.instance_id = instance_id or uuid.uuid4().hex
        self.lease_renewals = LeaseRenewals(leases, self.instance_id, lease_ttl_ms)  # one round for all leases
        self._connect_slots = asyncio.Semaphore(connect_concurrency)
        self._backoff_max_s = backoff_max_s
        self._supervisors: dict[UUID, asyncio.Task[None]] = {}
        self._connected: dict[UUID, ConnectedProfile] = {}
        self._watches: dict[UUID, AccountWatch] = {}  # the connected profiles' health checks (check_health)
        self._ready: dict[UUID, asyncio.Event] = {}
        self._ending: set[asyncio.Task[Any]] = set()  # supervisors ending a connection (see `deactivate`)
        self.hooks: list[ClientHook] = []
        self.prepare_hooks: list[PrepareHook] = []
        self.release_hooks: list[ReleaseHook] = []
        self.drain_timeout_s = max(10.0, 3 * lease_ttl_ms / 1000)
        self._stopping = False
        self._refused: dict[UUID, str] = {}
        self._pending: set[asyncio.Future[Any]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the live workers and supervise every profile that should be connected."""
        self._stopping = False
        self.running = True
        await self._refresh_membership()
        await self.reconcile()
        self._background = [
            asyncio.create_task(self._membership_loop(), name="runtime-membership"),
            asyncio.create_task(self._reconcile_loop(), name="runtime-reconcile"),
        ]

    async def stop(self) -> None:
        """Leave the workers, disconnect every client and release every lease (a clean hand-over)."""
        self._stopping = True
        self.running = False
        for task in self._background:
            task.cancel()
        self._background = []
        with contextlib.suppress(Exception):
            await self.membership.leave(self.instance_id)
        await asyncio.gather(*(self.deactivate(profile_id) for profile_id in list(self._supervisors)))

    async def reconcile(self) -> None:
        """Follow the database: supervise every active profile, stop supervising the others.

        Profiles bound, deactivated or deleted through another process are picked up here.
        """
        active = set(await self.source.active_profile_ids())
        for profile_id in active:
            self.activate(profile_id)
        for profile_id in set(self._supervisors) - active:
            await self.deactivate(profile_id)

    def owns(self, profile_id: UUID) -> bool:
        """Whether this worker is the profile's assigned owner among the live workers."""
        workers = self._workers if self.instance_id in self._workers else [*self._workers, self.instance_id]
        return rendezvous_owner(profile_id, workers) == self.instance_id

    async def _refresh_membership(self) -> None:
        await self.membership.heartbeat(self.instance_id)
        self._workers = await self.membership.live_workers()

    async def _membership_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(max(0.2, self.lease_ttl_ms / 6000))
            with contextlib.suppress(Exception):  # a missed beat only delays rebalancing
                await self._refresh_membership()

    async def _reconcile_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.reconcile_interval_s)
            try:
                await self.reconcile()
            except Exception as exc:
                log_event("warning", "telegram.runtime", "runtime.reconcile_failed", f"reconcile failed: {exc}")

    def activate(self, profile_id: UUID) -> None:
        """Start supervising a profile (idempotent; ignored where the runtime does not run, e.g. API-only)."""
        if not self.running or profile_id in self._retired:
            return
        task = self._supervisors.get(profile_id)
        if task is not None and not task.done():
            return
        self._refused.pop(profile_id, None)  # bound again, or re-activated: a new connection decides
        self._ready.setdefault(profile_id, asyncio.Event())
        task = asyncio.create_task(self._supervise(profile_id), name=f"profile-{profile_id}")
        self._supervisors[profile_id] = task
        task.add_done_callback(functools.partial(self._forget, profile_id))

    def _forget(self, profile_id: UUID, task: asyncio.Task[None]) -> None:
        if self._supervisors.get(profile_id) is task:
            del self._supervisors[profile_id]

    async def deactivate(self, profile_id: UUID) -> None:
        """Stop supervising a profile: disconnect it and release its lease."""
        task = self._supervisors.pop(profile_id, None)
        if task is None:
            return
        # One cancellation is not always honoured: a library may swallow it (Python 3.11's `wait_for` loses one
        # that coincides with its inner result; seen in a prepare hook's database read), and the supervisor would
        # then connect and stay connected. Cancel again until it ends, except while it ends the connection
        # (`_ending`: stop intake, drain, release the lease), which must not be cut short. The caller's own
        # cancellation propagates (asyncio.wait never swallows it).
        while not task.done():
            if task not in self._ending:
                task.cancel()
            await asyncio.wait({task}, timeout=DEACTIVATE_RECHECK_S)
        with contextlib.suppress(asyncio.CancelledError):
            task.result()

    # -- queries ---------------------------------------------------------------------------------------------

    def connected(self, profile_id: UUID) -> ConnectedProfile | None:
        return self._connected.get(profile_id)

    def connected_ids(self) -> list[UUID]:
        return list(self._connected)

    def supervised_ids(self) -> list[UUID]:
        return list(self._supervisors)

    async def wait_connected(self, profile_id: UUID, timeout: float) -> ConnectedProfile | None:
        event = self._ready.setdefault(profile_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self._connected.get(profile_id)

    # -- supervision -----------------------------------------------------------------------------------------

    def _lease(self, profile_id: UUID) -> ProfileLease:
        return ProfileLease(
            self.leases, profile_id, self.instance_id, self.lease_ttl_ms, self.owns, self.lease_renewals
        )

    async def _supervise(self, profile_id: UUID) -> None:
        backoff = 1.0
        lease = self._lease(profile_id)
        pause = min(2.0, self.lease_ttl_ms / 3000)
        while not self._stopping:
            if not self.owns(profile_id):  # before queueing for a connect slot (take() checks it again)
                await asyncio.sleep(pause)
                continue
            taken = False
            try:
                async with self._connect_slots:
                    # The lease is taken in the profile's turn to connect, and its credentials are read in that turn
                    # (a database connection): a lease taken before a wait for a slot would expire unrenewed.
                    taken = await lease.take()
                    credentials = await self.source.credentials(profile_id) if taken else None
                if not taken:
                    await asyncio.sleep(pause)
                    continue
                outcome = "stop" if credentials is None else await self._run_once(credentials)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # transient: network, DC hiccup
                log_event(
                    "warning",
                    "telegram.runtime",
                    "profile.connection_failed",
                    f"profile connection failed: {type(exc).__name__}; retrying in {backoff:.0f} s",
                    profile_id=profile_id,
                    context={"error": type(exc).__name__, "worker_id": self.instance_id},
                )
                outcome = "retry"
            finally:
                if taken:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(lease.release())
            if outcome == "stop":
                return
            if outcome == "retry":
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max_s)
            else:
                backoff = 1.0

    async def _run_once(self, credentials: ProfileCredentials) -> str:
        """Connect and stay connected (the lease held); returns 'stop', 'retry' or 'again' (the lease was lost)."""
        profile_id = credentials.profile_id
        client = self.connector.client(
            credentials.session,
            api_id=credentials.api_id,
            api_hash=credentials.api_hash,
            catch_up=True,
            identity=credentials.identity,
            proxy=credentials.proxy,
        )
        watch = AccountWatch(
            self.source,
            profile_id,
            client,
            functools.partial(self._refused_account, profile_id, client),
            limited_recheck_s=self.limited_recheck_s,
        )
        client.on_refusal = watch.on_refusal
        renewer = asyncio.create_task(self._lease(profile_id).keep(client))
        ending = Ending.ERROR
        announced = False
        try:
            async with self._connect_slots:  # the whole connect phase: its database reads and Telegram's handshake
                outcome = await self._connect(credentials, client)
            if isinstance(outcome, str):
                return outcome
            self._connected[profile_id] = outcome
            self._ready.setdefault(profile_id, asyncio.Event()).set()
            announced = True
            self._log_connection(credentials, "profile.connected", "connected")
            self._watches[profile_id] = watch
            try:
                await client.run_until_disconnected()
            except Exception as exc:
                return await self._fail_if_fatal(profile_id, exc)
            if watch.dead:  # Telegram refused the account on some call; the watch marked it and disconnected
                return "stop"
            # A lost lease ends the connection on purpose; anything else was a dropped connection.
            ending = renewer.result() if renewer.done() and not renewer.cancelled() else Ending.CONNECTION_LOST
            return "again" if renewer.done() else "retry"
        except asyncio.CancelledError:
            ending = Ending.SHUTDOWN if self._stopping else Ending.DEACTIVATED
            raise
        finally:
            this = asyncio.current_task()
            assert this is not None
            self._ending.add(this)
            if self._watches.get(profile_id) is watch:
                del self._watches[profile_id]
            self._connected.pop(profile_id, None)
            ready = self._ready.get(profile_id)
            if ready is not None:
                ready.clear()
            try:
                await asyncio.shield(self._end_connection(credentials, client, renewer, ending if announced else None))
            finally:
                self._ending.discard(this)

    async def _connect(self, credentials: ProfileCredentials, client: TelegramClient) -> ConnectedProfile | str:
        """Prepare, connect and announce the client; the connected profile, or 'stop' when it must not connect."""
        profile_id = credentials.profile_id
        for prepare in self.prepare_hooks:
            await prepare(credentials, client)
        try:
            await client.connect()
        except Exception as exc:
            if credentials.proxy is None or status_for(exc) is not None:
                raise
            return await self._proxy_failed(credentials, exc)
        try:
            users = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
        except Exception as exc:
            return await self._fail_if_fatal(profile_id, exc)
        if not users or not isinstance(users[0], types.User):
            await self.source.failed(profile_id, "deauthorized", "Telegram: session is not authorized")
            return "stop"
        connected = ConnectedProfile(credentials, client, account_info(users[0]))
        await self.source.connected(profile_id, connected.me, self.instance_id)
        for hook in self.hooks:
            await hook(connected)
        return connected

    async def _end_connection(
        self, credentials: ProfileCredentials, client: TelegramClient, renewer: asyncio.Task[str], ending: str | None
    ) -> None:
        """Stop intake, commit what was queued while still holding the lease, then let the lease go."""
        renewer.cancel()  # it would stop renewing once another worker is the owner; the drain needs the lease
        holder = asyncio.create_task(self._lease(credentials.profile_id).hold())
        try:
            with contextlib.suppress(Exception):
                await client.disconnect()
            for release in self.release_hooks:
                try:
                    await asyncio.wait_for(release(credentials.profile_id), self.drain_timeout_s)
                except Exception as exc:
                    log_event(
                        "warning",
                        "telegram.runtime",
                        "profile.drain_failed",
                        f"could not commit what the profile queued before releasing it: {type(exc).__name__}",
                        profile_id=credentials.profile_id,
                        context={"worker_id": self.instance_id},
                    )
        finally:
            holder.cancel()
        if ending is not None:
            self._log_connection(credentials, "profile.disconnected", "disconnected", reason=ending)
            with contextlib.suppress(Exception):
                await self.source.disconnected(credentials.profile_id, self.instance_id, ending)

    def _log_connection(
        self, credentials: ProfileCredentials, event: str, what: str, reason: str | None = None
    ) -> None:
        context = {"worker_id": self.instance_id, **({"reason": reason} if reason else {})}
        log_event(
            "info",
            "telegram.runtime",
            event,
            f"profile {what} by worker {self.instance_id}" + (f" ({reason})" if reason else ""),
            user_id=credentials.owner_id,
            profile_id=credentials.profile_id,
            context=context,
        )

    async def restart(self, profile_id: UUID) -> None:
        """End the profile's connection (disconnected, lease released), then connect it anew (a changed proxy)."""
        await self.deactivate(profile_id)
        self.activate(profile_id)

    # -- one-off work on a profile's session ----------------------------------------------------------------

    async def log_out(self, credentials: ProfileCredentials) -> None:
        """Terminate the session at Telegram (stopping the local client first); a dead session is fine.

        The profile is retired in this process so reconciliation does not reconnect it before its row is gone.
        """
        self._retired.add(credentials.profile_id)
        await self.deactivate(credentials.profile_id)
        async with exclusive_client(self, credentials) as client:
            try:
                await client(functions.auth.LogOutRequest())
            except Exception as exc:
                if status_for(exc) is None:
                    raise
