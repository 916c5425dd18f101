"""Who holds each profile's connection: admins see it on GET /profiles, /metrics counts it per worker."""

from __future__ import annotations

import pytest

from app.lib.logging import add_sink, remove_sink
from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio


async def test_admins_see_the_holder_and_state_of_each_connection(client, app):
    lines: list = []
    add_sink(lines.append)
    try:
        await _see_the_holder(client, app, lines)
    finally:
        remove_sink(lines.append)


async def _see_the_holder(client, app, lines):
    admin = bearer(await register_and_login(client, "root@example.com"))  # the first user is the admin
    member = bearer(await register_and_login(client, "ada@example.com"))
    worker = app.state.ctx.telegram.runtime.instance_id
    profile = await bind(client, admin)
    await bind(client, member)

    async def connection(state: str):
        listed = (await client.get("/profiles", headers=admin)).json()
        current = listed[0]["connection"]
        return current if current["state"] == state else None

    connected = await eventually(lambda: connection("connected"), timeout=10, what="a connected profile")
    assert connected["holder"] == worker
    assert connected["last_worker"] == worker
    assert all("connection" not in p for p in (await client.get("/profiles", headers=member)).json())

    metrics = (await client.get("/metrics")).text
    assert f'tgmp_worker_profiles_held{{worker="{worker}"}} 2' in metrics
    assert profile["phone"] not in metrics

    deactivated = await client.patch(f"/profiles/{profile['phone']}", json={"is_active": False}, headers=admin)
    assert deactivated.status_code == 200

    async def deactivated_view():
        # The runtime follows after the commit, as it does behind a real server: between its releasing the
        # lease and recording why, the view can say `worker_lost` for a moment.
        current = await connection("disconnected")
        return current if current is not None and current["reason"] == "deactivated" else None

    gone = await eventually(deactivated_view, timeout=10, what="a deactivated profile")
    assert gone == {**gone, "holder": None, "reason": "deactivated", "last_worker": worker}

    # The same as business events, with the worker and the reason.
    events = [
        (line["event"], line["context"])
        for line in lines
        if isinstance(line, dict)
        and line.get("profile_id") == profile["id"]
        and line.get("event") in ("profile.connected", "profile.disconnected")
    ]
    assert events == [
        ("profile.connected", {"worker_id": worker}),
        ("profile.disconnected", {"worker_id": worker, "reason": "deactivated"}),
    ]
