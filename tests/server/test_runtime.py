"""The background runtime: services start in their declared order and stop in reverse; roles choose them;
`GET /health` lists them."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.lib.background import PeriodicService, ServiceHealth, ServiceRuntime
from app.server.app import create_app
from tests.conftest import running

pytestmark = pytest.mark.asyncio

BACKGROUND = [
    "log-shipper",
    "event-publisher",
    "message-ingest",
    "peer-book",
    "gap-recovery",
    "channel-access-watch",
    "telegram",
    "profile-health",
    "housekeeping",
    "inbox-reconciler",
    "webhook-dispatcher",
    "archive-scheduler",
    "channel-failover",
    "after-commit-follow-ups",
]


class Recorded:
    """A service that writes what happens to it into a shared journal."""

    def __init__(self, name: str, journal: list[str], *, fails: bool = False) -> None:
        self.name = name
        self._journal = journal
        self._fails = fails
        self.running = False

    async def start(self) -> None:
        if self._fails:
            raise RuntimeError(f"{self.name} cannot start")
        self._journal.append(f"start {self.name}")
        self.running = True

    async def stop(self) -> None:
        self._journal.append(f"stop {self.name}")
        self.running = False

    def health(self) -> ServiceHealth:
        return ServiceHealth("running" if self.running else "stopped")


async def test_services_start_in_order_and_stop_in_reverse():
    journal: list[str] = []
    runtime = ServiceRuntime([Recorded(name, journal) for name in ("a", "b", "c")])
    async with runtime.running():
        assert journal == ["start a", "start b", "start c"]
        assert [(s.name, s.health.status) for s in runtime.statuses()] == [
            ("a", "running"),
            ("b", "running"),
            ("c", "running"),
        ]
    assert journal[3:] == ["stop c", "stop b", "stop a"]
    assert {s.health.status for s in runtime.statuses()} == {"stopped"}


async def test_a_service_that_cannot_start_stops_the_ones_before_it():
    journal: list[str] = []
    runtime = ServiceRuntime(
        [Recorded("a", journal), Recorded("b", journal), Recorded("c", journal, fails=True), Recorded("d", journal)]
    )
    with pytest.raises(RuntimeError, match="c cannot start"):
        await runtime.start()
    assert journal == ["start a", "start b", "stop b", "stop a"]


def test_two_services_of_one_name_are_refused():
    with pytest.raises(ValueError, match="named twice"):
        ServiceRuntime([Recorded("a", []), Recorded("a", [])])


async def test_a_periodic_service_reports_its_failures_and_stops_between_rounds():
    rounds: list[int] = []
    after_the_failure = asyncio.Event()

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise LookupError("second round fails")
        if len(rounds) == 3:  # the failure of the second round is recorded before the third begins
            after_the_failure.set()

    service = PeriodicService("test-periodic", work, interval_s=0)
    await service.start()
    await after_the_failure.wait()
    health = service.health()
    assert health.status == "running"
    assert health.details["failures"] == 1
    await service.stop()
    assert service.health().status == "stopped"
    ended = len(rounds)
    await asyncio.sleep(0)
    assert len(rounds) == ended  # no round after stop


async def test_the_serve_role_runs_every_service_and_health_lists_them(client, app, backend):
    runtime = app.state.runtime
    expected = list(BACKGROUND)
    if backend.name == "postgres":  # Redis: other processes' commits wake this dispatcher
        expected.insert(expected.index("archive-scheduler"), "dispatch-relay")
    assert runtime.role == "serve"
    assert runtime.services.names == expected
    body = (await client.get("/health")).json()
    assert [s["name"] for s in body["services"]] == expected
    assert {s["status"] for s in body["services"]} == {"running"}
    assert set(body) == {"status", "components", "services"}  # the components are reported as before
    telegram = next(s for s in body["services"] if s["name"] == "telegram")
    assert telegram["details"]["owns_connections"] is True


async def test_the_api_role_runs_only_what_requests_need(app):
    api = create_app(app.state.ctx.settings, role="api")
    transport = httpx.ASGITransport(app=api, client=("127.0.0.1", 50002))
    async with running(api), httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        body = (await http.get("/health")).json()
    names = [s["name"] for s in body["services"]]
    assert names == ["log-shipper", "event-publisher", "telegram", "after-commit-follow-ups"]
    telegram = next(s for s in body["services"] if s["name"] == "telegram")
    assert telegram["details"]["owns_connections"] is False
    assert api.state.ctx.ingest is None
