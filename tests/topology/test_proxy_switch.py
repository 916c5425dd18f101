"""A proxy switch across processes: an API process and a worker on PostgreSQL + Redis against the sandbox, with two
real proxies (pproxy) on 127.0.0.1. `PATCH /profiles/{phone}` on the API, while the worker has the profile
connected, ends the worker's connection before it dials the new proxy: the sandbox sees the new connection
arrive through the new proxy, and never two live connections of the one session."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from app.db.migrations import upgrade
from tests.backends import empty_shared_backends
from tests.conftest import make_settings, sandbox_code, sandbox_phone
from tests.domain.profiles.test_proxies import proxy_server
from tests.live import AppProcess, eventually, process_env

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]


@pytest.fixture
async def environment(postgres_url, redis_url, sandbox, tmp_path):
    await asyncio.to_thread(upgrade, make_settings(tmp_path / "migrate", DATABASE_URL=postgres_url))
    env = process_env(
        postgres_url,
        redis_url,
        TELEGRAM_MODE="sandbox",
        TELEGRAM_DC=f"127.0.0.1:{sandbox.port}:{sandbox.dc_id}",
        TELEGRAM_EXTRA_RSA_KEY=sandbox.public_key_pem,
        PROFILE_LEASE_TTL_MS="3000",
        WORKER_HEARTBEAT_TTL_MS="2000",
        COMMAND_TIMEOUT_S="20",
    )
    yield env
    await empty_shared_backends(postgres_url, redis_url)


async def test_a_proxy_switch_from_the_api_moves_the_workers_connection(environment, sandbox, redis_url, tmp_path):
    worker = AppProcess(environment, tmp_path, "worker", role="worker")
    api = AppProcess(environment, tmp_path, "api", role="api")
    redis = Redis.from_url(redis_url)
    counters = sandbox.control.counters
    duplicated, concurrent = counters.auth_key_duplicated, counters.concurrent_key_use
    try:
        await asyncio.gather(worker.ready("WORKER READY"), api.ready())
        worker_id = worker.output().split("WORKER READY ")[1].split()[0]
        async with (
            httpx.AsyncClient(base_url=api.base, timeout=60) as client,
            proxy_server("socks5", tmp_path) as first,
            proxy_server("http", tmp_path) as second,
        ):
            credentials = {"email": "ada@example.com", "password": "correct horse"}
            assert (await client.post("/auth/register", json=credentials)).status_code == 201
            token = (await client.post("/auth/login", json=credentials)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            phone = sandbox_phone(1)
            body = {"phone": phone, "proxy": first.body()}
            assert (await client.post("/profiles/start", json=body, headers=headers)).status_code == 200
            code = {"phone": phone, "code": sandbox_code(phone)}
            bound = await client.post("/profiles/code", json=code, headers=headers)
            assert bound.status_code == 201, bound.text
            profile = bound.json()["profile"]
            lease = f"tgmp:lease:profile:{profile['id']}"
            through_first = first.connections_to(sandbox.port)

            async def on_the_worker() -> bool:  # its lease is the worker's and it dialled through the first proxy
                holder = await redis.get(lease)
                return (
                    holder is not None
                    and holder.decode() == worker_id
                    and first.connections_to(sandbox.port) > through_first
                )

            await eventually(on_the_worker, timeout=60)
            through_second = second.connections_to(sandbox.port)
            patched = await client.patch(f"/profiles/{phone}", json={"proxy": second.body()}, headers=headers)
            assert patched.status_code == 200, patched.text
            assert patched.json()["proxy"] == {"type": "http", "host": "127.0.0.1", "port": second.port}

            async def moved() -> bool:
                # the API's set-time check is one connection; the worker's new one is the next
                holder = await redis.get(lease)
                arrived = second.connections_to(sandbox.port) >= through_second + 2
                return arrived and holder is not None and holder.decode() == worker_id

            await eventually(moved, timeout=60)
            listed = (await client.get("/profiles", headers=headers)).json()
            assert [p["status"] for p in listed] == ["active"]
        assert counters.auth_key_duplicated == duplicated
        assert counters.concurrent_key_use == concurrent
    finally:
        for role in (api, worker):
            role.stop()
        await redis.aclose()
