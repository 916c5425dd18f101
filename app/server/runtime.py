"""The background runtime: which services a process runs, in which order, as one Litestar plugin.

Every role builds the same application; the role decides which services run (`services_for`):

- `serve` (one process, the embedded default) and `worker` (no HTTP; `python -m app worker`) run all of them;
- `api` runs only what answering requests needs: the log shipper, the event publisher, the Telegram gateway's
  command bus (and the embedded sandbox), and the after-commit follow-ups.

They start in the order listed and stop in reverse (`app.lib.background.ServiceRuntime`), so each service may use
everything listed before it: the ingest writer, peer book, gap recovery and the channel-access watch are ready
before the Telegram runtime connects the first profile, and stop after it stopped; the follow-ups requests left
behind after their commit (a channel backfill) are drained first on the way down, while Telegram is still up.

The plugin is listed after the channels (pub/sub) plugin, so pub/sub is up before the publisher and the
dispatch relay start, and is still up until they stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from app.db.after_commit import FollowUps
from app.domain.archives.scheduler import ArchiveScheduler
from app.domain.channels.failover import ChannelFailover
from app.domain.events.pubsub import DispatchRelay, EventPublisher
from app.domain.messages.gaps import GapRecovery
from app.domain.messages.ingest import MessageIngest, build_ingest, running_ingest
from app.domain.messages.reconcile import build_reconciler
from app.domain.profiles.health import ProfileHealthMonitor
from app.domain.profiles.proxy_pool import ProxyPoolMonitor
from app.domain.webhooks.dispatcher import WebhookDispatcher
from app.lib.background import BackgroundService, PeriodicService, ServiceHealth, ServiceRuntime
from app.server.context import AppContext
from app.server.housekeeping import Housekeeping
from app.telegram.channel_access import ChannelAccessWatch
from app.telegram.peerbook import PeerBook, running_peer_book

Role = Literal["serve", "api", "worker"]
ROLES: tuple[Role, ...] = ("serve", "api", "worker")


class ContextService:
    """A component that runs for as long as an `async with` block (entered at start, left at stop)."""

    def __init__(
        self,
        name: str,
        running: Callable[[], AbstractAsyncContextManager[object]],
        details: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self._running = running
        self._details = details
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(self._running())
        self._stack = stack

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def health(self) -> ServiceHealth:
        details = self._details() if self._details is not None else {}
        return ServiceHealth("running" if self._stack is not None else "stopped", details)


class CallbackService:
    """A component started and stopped by two calls (their results awaited when awaitable)."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Awaitable[object] | object],
        stop: Callable[[], Awaitable[object] | object],
        details: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self._start, self._stop, self._details = start, stop, details
        self._running = False

    async def start(self) -> None:
        result = self._start()
        if asyncio.iscoroutine(result):
            await result
        self._running = True

    async def stop(self) -> None:
        self._running = False
        result = self._stop()
        if asyncio.iscoroutine(result):
            await result

    def health(self) -> ServiceHealth:
        details = self._details() if self._details is not None else {}
        return ServiceHealth("running" if self._running else "stopped", details)


def _log_shipper(ctx: AppContext) -> BackgroundService:
    logs = ctx.logs
    # start() returns at once (the shipper's thread opens ClickHouse); stop() joins the thread
    return CallbackService("log-shipper", logs.start, lambda: asyncio.to_thread(logs.stop), logs.details)


def _telegram(ctx: AppContext, *, owns_connections: bool) -> BackgroundService:
    telegram = ctx.telegram
    runtime = telegram.runtime

    def details() -> dict[str, Any]:
        return {
            "instance": runtime.instance_id,
            "owns_connections": owns_connections,
            "supervised": len(runtime.supervised_ids()),
            "connected": len(runtime.connected_ids()),
        }

    return CallbackService(
        "telegram", lambda: telegram.start(run_runtime=owns_connections), telegram.stop, details=details
    )


def _ingest(ingest: MessageIngest) -> BackgroundService:
    return ContextService(
        "message-ingest",
        lambda: running_ingest(ingest),
        lambda: {"queued": ingest.queue.qsize(), "committed": ingest.committed},
    )


def _gaps(gaps: GapRecovery) -> BackgroundService:
    # attached to the runtime's hooks: it recovers gaps of every profile the runtime connects meanwhile
    return CallbackService(
        "gap-recovery", gaps.attach, gaps.stop, lambda: {"gaps": gaps.gaps, "recovered": gaps.recovered}
    )


def _access_watch(ctx: AppContext, failover: ChannelFailover) -> BackgroundService:
    """Every profile's client reports channels it lost (kicked, banned, deleted) to the failover runner.

    Started before the Telegram runtime, so the profiles it connects at start-up get the handler too.
    """
    hooks = ctx.telegram.runtime.prepare_hooks
    watch = ChannelAccessWatch(failover.monitors, failover.lost)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            hooks.remove(watch.prepare)

    return CallbackService("channel-access-watch", lambda: hooks.append(watch.prepare), remove)


def _health(ctx: AppContext) -> BackgroundService:
    """The account check of every profile this worker connects, paced over each round (after the runtime)."""
    interval = ctx.settings.profile_health_interval_s
    monitor = ProfileHealthMonitor(ctx.sessionmaker, ctx.telegram.runtime, interval)
    return PeriodicService(
        "profile-health",
        monitor.run_round,
        interval_s=interval,
        first_after_s=interval,  # connecting checked the authorization just now
        stop_grace_s=1.0,  # a round mostly waits between checks
        after_stop=monitor.transactions.wait,
        failure_event=("profiles.health", "health.round_failed"),
    )


def _proxy_pool(ctx: AppContext) -> BackgroundService:
    """The PROXY_POOL entries' periodic check (app.domain.profiles.proxy_pool), paced over each round."""
    interval = ctx.settings.proxy_pool_check_interval_s
    monitor = ProxyPoolMonitor(ctx.sessionmaker, ctx.telegram.connector, ctx.settings.proxy_pool, interval)
    return PeriodicService(
        "proxy-pool-health",
        monitor.run_round,
        interval_s=interval,
        stop_grace_s=1.0,  # a round mostly waits between checks
        after_stop=monitor.transactions.wait,
        failure_event=("profiles.proxy_pool", "proxy_pool.round_failed"),
    )


def services_for(ctx: AppContext, channels: ChannelsPlugin, role: Role) -> list[BackgroundService]:
    """The services of `role`, in start order."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    settings, telegram = ctx.settings, ctx.telegram
    cross_process = ctx.redis is not None
    publisher = EventPublisher(channels, ctx.engine, cross_process=cross_process)
    if role == "api":
        return [_log_shipper(ctx), publisher, _telegram(ctx, owns_connections=False), FollowUps()]

    ingest = build_ingest(ctx.sessionmaker, telegram.runtime, settings)
    ctx.ingest = ingest
    peers = PeerBook(ctx.sessionmaker, telegram.runtime)
    gaps = GapRecovery(ctx.sessionmaker, telegram.runtime, ingest, settings)
    failover = ChannelFailover(
        ctx.sessionmaker, telegram.commands, telegram.leases, settings, instance_id=telegram.runtime.instance_id
    )
    dispatcher = WebhookDispatcher(ctx.sessionmaker, ctx.secret_box, settings, targets=ctx.target_policy)
    scheduler = ArchiveScheduler(
        ctx.sessionmaker, telegram.runtime, telegram.commands, ctx.secret_box, settings, ctx.target_policy
    )
    services: list[BackgroundService] = [
        _log_shipper(ctx),
        publisher,
        _ingest(ingest),
        ContextService("peer-book", lambda: running_peer_book(peers)),
        _gaps(gaps),
        _access_watch(ctx, failover),
        _telegram(ctx, owns_connections=True),
        _health(ctx),
        Housekeeping(ctx.sessionmaker, settings),
    ]
    if settings.proxy_pool:
        services.append(_proxy_pool(ctx))
    if settings.reconcile_interval_s > 0:
        reconciler = build_reconciler(ctx.sessionmaker, telegram.runtime, telegram.commands, ingest, settings)
        services.append(
            PeriodicService(
                "inbox-reconciler",
                reconciler.run_round,
                interval_s=settings.reconcile_interval_s,
                first_after_s=settings.reconcile_interval_s,  # catch-up at connect covers the start
                stop_grace_s=0,  # it only reads (its writes go through the ingest writer): stop at once
                failure_event=("messages.reconcile", "reconcile.failed"),
            )
        )
    services.append(dispatcher)
    if cross_process:
        services.append(DispatchRelay(channels, dispatcher.wake))
    services += [scheduler, failover, FollowUps()]
    return services


class BackgroundRuntime(InitPlugin):
    """Runs the role's services for the application's lifetime; `GET /health` lists their health."""

    def __init__(self, ctx: AppContext, channels: ChannelsPlugin, role: Role) -> None:
        self.role = role
        self.services = ServiceRuntime(services_for(ctx, channels, role))
        ctx.health.services = self.services.statuses

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        app_config.state["runtime"] = self
        return app_config

    def service(self, name: str) -> Any:
        """The running service called `name` (tests and benchmarks reach the scheduler, the dispatcher)."""
        found = self.services.get(name)
        if found is None:
            raise LookupError(f"no service {name!r} in the {self.role} role")
        return found

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        async with self.services.running():
            yield
