"""Batched lease renewal: one round renews every lease a worker holds, and only those (both lease stores)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from app.telegram.lease_renewals import LeaseRenewals
from app.telegram.leases import RENEW_CHUNK, LeaseStore, RedisLeaseStore
from tests.live import eventually, free_port


async def test_renew_many_extends_only_the_owners_leases(leases):
    assert await leases.acquire("mine", "a", 1000)
    assert await leases.acquire("theirs", "b", 1000)  # taken after ours: without the renewal ours lapses first
    held = await leases.renew_many(["mine", "theirs", "free"], "a", 60_000)
    assert held == {"mine": True, "theirs": False, "free": False}
    # Another worker's lease keeps its holder and its expiry: it lapses on its own schedule, ours does not.
    await eventually(lambda: _is_free(leases, "theirs"), timeout=10)
    assert await leases.holders(["mine", "theirs", "free"]) == {"mine": "a", "theirs": None, "free": None}
    assert await leases.renew_many([], "a", 1000) == {}


async def _is_free(leases: LeaseStore, name: str) -> bool:
    return await leases.holder(name) is None


async def test_renew_many_spans_several_script_calls(leases):
    names = [f"p{n}" for n in range(2 * RENEW_CHUNK + 7)]
    for n, name in enumerate(names):
        assert await leases.acquire(name, "a" if n % 2 else "b", 60_000)
    held = await leases.renew_many(names, "a", 60_000)
    assert held == {name: bool(n % 2) for n, name in enumerate(names)}
    holders = await leases.holders(names)
    assert holders == {name: "a" if n % 2 else "b" for n, name in enumerate(names)}


async def test_one_round_answers_every_waiting_keeper(leases):
    renewals = LeaseRenewals(leases, "a", ttl_ms=600)
    names = [f"p{n}" for n in range(40)]
    for name in names:
        assert await leases.acquire(name, "a", 60_000)
    assert await leases.acquire("taken", "b", 60_000)
    answers = await asyncio.gather(
        *(renewals.renewed(name) for name in names),
        renewals.renewed("taken"),
        renewals.renewed("handed-over", lambda: False),
    )
    assert answers == [True] * len(names) + [False, None]
    assert renewals.rounds == 1
    assert await leases.holder("taken") == "b"
    assert await leases.holder("handed-over") is None  # left alone: not taken, not renewed


async def test_keepers_stay_held_round_after_round(leases):
    renewals = LeaseRenewals(leases, "a", ttl_ms=3000)  # a round every second
    names = [f"p{n}" for n in range(10)]
    for name in names:
        assert await leases.acquire(name, "a", 3000)

    async def keep(name: str) -> list[bool | None]:
        return [await renewals.renewed(name) for _ in range(3)]

    answers = await asyncio.gather(*(keep(name) for name in names))
    assert answers == [[True] * 3] * len(names)
    assert renewals.rounds == 3
    assert await leases.holders(names) == dict.fromkeys(names, "a")


async def test_a_cancelled_keeper_leaves_the_round(leases):
    asked: list[list[str]] = []
    renew_many = leases.renew_many

    async def recording(names: list[str], owner: str, ttl_ms: int) -> dict[str, bool]:
        asked.append(list(names))
        return await renew_many(names, owner, ttl_ms)

    leases.renew_many = recording  # type: ignore[method-assign]
    renewals = LeaseRenewals(leases, "a", ttl_ms=600)
    assert await leases.acquire("gone", "a", 60_000)
    assert await leases.acquire("kept", "a", 60_000)
    gone = asyncio.create_task(renewals.renewed("gone"))
    await asyncio.sleep(0)
    gone.cancel()
    assert await renewals.renewed("kept") is True
    assert asked == [["kept"]]  # the cancelled keeper's lease is not renewed any more


async def test_an_unreachable_store_answers_not_held():
    client = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        renewals = LeaseRenewals(RedisLeaseStore(client), "a", ttl_ms=300)
        assert await renewals.renewed("p") is False
    finally:
        await client.aclose()
