"""`GET /logs` through the real app with embedded shipping into the real ClickHouse engine (chdb).

Every test gets a database of its own on the suite's one chdb path (tests/conftest.py `chdb_path`); the
shipper's flush interval is long so a test decides when rows land, by flushing like the shipper thread does.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.db.models import TelegramProfile
from app.lib.logging import StdlibBridgeHandler, log_event
from tests.conftest import bearer, register_and_login

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings_overrides(chdb_path: Any) -> dict[str, str]:
    return {
        "LOG_SHIPPING": "embedded",
        "CLICKHOUSE_DSN": f"chdb://{chdb_path}?database=api_{uuid.uuid4().hex[:12]}",
        "LOG_FLUSH_INTERVAL_S": "600",
        "HEALTH_CACHE_S": "0",  # each /health here checks now (a first check that found the store down is no answer)
    }


async def flush(app: Litestar) -> None:
    await asyncio.to_thread(app.state.ctx.logs.flush)


async def logs(client: Client, tokens: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = await client.get("/logs", params=params, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def users(client: Client) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An admin (the first user), then Alice and Bob; each dict is a token pair plus `id`."""
    result = []
    for email in ("root@example.com", "alice@example.com", "bob@example.com"):
        tokens = await register_and_login(client, email)
        me = await client.get("/auth/me", headers=bearer(tokens))
        result.append({**tokens, "id": me.json()["id"]})
    return result[0], result[1], result[2]


async def test_requests_and_events_appear_after_a_flush(app: Litestar, client: Client) -> None:
    _, alice, _ = await users(client)
    assert (
        await client.get(
            "/auth/me", headers={**bearer(alice), "X-Request-ID": "req-alice-0001", "User-Agent": "logs-test/1"}
        )
    ).status_code == 200
    await flush(app)
    page = await logs(client, alice, kind="request")
    mine = [item for item in page["items"] if item["request_id"] == "req-alice-0001"]
    assert len(mine) == 1
    assert mine[0] | {"ts": None, "duration_ms": None, "ip": None} == {
        "kind": "request", "ts": None, "request_id": "req-alice-0001", "method": "GET", "path": "/auth/me",
        "route": "/auth/me", "status": 200, "duration_ms": None, "user_id": alice["id"], "ip": None,
        "user_agent": "logs-test/1",
    }  # fmt: skip
    assert {item["user_id"] for item in page["items"]} == {alice["id"]}
    assert datetime.fromisoformat(mine[0]["ts"]) > datetime.now(UTC) - timedelta(minutes=1)
    events = await logs(client, alice, kind="event")
    assert {item["event"] for item in events["items"]} >= {"user.registered", "user.logged_in"}
    assert all(item["kind"] == "event" and item["user_id"] == alice["id"] for item in events["items"])
    assert page["next_cursor"] is None
    # Without `kind` the request log is listed (it was a 422 for a missing parameter).
    assert (await logs(client, alice))["items"] == page["items"]


async def test_health_reports_clickhouse_as_non_critical_with_shipper_counters(app: Litestar, client: Client) -> None:
    await client.get("/health")
    await flush(app)
    response = await client.get("/health")
    assert response.status_code == 200
    component = next(c for c in response.json()["components"] if c["name"] == "clickhouse")
    assert component["status"] == "up"
    assert component["critical"] is False
    assert component["details"]["mode"] == "embedded"
    assert component["details"]["shipper"]["shipped"] >= 1
    assert set(component["details"]["shipper"]) == {"buffered", "shipped", "dropped", "failed_batches", "failed_rows"}


async def test_tenant_isolation_and_admin_sees_all(app: Litestar, client: Client) -> None:
    admin, alice, bob = await users(client)
    for who in (alice, bob, alice):
        await client.get("/auth/me", headers=bearer(who))
    await flush(app)
    for who in (alice, bob):
        for kind in ("request", "event"):
            page = await logs(client, who, kind=kind)
            assert page["items"]
            assert {item["user_id"] for item in page["items"]} == {who["id"]}
    everyone = await logs(client, admin, kind="request", limit=1000)
    owners = {item["user_id"] for item in everyone["items"]}
    assert {admin["id"], alice["id"], bob["id"], None} <= owners  # None: the anonymous register/login calls
    only_bob = await logs(client, admin, kind="request", user_id=bob["id"])
    assert only_bob["items"]
    assert {item["user_id"] for item in only_bob["items"]} == {bob["id"]}
    response = await client.get("/logs", params={"kind": "request", "user_id": bob["id"]}, headers=bearer(alice))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    own = await logs(client, alice, kind="request", user_id=alice["id"])
    assert {item["user_id"] for item in own["items"]} == {alice["id"]}


async def test_every_filter(app: Litestar, client: Client) -> None:
    _, alice, bob = await users(client)
    profile, channel = str(uuid.uuid4()), str(uuid.uuid4())
    before = datetime.now(UTC)
    await client.get("/auth/me", headers=bearer(alice))
    await client.get("/logs?kind=nothing-here", headers=bearer(alice))  # 422, and alice's (unrouted 404s are anonymous)
    log_event("info", "messages", "message.sent", "Sent to Carol", user_id=alice["id"], profile_id=profile)
    log_event("error", "channels", "channel.join_failed", "flood wait", user_id=alice["id"], channel_id=channel)
    log_event("error", "channels", "channel.join_failed", "flood wait", user_id=bob["id"], channel_id=channel)
    after = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await client.get("/auth/me", headers=bearer(alice))
    await flush(app)

    async def requests(**params: Any) -> list[dict[str, Any]]:
        return list((await logs(client, alice, kind="request", **params))["items"])

    async def events(**params: Any) -> list[dict[str, Any]]:
        return list((await logs(client, alice, kind="event", **params))["items"])

    assert {r["path"] for r in await requests(status=422)} == {"/logs"}
    assert {r["status"] for r in await requests(path="/auth/me")} == {200}
    assert len(await requests(path="/auth/me")) == 3  # the one in users() and two here
    assert {r["route"] for r in await requests(q="LOGS")} == {"/logs"}
    window = await requests(since=before.isoformat(), until=after.isoformat())
    assert [r["path"] for r in window] == ["/logs", "/auth/me"]  # newest first
    assert [e["event"] for e in await events(level="error")] == ["channel.join_failed"]
    assert [e["message"] for e in await events(profile_id=profile)] == ["Sent to Carol"]
    assert [e["channel_id"] for e in await events(channel_id=channel)] == [channel]
    assert [e["event"] for e in await events(q="carol")] == ["message.sent"]
    naive_since = (after + timedelta(seconds=5)).replace(tzinfo=None).isoformat()  # no zone means UTC
    assert await events(since=naive_since) == []


async def test_limit_and_cursor_walk_every_row_once(app: Litestar, client: Client) -> None:
    _, alice, _ = await users(client)
    for _ in range(6):
        await client.get("/auth/me", headers=bearer(alice))
    await flush(app)
    everything = (await logs(client, alice, kind="request"))["items"]
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"kind": "request", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await logs(client, alice, **params)
        seen.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == (len(everything) + 2) // 3
    assert [r["request_id"] for r in seen] == [r["request_id"] for r in everything]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "' OR 1=1 --"},
        {"path": "/x') OR ('1'='1"},
        {"q": "\\' UNION SELECT * FROM system.users --"},
        {"path": "{user_id:String}"},
    ],
)
async def test_injection_attempts_find_only_the_callers_matching_rows(
    app: Litestar, client: Client, params: dict[str, str]
) -> None:
    admin, alice, _ = await users(client)
    await client.get("/auth/me", headers=bearer(admin))
    await flush(app)
    assert (await logs(client, alice, kind="request", **params))["items"] == []
    if "q" in params:
        assert (await logs(client, alice, kind="event", **params))["items"] == []


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"kind": "event", "level": "info' --"}, 422, "validation_error", "level"),
        ({"kind": "request", "status": "200 OR 1=1"}, 422, "validation_error", "status"),
        ({"kind": "request", "profile_id": "x' OR '1'='1"}, 422, "validation_error", "profile_id"),
        ({"kind": "request", "user_id": "1 OR 1"}, 422, "validation_error", "user_id"),
        ({"kind": "request", "since": "yesterday"}, 422, "validation_error", "since"),
        ({"kind": "request", "until": "2026-13-01T00:00:00Z"}, 422, "validation_error", "until"),
        ({"kind": "request", "limit": "0"}, 422, "validation_error", "limit"),
        ({"kind": "request", "limit": "1001"}, 422, "validation_error", "limit"),
        ({"kind": "request", "status": "42"}, 422, "validation_error", "status"),
        ({"kind": "audit"}, 422, "validation_error", "kind"),
        ({"kind": "request", "q": "x" * 201}, 422, "validation_error", "q"),
        ({"kind": "event", "phone": "not a phone"}, 422, "PHONE_NUMBER_INVALID|validation_error", "phone"),
        ({"kind": "request", "level": "info"}, 400, "invalid_filter", "level"),
        ({"kind": "event", "status": "200"}, 400, "invalid_filter", "status"),
        (
            {"kind": "event", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            400,
            "invalid_filter",
            "since",
        ),
        ({"kind": "request", "cursor": "not-a-cursor"}, 400, "invalid_cursor", "cursor"),
        ({"kind": "request", "cursor": "' OR 1=1 --"}, 400, "invalid_cursor", "cursor"),
    ],
)
async def test_bad_filters_answer_precise_4xx(
    client: Client, params: dict[str, str], status: int, code: str, field: str
) -> None:
    tokens = await register_and_login(client, "ada@example.com")
    response = await client.get("/logs", params=params, headers=bearer(tokens))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] in code.split("|")  # a phone error may carry the shared PHONE_NUMBER_INVALID code
    assert field in str(error["details"]) + error["message"]


async def test_cursor_of_the_other_kind_is_rejected(app: Litestar, client: Client) -> None:
    tokens = await register_and_login(client, "ada@example.com")
    for _ in range(3):
        await client.get("/auth/me", headers=bearer(tokens))
    await flush(app)
    cursor = (await logs(client, tokens, kind="request", limit=1))["next_cursor"]
    assert cursor
    response = await client.get("/logs", params={"kind": "event", "cursor": cursor}, headers=bearer(tokens))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


async def test_logs_need_a_token(client: Client) -> None:
    response = await client.get("/logs", params={"kind": "request"})
    assert response.status_code == 401


async def test_phone_resolves_to_the_callers_profile(app: Litestar, client: Client) -> None:
    ctx = app.state.ctx

    _, alice, bob = await users(client)
    async with ctx.sessionmaker.begin() as session:
        profile = TelegramProfile(
            owner_id=uuid.UUID(alice["id"]), phone="+15550001111", api_id=1, api_hash_encrypted="x",
            session_encrypted="x", status="inactive", is_active=False,  # not for the Telegram runtime to start
        )  # fmt: skip
        session.add(profile)
        await session.flush()
        profile_id = str(profile.id)
    log_event("info", "messages", "message.sent", "via the profile", user_id=alice["id"], profile_id=profile_id)
    log_event("info", "messages", "message.sent", "another profile", user_id=alice["id"], profile_id=uuid.uuid4())
    await flush(app)
    page = await logs(client, alice, kind="event", phone="+1 555 000 1111")
    assert [item["message"] for item in page["items"]] == ["via the profile"]
    for who, phone in ((bob, "+15550001111"), (alice, "+15550009999")):
        response = await client.get("/logs", params={"kind": "event", "phone": phone}, headers=bearer(who))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


class TestWithoutShipping:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, str]:
        return {"LOG_SHIPPING": "off"}

    async def test_logs_answer_503_logs_unavailable(self, client: Client) -> None:
        tokens = await register_and_login(client, "ada@example.com")
        response = await client.get("/logs", params={"kind": "request"}, headers=bearer(tokens))
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "logs_unavailable"
        assert "LOG_SHIPPING" in error["message"]
        health = (await client.get("/health")).json()
        assert "clickhouse" not in {c["name"] for c in health["components"]}


async def test_building_apps_installs_one_logging_bridge(app: Litestar) -> None:
    from app.server.app import create_app

    for _ in range(2):
        await create_app(app.state.ctx.settings).state.ctx.engine.dispose()
    bridges = [h for h in logging.getLogger().handlers if isinstance(h, StdlibBridgeHandler)]
    assert len(bridges) == 1, logging.getLogger().handlers
