"""The one-owner guarantee under Telegram's AUTH_KEY_DUPLICATED rule: a session used from two hosts at once is
killed, so two runtimes (here bound to two loopback addresses, i.e. two places) must never both connect it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.domain.profiles.source import DatabaseProfileSource
from app.telegram.leases import MemoryLeaseStore, RedisLeaseStore
from app.telegram.runtime import ProfileRuntime
from app.telegram.service import build_connector
from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio


def _runtime(ctx, leases, place: str) -> ProfileRuntime:
    connector = build_connector(ctx.settings)
    connector.local_addr = place
    source = DatabaseProfileSource(ctx.sessionmaker, ctx.secret_box)
    return ProfileRuntime(connector=connector, source=source, leases=leases, lease_ttl_ms=1500)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_runtimes_on_two_hosts_sharing_leases_never_get_a_key_killed(client, app, sandbox):
    from redis.asyncio import Redis

    headers = bearer(await register_and_login(client, "hosts@example.com"))
    ctx = app.state.ctx
    await ctx.telegram.runtime.stop()
    ids = [uuid.UUID((await bind(client, headers))["id"]) for _ in range(2)]
    killed_before = sandbox.control.counters.auth_key_duplicated
    redis = Redis.from_url(ctx.settings.redis_url)
    first, second = (
        _runtime(ctx, RedisLeaseStore(redis), "127.0.0.2"),
        _runtime(ctx, RedisLeaseStore(redis), "127.0.0.3"),
    )
    try:
        await first.start()
        for profile_id in ids:
            assert await first.wait_connected(profile_id, 10)
        await second.start()
        await first.stop()  # hand-over from one host to the other
        for profile_id in ids:
            assert await second.wait_connected(profile_id, 15)
    finally:
        await first.stop()
        await second.stop()
        await redis.aclose()
    assert sandbox.control.counters.auth_key_duplicated == killed_before


async def test_without_a_shared_lease_two_hosts_kill_the_key(client, app, sandbox):
    """The control: what the lease prevents. Two runtimes that do not share leases both connect the profile."""
    headers = bearer(await register_and_login(client, "nolease@example.com"))
    ctx = app.state.ctx
    await ctx.telegram.runtime.stop()
    profile_id = uuid.UUID((await bind(client, headers))["id"])
    killed_before = sandbox.control.counters.auth_key_duplicated
    first, second = _runtime(ctx, MemoryLeaseStore(), "127.0.0.2"), _runtime(ctx, MemoryLeaseStore(), "127.0.0.3")
    try:
        await first.start()
        assert await first.wait_connected(profile_id, 10)
        await second.start()
        counters = sandbox.control.counters
        await eventually(
            lambda: asyncio.sleep(0, counters.auth_key_duplicated > killed_before), timeout=15, what="key killed"
        )
    finally:
        await first.stop()
        await second.stop()
    assert sandbox.control.counters.auth_key_duplicated == killed_before + 1
