"""Bans and revocations found without any push from Telegram: at the profile's next call (its 401), or by the
paced health check of a profile that makes no calls (`PROFILE_HEALTH_INTERVAL_S`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

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


async def health_events(app, phone):
    from sqlalchemy import select

    from app.db.models import Event

    async with app.state.ctx.sessionmaker() as session:
        rows = await session.scalars(
            select(Event).where(Event.profile == phone, Event.type == "profile.health_changed").order_by(Event.id)
        )
        return [(row.payload["from"], row.payload["to"]) for row in rows]


async def wait_for_health(client, headers, phone, health):
    async def probe():
        profile = await status_of(client, headers, phone)
        return profile if profile["health"] == health else None

    return await eventually(probe, what=f"health {health}")


@pytest.mark.parametrize("settings_overrides", [FAST_HEALTH_CHECK], indirect=True)
async def test_the_periodic_check_records_health_and_announces_each_change(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    first = await wait_for_health(client, s.headers, s.phone, "ok")
    checked = datetime.fromisoformat(first["health_checked_at"])
    assert abs(checked - datetime.now(UTC)) < timedelta(minutes=5)
    later = await eventually(lambda: _checked_after(client, s, checked), what="a later check")  # the check repeats
    assert later["health"] == "ok"

    sandbox.control.freeze(s.me, days=7)
    frozen = await wait_for_health(client, s.headers, s.phone, "frozen")
    assert frozen["status"] == "frozen"
    sandbox.control.unfreeze(s.me)
    await wait_for_health(client, s.headers, s.phone, "ok")
    sandbox.control.ban(s.me)
    banned = await wait_for_health(client, s.headers, s.phone, "banned")
    assert banned["status"] == "banned"
    assert await health_events(app, s.phone) == [(None, "ok"), ("ok", "frozen"), ("frozen", "ok"), ("ok", "banned")]


async def _checked_after(client, s, checked):
    profile = await status_of(client, s.headers, s.phone)
    return profile if datetime.fromisoformat(profile["health_checked_at"]) > checked else None


@pytest.mark.parametrize("settings_overrides", [NO_HEALTH_CHECK], indirect=True)
async def test_no_health_is_shown_before_the_first_check(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    profile = await status_of(client, s.headers, s.phone)
    assert (profile["health"], profile["health_checked_at"]) == (None, None)
