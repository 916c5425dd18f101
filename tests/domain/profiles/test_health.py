"""Bans and revocations found without any push from Telegram: at the profile's next call (its 401), or by the
paced health check of a profile that makes no calls (`PROFILE_HEALTH_INTERVAL_S`)."""

from __future__ import annotations

import uuid

import pytest

from tests.domain.messages.support import connected_profile, eventually
from tests.domain.profiles.test_binding import wait_for_status

pytestmark = pytest.mark.asyncio

NO_HEALTH_CHECK = {"PROFILE_HEALTH_INTERVAL_S": "3600"}
FAST_HEALTH_CHECK = {"PROFILE_HEALTH_INTERVAL_S": "0.3"}


async def status_of(client, headers, phone):
    profiles = (await client.get("/profiles", headers=headers)).json()
    return next(p for p in profiles if p["phone"] == phone)


@pytest.mark.parametrize("settings_overrides", [NO_HEALTH_CHECK], indirect=True)
@pytest.mark.parametrize(("action", "status"), [("ban", "banned"), ("revoke", "deauthorized")])
async def test_the_next_call_finds_a_ban_or_a_revocation(client, app, sandbox, action, status):
    s = await connected_profile(client, app, sandbox)
    getattr(sandbox.control, action)(s.me)
    assert (await status_of(client, s.headers, s.phone))["status"] == "active"  # nobody told us yet

    sent = await client.post(
        "/messages/send", json={"phone": s.phone, "text": "hi", "tg_receiver": s.contact.username}, headers=s.headers
    )
    assert sent.status_code == 409, sent.text
    assert sent.json()["error"]["code"] == "profile_not_active", sent.text
    profile = await status_of(client, s.headers, s.phone)
    assert profile["status"] == status  # recorded before the answer
    runtime = app.state.ctx.telegram.runtime
    await eventually(lambda: _gone(runtime, s.profile_id), what="the client stopped")
    again = await client.post(
        "/messages/send", json={"phone": s.phone, "text": "hi", "tg_receiver": s.contact.username}, headers=s.headers
    )
    assert again.status_code == 409


async def _gone(runtime, profile_id: uuid.UUID) -> bool:
    return runtime.connected(profile_id) is None and profile_id not in runtime.supervised_ids()


@pytest.mark.parametrize("settings_overrides", [FAST_HEALTH_CHECK], indirect=True)
@pytest.mark.parametrize(("action", "status"), [("ban", "banned"), ("revoke", "deauthorized")])
async def test_the_health_check_finds_a_silent_profiles_ban(client, app, sandbox, action, status):
    s = await connected_profile(client, app, sandbox)
    calls = sandbox.control.counters.requests["updates.GetStateRequest"]
    getattr(sandbox.control, action)(s.me)
    found = await wait_for_status(client, s.headers, s.phone, status)
    assert found["status_reason"].startswith("Telegram: ")
    assert sandbox.control.counters.requests["updates.GetStateRequest"] > calls  # the check's own call found it
