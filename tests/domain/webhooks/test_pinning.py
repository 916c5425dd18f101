"""Deliveries connect to the address that was checked (no DNS rebinding), with the original Host header, and
never store what an internal service answered. Names resolve through a resolver the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.sandbox import SandboxDC
from app.server.app import create_app
from tests.conftest import Backend, _reset, make_settings, sandbox_env
from tests.domain.webhooks.conftest import FAST_DELIVERY, emit_events, sign_up
from tests.live import Receiver, eventually, running_receiver, serve_asgi

pytestmark = pytest.mark.asyncio

PUBLIC = "93.184.216.34"  # a global address; nothing in the test listens there


class ScriptedResolver:
    """Answers names from a table the test fills in, and counts what was asked."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"{host} does not resolve")
        return self.answers[host]


@pytest.fixture
def resolver() -> ScriptedResolver:
    return ScriptedResolver()


@pytest.fixture
async def app(
    backend: Backend, sandbox: SandboxDC, settings_overrides: dict[str, str], resolver: ScriptedResolver
) -> AsyncIterator[Litestar]:
    env = {**backend.env, **sandbox_env(sandbox), **FAST_DELIVERY, "WEBHOOK_CONNECT_TIMEOUT_S": "0.5"}
    settings = make_settings(Path(backend.env["DATA_DIR"]), **{**env, **settings_overrides})
    application = create_app(settings, resolver=resolver)
    yield application
    await _reset(application)


@pytest.fixture
async def http(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        yield client


async def attempts_of(http: httpx.AsyncClient, headers: dict[str, str], hook_id: str) -> list[dict]:
    page = (await http.get(f"/webhooks/{hook_id}/deliveries", headers=headers)).json()
    attempts: list[dict] = []
    for item in page["items"]:
        detail = (await http.get(f"/webhooks/{hook_id}/deliveries/{item['id']}", headers=headers)).json()
        attempts.extend(detail["attempts"] or [])
    return attempts


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false"}], indirect=True)
async def test_a_name_checked_as_public_is_never_connected_at_its_internal_address(app, http, resolver):
    # `localhost` is 127.0.0.1 to the system resolver: a second resolution at connect time would reach the
    # receiver. The checked answer (public) is the only address the delivery may connect to.
    resolver.answers["localhost"] = [PUBLIC]
    headers, user_id = await sign_up(http, "ada@example.com")
    async with running_receiver(Receiver()) as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        created = await http.post("/webhooks", json={"url": url, "event_types": ["*"]}, headers=headers)
        assert created.status_code == 201, created.text
        hook = created.json()
        await emit_events(app, user_id, 1)

        async def attempted() -> bool:
            return bool(await attempts_of(http, headers, hook["id"]))

        await eventually(attempted)
        attempts = await attempts_of(http, headers, hook["id"])
        assert receiver.requests == []
    assert all(a["status_code"] is None and a["response_excerpt"] is None for a in attempts)
    assert all(a["error"] for a in attempts)
    assert "localhost" in resolver.asked


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false"}], indirect=True)
async def test_a_name_that_turns_internal_after_creation_is_refused_at_delivery(app, http, resolver):
    resolver.answers["hooks.example.test"] = [PUBLIC]
    headers, user_id = await sign_up(http, "ada@example.com")
    async with running_receiver(Receiver()) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"http://hooks.example.test:{port}/hook"
        created = await http.post("/webhooks", json={"url": url, "event_types": ["*"]}, headers=headers)
        assert created.status_code == 201, created.text
        resolver.answers["hooks.example.test"] = ["127.0.0.1"]
        await emit_events(app, user_id, 1)

        async def attempted() -> bool:
            return bool(await attempts_of(http, headers, created.json()["id"]))

        await eventually(attempted)
        attempts = await attempts_of(http, headers, created.json()["id"])
        assert receiver.requests == []
    assert all(a["error"].startswith("refused:") and a["response_excerpt"] is None for a in attempts)


async def test_delivery_goes_to_the_checked_address_with_the_original_host_and_hides_internal_bodies(
    app, http, resolver
):
    # The system resolver knows nothing of this name, so reaching the receiver proves the checked address was used.
    resolver.answers["receiver.pinned.test"] = ["127.0.0.1"]
    headers, user_id = await sign_up(http, "ada@example.com")
    async with running_receiver(Receiver()) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"http://receiver.pinned.test:{port}/hook"
        hook = (await http.post("/webhooks", json={"url": url, "event_types": ["*"]}, headers=headers)).json()
        await emit_events(app, user_id, 2)
        await eventually(lambda: len(receiver.requests) == 2)
        assert {r.headers["host"] for r in receiver.requests} == {f"receiver.pinned.test:{port}"}

        async def recorded() -> bool:
            return len(await attempts_of(http, headers, hook["id"])) == 2

        await eventually(recorded)
    attempts = await attempts_of(http, headers, hook["id"])
    assert [a["status_code"] for a in attempts] == [200, 200]
    assert all(a["response_excerpt"] is None for a in attempts)  # an internal service's answer is never kept
