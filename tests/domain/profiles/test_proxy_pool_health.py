"""The PROXY_POOL's periodic health check, with real proxies (pproxy) on 127.0.0.1 that are stopped and started
again: a dead entry is seen by admins, its profiles turn `proxy_failed` with an alert (never connected directly),
it is given to no new profile, and once it reaches Telegram again it is given out again and its profiles come back
through it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Event
from app.domain.profiles import proxy_pool
from app.lib.proxies import ProxySpec
from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import bind, wait_for_status
from tests.domain.profiles.test_proxies import PPROXY
from tests.live import free_port

pytestmark = pytest.mark.asyncio
AUTH = ("pooluser", "po0lpass")


class PoolProxy:
    """A socks5 pproxy with a password that can be stopped and started again on its port."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.tmp_path = tmp_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.start()

    @property
    def url(self) -> str:
        return f"socks5://{AUTH[0]}:{AUTH[1]}@127.0.0.1:{self.port}"

    @property
    def spec(self) -> ProxySpec:
        return ProxySpec.parse(self.url)

    def log(self, start: int) -> Path:
        return self.tmp_path / f"pool-{self.port}-{start}.log"

    def connections_to(self, port: int, start: int) -> int:
        lines = self.log(start).read_text().splitlines()
        return sum(1 for line in lines if line.endswith(f"-> 127.0.0.1:{port}"))

    def start(self) -> None:
        self.starts += 1
        listen = f"socks5://127.0.0.1:{self.port}#{AUTH[0]}:{AUTH[1]}"
        with self.log(self.starts).open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-c", PPROXY, "-l", listen, "-v"], stdout=out, stderr=out
            )
        deadline = time.monotonic() + 20
        while True:  # the app reads its settings before the test runs: the proxy must listen by then
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"pproxy did not listen: {self.log(self.starts).read_text()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[list[PoolProxy]]:
    running = [PoolProxy(tmp_path), PoolProxy(tmp_path)]
    try:
        yield running
    finally:
        for proxy in running:
            proxy.stop()


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, pool: list[PoolProxy]) -> dict[str, str]:
    interval = getattr(request, "param", "0.5")
    return {"PROXY_POOL": ",".join(p.url for p in pool), "PROXY_POOL_CHECK_INTERVAL_S": interval}


async def pool_report(client, headers) -> dict[int, dict]:
    listed = await client.get("/admin/proxy-pool", headers=headers)
    assert listed.status_code == 200, listed.text
    assert AUTH[1] not in listed.text
    assert AUTH[0] not in listed.text
    return {entry["port"]: entry for entry in listed.json()}


async def test_a_failing_entry_stops_its_profiles_and_brings_them_back_when_it_recovers(client, app, sandbox, pool):
    headers = bearer(await register_and_login(client, "ada@example.com"))  # the first user: an admin
    runtime = app.state.ctx.telegram.runtime
    profile = await bind(client, headers)
    profile_id = uuid.UUID(profile["id"])
    used = next(p for p in pool if p.port == profile["proxy"]["port"])
    other = next(p for p in pool if p is not used)
    assert await runtime.wait_connected(profile_id, 15)

    async def entries_healthy() -> bool:
        report = await pool_report(client, headers)
        return all(entry["healthy"] is True for entry in report.values())

    await eventually(entries_healthy, what="both entries checked healthy")
    assert (await pool_report(client, headers))[used.port]["profiles"] == 1

    used.stop()

    async def found_down() -> bool:
        entry = (await pool_report(client, headers))[used.port]
        return entry["healthy"] is False and entry["failures"] >= 1 and entry["last_error"] is not None

    await eventually(found_down, what="the pool check found the stopped entry unhealthy")
    failed = await wait_for_status(client, headers, profile["phone"], "proxy_failed", timeout=30)
    assert f"127.0.0.1:{used.port}" in failed["status_reason"]

    async def let_go() -> bool:  # every worker's reconciliation ends it (never connected around its proxy)
        return runtime.connected(profile_id) is None and profile_id not in runtime.supervised_ids()

    await eventually(let_go, what="the runtime ended the profile's connection")
    async with app.state.ctx.sessionmaker() as session:
        alerts = await session.scalars(select(Event).where(Event.profile == profile["phone"], Event.type == "alert"))
        assert any(a.payload.get("kind") == "profile_proxy_failed" for a in alerts)

    # While it is down, a new profile gets the other entry.
    second = await bind(client, headers)
    assert second["proxy"]["port"] == other.port

    used.start()

    async def back() -> bool:
        return (await pool_report(client, headers))[used.port]["healthy"] is True

    await eventually(back, what="the pool check found the entry healthy again")
    await wait_for_status(client, headers, profile["phone"], "active", timeout=30)
    assert await runtime.wait_connected(profile_id, 30)
    assert used.connections_to(sandbox.port, start=used.starts) >= 2  # the check, and the profile's connection
    # Given out again: it is the least used one now.
    third = await bind(client, headers)
    assert third["proxy"]["port"] == used.port


@pytest.mark.parametrize("settings_overrides", ["3600"], indirect=True)
async def test_an_entry_found_unhealthy_is_given_to_no_new_profile(client, app, sandbox, pool):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    monitor_round_done = app.state.runtime.service("proxy-pool-health")

    async def first_round() -> bool:
        return monitor_round_done.rounds >= 1

    await eventually(first_round, what="the first pool round")
    # The last check found the first entry dead (it answers again, but the next check is an hour away).
    async with app.state.ctx.sessionmaker.begin() as session:
        assert await proxy_pool.record(session, pool[0].spec, reachable=False)
    for _ in range(2):
        profile = await bind(client, headers)
        assert profile["proxy"]["port"] == pool[1].port
    async with app.state.ctx.sessionmaker.begin() as session:
        assert await proxy_pool.record(session, pool[0].spec, reachable=True)
    assert (await bind(client, headers))["proxy"]["port"] == pool[0].port


async def test_the_pool_report_is_for_admins_only(client, app, pool):
    await register_and_login(client, "ada@example.com")  # the first user is the admin
    member = bearer(await register_and_login(client, "bob@example.com"))
    refused = await client.get("/admin/proxy-pool", headers=member)
    assert refused.status_code == 403, refused.text
