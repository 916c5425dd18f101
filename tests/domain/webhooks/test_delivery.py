"""Delivery to real HTTP receivers: signatures, retries until recovery, disabling with an alert, isolation of a
slow endpoint, pacing of a backlog."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from sqlalchemy import select

from app.db.models import Webhook
from app.lib.logging import add_sink, remove_sink
from tests.domain.webhooks.conftest import body_json, emit_events, sign_up, verify_signature
from tests.live import Receiver, eventually, running_receiver

pytestmark = pytest.mark.asyncio


async def create_hook(http, headers, url, types=("*",), **extra):
    response = await http.post("/webhooks", json={"url": url, "event_types": list(types), **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_signed_delivery_verifies_with_an_independent_implementation(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    async with running_receiver(Receiver()) as receiver:
        hook = await create_hook(http, headers, receiver.url, types=["message.received"])
        ids = await emit_events(app, user_id, 3)
        await eventually(lambda: len(receiver.requests) == 3)
    for request in receiver.requests:
        assert verify_signature(hook["secret"], request.headers, request.body)
        assert not verify_signature("whsec_" + "A" * 32, request.headers, request.body)
        assert request.headers["content-type"] == "application/json"
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        envelope = body_json(request.body)
        assert set(envelope) == {"id", "type", "occurred_at", "user_id", "profile", "data"}
        assert envelope["type"] == "message.received"
        assert envelope["user_id"] == str(user_id)
        assert envelope["profile"] == "+15550001"
    assert sorted(body_json(r.body)["id"] for r in receiver.requests) == sorted(ids)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3


async def test_receiver_that_fails_then_recovers_gets_everything_with_stable_ids(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    calls = {"n": 0}

    def flaky(_):
        calls["n"] += 1
        return (503 if calls["n"] <= 3 else 200), 0.0

    async with running_receiver(Receiver(respond=flaky)) as receiver:
        hook = await create_hook(http, headers, receiver.url)
        ids = await emit_events(app, user_id, 4)

        async def all_succeeded():
            page = (await http.get(f"/webhooks/{hook['id']}/deliveries", headers=headers)).json()
            return len(page["items"]) == 4 and all(item["status"] == "succeeded" for item in page["items"])

        await eventually(all_succeeded)
    by_event = defaultdict(set)
    for request in receiver.requests:
        assert verify_signature(hook["secret"], request.headers, request.body)
        by_event[body_json(request.body)["id"]].add(request.headers["webhook-id"])
    assert sorted(by_event) == sorted(ids)
    assert all(len(webhook_ids) == 1 for webhook_ids in by_event.values())  # retries reuse the webhook-id
    assert len(receiver.requests) == 4 + 3

    page = (await http.get(f"/webhooks/{hook['id']}/deliveries", headers=headers)).json()
    retried = [item for item in page["items"] if item["attempt"] > 1]
    assert retried
    detail = (await http.get(f"/webhooks/{hook['id']}/deliveries/{retried[0]['id']}", headers=headers)).json()
    assert [a["status_code"] for a in detail["attempts"]][-1] == 200
    assert 503 in [a["status_code"] for a in detail["attempts"]]
    # 127.0.0.1 is internal: its answers are never stored
    assert all(a["duration_ms"] >= 0 and a["response_excerpt"] is None for a in detail["attempts"])
    state = (await http.get(f"/webhooks/{hook['id']}", headers=headers)).json()
    assert state["status"] == "active"
    assert state["consecutive_failures"] == 0
    assert state["failure_count"] == 3
    assert state["last_success_at"]
    assert state["last_failure_at"]


async def test_receiver_down_past_threshold_disables_endpoint_and_raises_alert(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    lines = []
    add_sink(lines.append)
    try:
        async with (
            running_receiver(Receiver(respond=lambda _: (500, 0.0))) as down,
            running_receiver(Receiver()) as watcher,
        ):
            hook = await create_hook(http, headers, down.url, types=["message.received"])
            await create_hook(http, headers, watcher.url, types=["webhook.disabled", "alert"])
            await emit_events(app, user_id, 2)

            async def disabled():
                state = (await http.get(f"/webhooks/{hook['id']}", headers=headers)).json()
                return state["status"] == "disabled"

            await eventually(disabled)
            await eventually(lambda: len(watcher.requests) == 2)
    finally:
        remove_sink(lines.append)
    state = (await http.get(f"/webhooks/{hook['id']}", headers=headers)).json()
    assert state["consecutive_failures"] in {6, 7}  # an attempt already in flight may still fail
    received = {body_json(r.body)["type"]: body_json(r.body)["data"] for r in watcher.requests}
    assert received["webhook.disabled"]["webhook_id"] == hook["id"]
    assert received["alert"]["kind"] == "webhook_failing"
    assert len(down.requests) in {6, 7}  # nothing after disabling (beyond the 2nd in-flight attempt)
    assert any(
        line.get("event") == "webhook.disabled" and line.get("level") == "error"
        for line in lines
        if isinstance(line, dict)
    )

    # Re-enabling makes the waiting deliveries due again.
    async with running_receiver(Receiver()) as back:
        patched = await http.patch(
            f"/webhooks/{hook['id']}", json={"url": back.url, "status": "active"}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        await eventually(lambda: len(back.requests) == 2)


async def test_slow_receiver_does_not_delay_a_fast_one(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    async with (
        running_receiver(Receiver(respond=lambda _: (200, 1.5))) as slow,
        running_receiver(Receiver()) as fast,
    ):
        await create_hook(http, headers, slow.url)
        await create_hook(http, headers, fast.url)
        await emit_events(app, user_id, 6)
        await eventually(lambda: len(fast.requests) == 6)
        assert len(slow.requests) <= 2  # the slow endpoint is still on its first attempts


async def test_backlog_is_paced_to_the_endpoint_rate(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    async with running_receiver(Receiver()) as receiver:
        await create_hook(http, headers, receiver.url, max_per_second=20)
        await emit_events(app, user_id, 8)
        await eventually(lambda: len(receiver.requests) == 8)
    arrivals = sorted(r.at for r in receiver.requests)
    # 8 requests at <= 20/s need at least 7 intervals of 50 ms (allowing for scheduling jitter).
    assert arrivals[-1] - arrivals[0] >= 7 * 0.05 * 0.8


async def test_secret_is_stored_encrypted(app, http):
    headers, _ = await sign_up(http, "ada@example.com")
    hook = await create_hook(http, headers, "http://127.0.0.1:9/hook")
    async with app.state.ctx.sessionmaker() as session:
        stored = await session.scalar(select(Webhook.secret_encrypted))
    assert hook["secret"].startswith("whsec_")
    assert hook["secret"] not in stored
    assert app.state.ctx.secret_box.decrypt(stored) == hook["secret"]
