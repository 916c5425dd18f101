"""A spam limit (`limited`, from PEER_FLOOD) ends as Telegram ends it: a send the limit would have refused goes
through, or the re-check interval passes; either announces `profile.status_changed` back to `active`."""

from __future__ import annotations

import pytest

from tests.domain.messages.support import connected_profile, new_contact
from tests.domain.profiles.test_binding import wait_for_status
from tests.domain.profiles.test_refusals import profile_events, send

pytestmark = pytest.mark.asyncio


def _changes(events: list[tuple[str, dict]]) -> list[tuple[str, str]]:
    return [(p["from"], p["to"]) for kind, p in events if kind == "profile.status_changed"]


@pytest.mark.parametrize(
    "settings_overrides", [{"PROFILE_HEALTH_INTERVAL_S": "3600", "PROFILE_LIMITED_RECHECK_S": "0"}], indirect=True
)
async def test_a_send_the_limit_would_have_refused_clears_limited(client, app, sandbox):
    s = await connected_profile(client, app, sandbox, email="limitlift@example.com")
    friend = new_contact(sandbox, "Mutual")
    sandbox.control.add_contact(s.me, friend)
    sandbox.control.add_contact(friend, s.me)
    sandbox.control.limit_spam(s.me)
    refused = await send(client, s, text="to a stranger")
    assert refused.json()["error"]["code"] == "peer_flood", refused.text
    await wait_for_status(client, s.headers, s.phone, "limited")
    # Mutual contacts are allowed under the limit: that proves nothing, the profile stays limited.
    assert (await send(client, s, receiver=friend.username, text="to a friend")).status_code == 200
    profiles = (await client.get("/profiles", headers=s.headers)).json()
    assert next(p for p in profiles if p["phone"] == s.phone)["status"] == "limited"

    sandbox.control.limit_spam(s.me, False)  # Telegram lifted the limit and said nothing
    again = await send(client, s, text="to a stranger again")
    assert again.status_code == 200, again.text
    active = await wait_for_status(client, s.headers, s.phone, "active")
    assert active["limited_until"] is None
    assert _changes(await profile_events(app, s.phone))[-2:] == [("active", "limited"), ("limited", "active")]


@pytest.mark.parametrize(
    "settings_overrides", [{"PROFILE_HEALTH_INTERVAL_S": "0.3", "PROFILE_LIMITED_RECHECK_S": "1"}], indirect=True
)
async def test_limited_is_cleared_after_the_recheck_interval_as_telegram_lifts_it(client, app, sandbox):
    s = await connected_profile(client, app, sandbox, email="limittime@example.com")
    sandbox.control.limit_spam(s.me)
    refused = await send(client, s, text="too early")
    assert refused.json()["error"]["code"] == "peer_flood", refused.text
    limited = await wait_for_status(client, s.headers, s.phone, "limited")
    assert limited["limited_until"] is not None
    sandbox.control.limit_spam(s.me, False)  # Telegram lifts the limit and says nothing; no send follows
    await wait_for_status(client, s.headers, s.phone, "active")  # the recheck after PROFILE_LIMITED_RECHECK_S
    assert (await send(client, s, text="after the limit")).status_code == 200
    assert ("limited", "active") in _changes(await profile_events(app, s.phone))
