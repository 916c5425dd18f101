"""Telegram's refusals as standard statuses with codes that say what happened, and the profile statuses they
mean: waits are 429 + Retry-After, a frozen account is `frozen`, a spam-limited one `limited`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db.models import Event
from tests.domain.messages.support import connected_profile, eventually, new_contact
from tests.domain.profiles.test_binding import wait_for_status

pytestmark = pytest.mark.asyncio

NO_HEALTH_CHECK = {"PROFILE_HEALTH_INTERVAL_S": "3600"}  # only the refused call can tell
FAST_HEALTH_CHECK = {"PROFILE_HEALTH_INTERVAL_S": "0.3"}


async def send(client, s, receiver=None, text="hello"):
    body = {"phone": s.phone, "text": text, "tg_receiver": receiver or s.contact.username}
    return await client.post("/messages/send", json=body, headers=s.headers)


async def profile_events(app, phone):
    async with app.state.ctx.sessionmaker() as session:
        rows = await session.scalars(select(Event).where(Event.profile == phone).order_by(Event.created_at))
        return [(row.type, dict(row.payload)) for row in rows]


@pytest.mark.parametrize(
    ("rpc_error", "code", "seconds"),
    [("SLOWMODE_WAIT_7", "SLOWMODE_WAIT", 7), ("FLOOD_PREMIUM_WAIT_9", "FLOOD_PREMIUM_WAIT", 9)],
)
async def test_waits_are_429_with_retry_after(client, app, sandbox, rpc_error, code, seconds):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.fail_next("messages.SendMessage", 420, rpc_error, user=s.me)
    answer = await send(client, s)
    assert answer.status_code == 429, answer.text
    assert answer.headers["retry-after"] == str(seconds)
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize("settings_overrides", [NO_HEALTH_CHECK], indirect=True)
async def test_a_frozen_account_turns_the_profile_frozen(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.freeze(s.me, days=14, appeal_url="https://t.me/spambot?start=appeal")
    answer = await send(client, s)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "profile_frozen"

    profile = next(p for p in (await client.get("/profiles", headers=s.headers)).json() if p["phone"] == s.phone)
    assert profile["status"] == "frozen"
    assert profile["appeal_url"] == "https://t.me/spambot?start=appeal"
    until = datetime.fromisoformat(profile["frozen_until"])
    assert abs(until - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)
    kinds = [(kind, payload.get("to")) for kind, payload in await profile_events(app, s.phone)]
    assert ("profile.status_changed", "frozen") in kinds
    assert ("alert", "frozen") in kinds
    # It still reads: history through the frozen profile works.
    history = await client.get(
        "/messages/history", params={"phone": s.phone, "peer": s.contact.username}, headers=s.headers
    )
    assert history.status_code == 200, history.text


@pytest.mark.parametrize("settings_overrides", [FAST_HEALTH_CHECK], indirect=True)
async def test_the_health_check_finds_a_freeze_and_its_end(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.freeze(s.me, days=3)
    frozen = await wait_for_status(client, s.headers, s.phone, "frozen")
    assert frozen["frozen_until"]
    assert frozen["appeal_url"]
    sandbox.control.unfreeze(s.me)
    back = await wait_for_status(client, s.headers, s.phone, "active")
    assert back["frozen_until"] is None
    assert (await send(client, s)).status_code == 200


@pytest.mark.parametrize("settings_overrides", [NO_HEALTH_CHECK], indirect=True)
async def test_a_spam_limited_account_turns_the_profile_limited(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    friend = new_contact(sandbox, "Carol")
    sandbox.control.add_contact(s.me, friend)
    sandbox.control.add_contact(friend, s.me)
    sandbox.control.limit_spam(s.me)
    answer = await send(client, s)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "peer_flood"
    limited = await wait_for_status(client, s.headers, s.phone, "limited")
    assert limited["status_reason"] == "Telegram: PEER_FLOOD"
    kinds = [(kind, payload.get("to")) for kind, payload in await profile_events(app, s.phone)]
    assert ("alert", "limited") in kinds
    assert (await send(client, s, receiver=friend.username)).status_code == 200  # mutual contacts still work
    # Not chosen for a new channel.
    owner = new_contact(sandbox, "Dora")
    channel = sandbox.control.create_channel(title="Limited news", username=f"ln{owner.id}", creator=owner)
    refused = await client.post("/channels", json={"channel": f"@{channel.username}"}, headers=s.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "no_eligible_profile"


async def test_paid_and_premium_only_recipients_answer_403_with_their_code(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.set_privacy(s.contact, paid_stars=30)
    paid = await send(client, s)
    assert paid.status_code == 403, paid.text
    assert paid.json()["error"]["code"] == "payment_required"
    assert paid.json()["error"]["details"] == {"stars": 30}
    sandbox.control.set_privacy(s.contact, premium_required=True)
    premium = await send(client, s)
    assert premium.status_code == 403, premium.text
    assert premium.json()["error"]["code"] == "premium_required"
    await eventually(lambda: _status_is(client, s, "active"), what="the profile stays active")


async def _status_is(client, s, status):
    profiles = (await client.get("/profiles", headers=s.headers)).json()
    return next(p for p in profiles if p["phone"] == s.phone)["status"] == status


async def test_slow_mode_of_a_supergroup_answers_429_with_the_wait_left(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    group = sandbox.control.create_channel(
        title="Slow", username=f"slow{s.contact.id}", creator=s.contact, broadcast=False, members=[s.me]
    )
    sandbox.control.set_slowmode(group, 600)
    first = await send(client, s, receiver=group.username, text="first")
    assert first.status_code == 200, first.text
    second = await send(client, s, receiver=group.username, text="second")
    assert second.status_code == 429, second.text
    assert second.json()["error"]["code"] == "SLOWMODE_WAIT"
    assert 590 <= int(second.headers["retry-after"]) <= 600
