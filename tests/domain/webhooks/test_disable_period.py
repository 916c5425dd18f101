"""An endpoint is disabled only after its failures span WEBHOOK_DISABLE_AFTER_S, with an alert half-way there;
a short outage (many failed attempts in little time) keeps it enabled and retried."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.domain.webhooks.conftest import FAST_DELIVERY, body_json, emit_events, sign_up
from tests.domain.webhooks.test_delivery import create_hook
from tests.live import Receiver, eventually, running_receiver

pytestmark = pytest.mark.asyncio
PERIOD_S = 1.5
PERIOD = {
    **FAST_DELIVERY,
    "WEBHOOK_DISABLE_AFTER_S": str(PERIOD_S),
    "WEBHOOK_DISABLE_AFTER_FAILURES": "2",
    "WEBHOOK_RETRY_SCHEDULE_S": ",".join(["0.05"] * 80),
}


@pytest.mark.parametrize("settings_overrides", [PERIOD], indirect=True)
async def test_endpoint_is_disabled_only_after_failing_for_the_period_and_warned_before(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    async with (
        running_receiver(Receiver(respond=lambda _: (500, 0.0))) as down,
        running_receiver(Receiver()) as watcher,
    ):
        hook = await create_hook(http, headers, down.url, types=["message.received"])
        await create_hook(http, headers, watcher.url, types=["webhook.disabled", "alert"])
        await emit_events(app, user_id, 2)

        async def state():
            return (await http.get(f"/webhooks/{hook['id']}", headers=headers)).json()

        # Far more failures than the old count threshold (20 for the default, 2 here) while the period runs.
        async def many_failures_seen():
            current = await state()
            return current if current["consecutive_failures"] >= 6 else None

        await eventually(many_failures_seen, timeout=20)
        await eventually(lambda: _disabled(state()), timeout=20)
        await eventually(lambda: len(watcher.requests) == 3, timeout=10)

    final = await state()
    span = datetime.fromisoformat(final["last_failure_at"]) - datetime.fromisoformat(final["failing_since"])
    assert span >= timedelta(seconds=PERIOD_S)  # it kept being retried for the whole period
    events = {(e["type"], e["data"].get("kind")): e for e in (body_json(r.body) for r in watcher.requests)}
    assert set(events) == {
        ("alert", "webhook_failing_persistently"),
        ("webhook.disabled", None),
        ("alert", "webhook_failing"),
    }
    warned, disabled = events[("alert", "webhook_failing_persistently")], events[("webhook.disabled", None)]
    assert warned["occurred_at"] < disabled["occurred_at"]  # the warning came first, half-way through
    warning = warned["data"]
    assert warning["webhook_id"] == hook["id"]
    assert datetime.fromisoformat(warning["disables_at"]) - datetime.fromisoformat(
        warning["failing_since"]
    ) == timedelta(seconds=PERIOD_S)

    # Re-enabled, a delivery that succeeds ends the streak.
    async with running_receiver(Receiver()) as back:
        patched = await http.patch(
            f"/webhooks/{hook['id']}", json={"url": back.url, "status": "active"}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        await eventually(lambda: len(back.requests) == 2)
    healthy = await state()
    assert healthy["failing_since"] is None
    assert healthy["status"] == "active"


async def _disabled(pending) -> bool:
    return (await pending)["status"] == "disabled"
