"""GET /health answers from component checks run at most once per HEALTH_CACHE_S."""

from __future__ import annotations

import asyncio

import pytest

from tests.domain.system.statements import statements_containing

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("settings_overrides", [{"HEALTH_CACHE_S": "3600"}], indirect=True)
async def test_requests_within_the_interval_cost_one_database_round_trip(client, app):
    # The pool's first connection is made before the burst: on a loaded machine opening it can outlast the
    # check's timeout, and this test is about the cached outcome, not about connecting.
    async with app.state.ctx.engine.connect():
        pass
    with statements_containing(app.state.ctx.engine, "SELECT 1") as probes:
        burst = await asyncio.gather(*(client.get("/health") for _ in range(20)))
        later = [await client.get("/health") for _ in range(10)]
    assert [r.status_code for r in burst + later] == [200] * 30
    assert len(probes) == 1, probes
    components = {c["name"]: c for c in later[-1].json()["components"]}
    assert components["database"]["status"] == "up"
    assert components["database"]["latency_ms"] == burst[0].json()["components"][0]["latency_ms"]


@pytest.mark.parametrize("settings_overrides", [{"HEALTH_CACHE_S": "0"}], indirect=True)
async def test_without_caching_every_request_checks_the_database(client, app):
    with statements_containing(app.state.ctx.engine, "SELECT 1") as probes:
        for _ in range(5):
            assert (await client.get("/health")).status_code == 200
    assert len(probes) == 5


@pytest.mark.parametrize("settings_overrides", [{"HEALTH_CACHE_S": "0.05"}], indirect=True)
async def test_an_expired_outcome_is_checked_again(client, app):
    with statements_containing(app.state.ctx.engine, "SELECT 1") as probes:
        while len(probes) < 2:  # the watchdog bounds this: a cache that never expires would hang here
            assert (await client.get("/health")).status_code == 200
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("settings_overrides", [{"HEALTH_CACHE_S": "3600"}], indirect=True)
async def test_a_failing_component_is_reported_and_its_outcome_kept_for_the_interval(client, app):
    from app.domain.system.health import HealthCheck

    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("unreachable")

    app.state.ctx.health_checks.append(HealthCheck("queue", broken))
    answers = await asyncio.gather(*(client.get("/health") for _ in range(5)))
    assert [r.status_code for r in answers] == [503] * 5
    queue = next(c for c in answers[-1].json()["components"] if c["name"] == "queue")
    assert queue == {**queue, "status": "down", "error": "ConnectionError: unreachable"}
    assert calls == 1
