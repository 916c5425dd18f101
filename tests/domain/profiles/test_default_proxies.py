"""TELEGRAM_PROXY and PROXY_POOL: the instance's proxies, for profiles bound without one of their own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import bearer, register_and_login, sandbox_phone
from tests.domain.profiles.test_binding import bind
from tests.domain.profiles.test_proxies import PPROXY
from tests.live import free_port

pytestmark = pytest.mark.asyncio


class RunningProxy:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log = tmp_path / f"socks5-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-c", PPROXY, "-l", f"socks5://127.0.0.1:{self.port}", "-v"],
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 20
        while True:  # the app reads its settings before the test runs: the proxy must listen by then
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"pproxy did not listen: {self.log.read_text()}") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def connections_to(self, port: int) -> int:
        return sum(1 for line in self.log.read_text().splitlines() if line.endswith(f"-> 127.0.0.1:{port}"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def proxies(tmp_path: Path) -> Iterator[list[RunningProxy]]:
    running = [RunningProxy(tmp_path), RunningProxy(tmp_path)]
    try:
        yield running
    finally:
        for proxy in running:
            proxy.stop()


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, proxies: list[RunningProxy]) -> dict[str, str]:
    if getattr(request, "param", None) == "pool":
        return {"PROXY_POOL": ",".join(p.url for p in proxies)}
    return {"TELEGRAM_PROXY": proxies[0].url}


async def test_telegram_proxy_carries_every_profile_without_its_own(client, app, sandbox, proxies):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    assert profile["proxy"] is None  # not copied into the profile: a new TELEGRAM_PROXY applies to it too
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 15)
    assert proxies[0].connections_to(sandbox.port) >= 4  # the check, the login's two steps, the runtime


@pytest.mark.parametrize("settings_overrides", ["pool"], indirect=True)
async def test_the_pool_gives_each_new_profile_the_least_used_proxy(client, app, sandbox, proxies):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    first, second = await bind(client, headers), await bind(client, headers)
    ports = {first["proxy"]["port"], second["proxy"]["port"]}
    assert ports == {proxies[0].port, proxies[1].port}
    for profile in (first, second):
        assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 15)
    assert all(p.connections_to(sandbox.port) >= 4 for p in proxies)


@pytest.mark.parametrize("settings_overrides", ["pool"], indirect=True)
async def test_a_dead_pool_entry_is_passed_over_and_an_all_dead_pool_is_a_422(client, app, sandbox, proxies):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    proxies[0].stop()
    profile = await bind(client, headers)
    assert profile["proxy"]["port"] == proxies[1].port
    proxies[1].stop()
    refused = await client.post("/profiles/start", json={"phone": sandbox_phone()}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "proxy_unreachable"
