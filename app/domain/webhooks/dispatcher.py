"""`WebhookDispatcher`: delivers due webhook deliveries with signed POSTs, retries and per-endpoint pacing.

Work is organised in lanes, one per endpoint with due deliveries: a lane claims a small batch, posts it with
at most `WEBHOOK_ENDPOINT_CONCURRENCY` requests in flight, paced to the endpoint's `max_per_second`. Lanes run
independently, so a slow or dead endpoint holds only its own lane (and at most its share of the global
`WEBHOOK_CONCURRENCY` slots) and never delays the others. Outcomes go to one recorder task that writes every
outcome available in one transaction (few commits under load; on SQLite the dispatcher's writes also take
turns instead of contending for the file lock). The dispatcher wakes when a transaction that created
deliveries commits, and polls otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from collections.abc import Callable
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.after_commit import engine_of, on_signal
from app.db.shielded import ShieldedTransactions
from app.domain.events.services import WEBHOOKS_DUE
from app.domain.webhooks import delivery
from app.domain.webhooks.delivery import Job, Outcome, Target
from app.domain.webhooks.signing import signed_headers
from app.lib.background import ServiceHealth
from app.lib.crypto import SecretBox
from app.lib.logging import log_event
from app.lib.targets import TargetPolicy, TargetRefused, peer_is_internal, pinned, pinned_transport, resolve_target

EXCERPT_BYTES = 1024
MAX_RECORD_BATCH = 500
CLAIM_ROUNDS = 8


class Pacer:
    """Spaces calls of one endpoint at least 1/rate seconds apart (a token bucket of size one)."""

    def __init__(self) -> None:
        self._next_slot = 0.0

    async def wait(self, rate: float) -> None:
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / rate
        if slot > now:
            await asyncio.sleep(slot - now)


class WebhookDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        secret_box: SecretBox,
        settings: Settings,
        *,
        targets: TargetPolicy,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._box = secret_box
        self._settings = settings
        self._targets = targets
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._global = asyncio.Semaphore(settings.webhook_concurrency)
        self._lanes: dict[UUID, asyncio.Task[None]] = {}
        self._pacers: dict[UUID, Pacer] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._recorder_task: asyncio.Task[None] | None = None
        self._outcomes: asyncio.Queue[tuple[Target, Job, Outcome, asyncio.Future[None]]] = asyncio.Queue()
        # Writes of a stopping dispatcher finish whole (see app.db.shielded); on SQLite they also take turns
        # instead of contending for the file lock.
        self._transactions = ShieldedTransactions(
            sessionmaker, serialize=asyncio.Lock() if settings.sqlite else contextlib.nullcontext()
        )
        self._client: httpx.AsyncClient | None = None
        self._secrets: dict[str, str] = {}
        # A lane claims several rounds of work at once (fewer claim transactions); the claims stay alive because
        # the dispatcher renews them while it runs, and expire WEBHOOK_CLAIM_TTL_S after it dies.
        self._batch = settings.webhook_endpoint_concurrency * CLAIM_ROUNDS
        self._renewed_at = 0.0
        self._unlisten: Callable[[], None] | None = None

    name = "webhook-dispatcher"

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def health(self) -> ServiceHealth:
        return ServiceHealth.of_task(self._loop_task, {"lanes": len(self._lanes), "recording": self._outcomes.qsize()})

    async def start(self) -> None:
        if self.running:
            return
        # Woken right after a commit in this process made deliveries due (app.domain.events.services.emit).
        self._unlisten = on_signal(engine_of(self._sessionmaker), WEBHOOKS_DUE, self.wake)
        settings = self._settings
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.webhook_connect_timeout_s,
                read=settings.webhook_read_timeout_s,
                write=settings.webhook_read_timeout_s,
                pool=None,
            ),
            follow_redirects=False,
            trust_env=False,  # an environment proxy would connect to the name itself, past the checked address
            transport=pinned_transport(
                httpx.Limits(
                    max_connections=settings.webhook_concurrency,
                    max_keepalive_connections=settings.webhook_concurrency,
                )
            ),
            headers={"user-agent": "tg-multiprofile-webhooks/1"},
        )
        self._recorder_task = asyncio.create_task(self._record_outcomes(), name="webhook-recorder")
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop claiming and cancel in-flight attempts (their claims expire and are retried elsewhere)."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        tasks = [t for t in (self._loop_task, *self._lanes.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._recorder_task is not None:
            self._recorder_task.cancel()
            await asyncio.gather(self._recorder_task, return_exceptions=True)
        await self._transactions.wait()
        self._loop_task = self._recorder_task = None
        self._lanes.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look for due deliveries now (called after a commit that created or re-queued some)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._renew_claims()
                await self._start_lanes()
            except Exception as exc:
                log_event(
                    "error",
                    "webhooks",
                    "dispatcher.poll_failed",
                    f"dispatcher poll failed: {type(exc).__name__}",
                    context={"error": str(exc)[:300]},
                )
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races a wake-up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.webhook_poll_interval_s):
                    await self._wake.wait()

    async def _renew_claims(self) -> None:
        """Extend this dispatcher's claims every third of their lifetime (a lease renewal)."""
        ttl = self._settings.webhook_claim_ttl_s
        if not self._lanes or time.monotonic() - self._renewed_at < ttl / 3:
            return
        self._renewed_at = time.monotonic()
        await self._transactions.run(lambda session: delivery.renew_claims(session, owner=self.owner, ttl_s=ttl))

    async def _start_lanes(self) -> None:
        async with self._sessionmaker() as session:
            webhook_ids = await delivery.endpoints_with_due_work(session)
        for webhook_id in webhook_ids:
            if webhook_id not in self._lanes:
                self._lanes[webhook_id] = asyncio.create_task(self._lane(webhook_id), name=f"webhook-lane-{webhook_id}")

    async def _lane(self, webhook_id: UUID) -> None:
        settings = self._settings
        pacer = self._pacers.setdefault(webhook_id, Pacer())
        in_flight = asyncio.Semaphore(settings.webhook_endpoint_concurrency)
        try:
            while True:
                target, jobs = await self._transactions.run(lambda session: self._claim(session, webhook_id))
                if target is None or not jobs:
                    return
                await asyncio.gather(*(self._deliver(target, job, pacer, in_flight) for job in jobs))
        except Exception as exc:
            log_event(
                "error",
                "webhooks",
                "dispatcher.lane_failed",
                f"webhook lane failed: {type(exc).__name__}",
                context={"webhook_id": str(webhook_id), "error": str(exc)[:300]},
            )
        finally:
            self._lanes.pop(webhook_id, None)

    async def _claim(self, session: AsyncSession, webhook_id: UUID) -> tuple[Target | None, list[Job]]:
        target = await delivery.load_target(session, self._box, webhook_id, self._secrets)
        if target is None:
            return None, []
        ttl_s = self._settings.webhook_claim_ttl_s
        return target, await delivery.claim(session, webhook_id, limit=self._batch, owner=self.owner, ttl_s=ttl_s)

    async def _deliver(self, target: Target, job: Job, pacer: Pacer, in_flight: asyncio.Semaphore) -> None:
        async with in_flight:
            await pacer.wait(target.max_per_second)
            async with self._global:
                outcome = await self._post(target, job)
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outcomes.put_nowait((target, job, outcome, recorded))
        await recorded

    async def _record_outcomes(self) -> None:
        """Write every outcome waiting in the queue in one transaction, then release the lanes waiting on them."""
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty() and len(batch) < MAX_RECORD_BATCH:
                batch.append(self._outcomes.get_nowait())
            outcomes = [(target, job, outcome) for target, job, outcome, _ in batch]
            try:
                await self._transactions.run(functools.partial(self._record, outcomes=outcomes))
            except Exception as exc:
                log_event(
                    "error",
                    "webhooks",
                    "dispatcher.record_failed",
                    f"recording {len(batch)} webhook outcomes failed: {type(exc).__name__}",
                    context={"error": str(exc)[:300]},
                )
                for *_, recorded in batch:
                    if not recorded.done():
                        recorded.set_exception(exc)
                continue
            for *_, recorded in batch:
                if not recorded.done():
                    recorded.set_result(None)

    async def _record(self, session: AsyncSession, *, outcomes: list[tuple[Target, Job, Outcome]]) -> None:
        settings = self._settings
        disable = delivery.DisablePolicy(
            after_s=settings.webhook_disable_after_s, min_failures=settings.webhook_disable_after_failures
        )
        await delivery.record(
            session, outcomes, owner=self.owner, schedule=settings.webhook_retry_schedule_s, disable=disable
        )

    async def _post(self, target: Target, job: Job) -> Outcome:
        assert self._client is not None
        started = time.perf_counter()
        try:
            # Resolved once: the connection goes to the address checked here, never to a second DNS answer.
            checked = await resolve_target(target.url, self._targets)
            headers = signed_headers(target.secret, job.message_id, int(time.time()), job.body)
            with pinned(checked):
                async with self._client.stream("POST", target.url, content=job.body, headers=headers) as response:
                    # An internal service's answer is never stored or shown (it may be anything behind the wall).
                    excerpt = None if peer_is_internal(response) else await _read_excerpt(response)
                    return Outcome(response.status_code, excerpt, None, _ms(started))
        except TargetRefused as exc:
            return Outcome(None, None, f"refused: {exc}", _ms(started))
        except httpx.TimeoutException as exc:
            return Outcome(None, None, f"timeout: {type(exc).__name__}", _ms(started))
        except httpx.HTTPError as exc:
            return Outcome(None, None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))


async def _read_excerpt(response: httpx.Response) -> str | None:
    """Read at most 1 KB of the response body (the rest is discarded, never buffered)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= EXCERPT_BYTES:
            break
    body = b"".join(chunks)[:EXCERPT_BYTES]
    return body.decode("utf-8", errors="replace") if body else None


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
