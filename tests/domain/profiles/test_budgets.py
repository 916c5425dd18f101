"""Send budgets per profile and UTC day: messages and new chats, refused with 429 before Telegram is asked, shown in
`GET /profiles/{phone}/limits`, halved after Telegram answers a send with a flood error."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import connected_profile, conversation_with, eventually, new_contact

pytestmark = pytest.mark.asyncio

UNPACED = {"SEND_CHAT_INTERVAL_S": "0", "SEND_ACCOUNT_PER_MINUTE": "100000", "SEND_GROUP_PER_MINUTE": "100000"}
SENT = "messages.SendMessageRequest"


async def send(client, s, receiver, text="hello"):
    body = {"phone": s.phone, "text": text, "tg_receiver": receiver}
    return await client.post("/messages/send", json=body, headers=s.headers)


async def limits(client, s):
    answer = await client.get(f"/profiles/{s.phone}/limits", headers=s.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def next_utc_midnight() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


@pytest.mark.parametrize("settings_overrides", [{**UNPACED, "SEND_BUDGET_MESSAGES_PER_DAY": "3"}], indirect=True)
async def test_the_message_budget_refuses_before_telegram_and_says_when_it_resets(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    for n in range(3):
        assert (await send(client, s, s.contact.username, f"m{n}")).status_code == 200
    calls = sandbox.control.counters.requests[SENT]
    refused = await send(client, s, s.contact.username, "one too many")
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "send_budget_exhausted"
    assert error["details"]["budget"] == "messages_per_day"
    resets_at = next_utc_midnight()
    assert 1 <= int(refused.headers["retry-after"]) <= (resets_at - datetime.now(UTC)).total_seconds() + 2
    assert sandbox.control.counters.requests[SENT] == calls  # Telegram was not asked

    shown = await limits(client, s)
    assert shown["messages_per_day"] == {
        "limit": 3,
        "used": 3,
        "remaining": 0,
        "resets_at": shown["messages_per_day"]["resets_at"],
    }
    assert datetime.fromisoformat(shown["messages_per_day"]["resets_at"]) == resets_at
    assert shown["new_chats_per_day"]["used"] == 1
    assert shown["reduced_until"] is None
    texts = [m.text for m in s.contact.messages.values() if not m.out and m.peer_id == s.me.id]
    assert "one too many" not in texts


@pytest.mark.parametrize("settings_overrides", [{**UNPACED, "SEND_BUDGET_NEW_CHATS_PER_DAY": "2"}], indirect=True)
async def test_new_chats_are_counted_once_and_a_chat_that_wrote_first_is_not_new(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    second, third, writer = new_contact(sandbox, "Cy"), new_contact(sandbox, "Di"), new_contact(sandbox, "Ed")
    assert (await send(client, s, s.contact.username)).status_code == 200
    assert (await send(client, s, s.contact.username, "again")).status_code == 200  # not a new chat
    assert (await send(client, s, second.username)).status_code == 200
    refused = await send(client, s, third.username)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["details"]["budget"] == "new_chats_per_day"

    await sandbox.control.as_user(writer).send_message(s.me, "hi, it's Ed")
    await eventually(lambda: conversation_with(client, s.headers, writer.id), what="Ed's message stored")
    assert (await send(client, s, writer.username, "hello Ed")).status_code == 200  # a reply opens nothing new
    shown = await limits(client, s)
    assert shown["new_chats_per_day"]["used"] == 2
    assert shown["messages_per_day"]["used"] == 4


@pytest.mark.parametrize("settings_overrides", [UNPACED], indirect=True)
async def test_a_profiles_own_limit_overrides_the_default_and_bad_values_are_4xx(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    for bad in (-1, "ten", 10**9):
        answer = await client.patch(f"/profiles/{s.phone}", json={"messages_per_day": bad}, headers=s.headers)
        assert answer.status_code in (400, 422), answer.text
    patched = await client.patch(f"/profiles/{s.phone}", json={"messages_per_day": 1}, headers=s.headers)
    assert patched.status_code == 200, patched.text
    assert (await limits(client, s))["messages_per_day"]["limit"] == 1
    assert (await send(client, s, s.contact.username)).status_code == 200
    assert (await send(client, s, s.contact.username)).status_code == 429
    await client.patch(f"/profiles/{s.phone}", json={"messages_per_day": None}, headers=s.headers)
    assert (await limits(client, s))["messages_per_day"]["limit"] == app.state.ctx.settings.send_budget_messages_per_day
    assert (await send(client, s, s.contact.username)).status_code == 200

    other = bearer(await register_and_login(client, "eve@example.com"))
    assert (await client.get(f"/profiles/{s.phone}/limits", headers=other)).status_code == 404


@pytest.mark.parametrize(
    "settings_overrides",
    [{**UNPACED, "SEND_BUDGET_MESSAGES_PER_DAY": "10", "PROFILE_HEALTH_INTERVAL_S": "3600"}],
    indirect=True,
)
@pytest.mark.parametrize("flood", ["FLOOD_WAIT_30", "PEER_FLOOD"])
async def test_a_flood_answer_halves_the_budgets_for_a_while(client, app, sandbox, flood):
    s = await connected_profile(client, app, sandbox)
    if flood == "PEER_FLOOD":
        sandbox.control.limit_spam(s.me)  # a stranger: refused with PEER_FLOOD by the sandbox's own rule
    else:
        sandbox.control.fail_next("messages.SendMessage", 420, flood, user=s.me)
    refused = await send(client, s, s.contact.username)
    assert refused.status_code in (403, 429), refused.text
    shown = await limits(client, s)
    assert shown["messages_per_day"]["limit"] == 5
    assert shown["new_chats_per_day"]["limit"] == 10
    reduced = datetime.fromisoformat(shown["reduced_until"])
    assert timedelta(hours=23) < reduced - datetime.now(UTC) <= timedelta(days=1)


@pytest.mark.parametrize("settings_overrides", [{**UNPACED, "SEND_BUDGET_MESSAGES_PER_DAY": "4"}], indirect=True)
async def test_concurrent_sends_never_overspend(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    calls = sandbox.control.counters.requests[SENT]
    answers = await asyncio.gather(*(send(client, s, s.contact.username, f"c{n}") for n in range(12)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] == 4, [a.text for a in answers]
    assert all(a.json()["error"]["code"] == "send_budget_exhausted" for a in answers if a.status_code != 200)
    assert sandbox.control.counters.requests[SENT] - calls == 4
    shown = await limits(client, s)
    assert (shown["messages_per_day"]["used"], shown["new_chats_per_day"]["used"]) == (4, 1)
