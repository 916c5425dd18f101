"""Sending, replying, reading and browsing through Telegram, with every error the API promises."""

from __future__ import annotations

import asyncio

import pytest

from app.sandbox.state import User
from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import connected_profile, conversation_with, eventually, stored_messages

pytestmark = pytest.mark.asyncio


def received_by(user: User, sender: User) -> list[str]:
    return [m.text for m in sorted(user.messages.values(), key=lambda m: m.id) if not m.out and m.peer_id == sender.id]


async def test_send_and_reply_reach_the_peer_and_are_stored_as_sent(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sent = await client.post(
        "/messages/send",
        json={"phone": s.phone, "text": "hi from the API", "tg_receiver": f"@{s.contact.username}"},
        headers=s.headers,
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "sent"
    assert body["peer"]["peer_id"] == s.contact.id
    assert body["message"]["direction"] == "out"
    assert body["message"]["telegram_message_id"] > 0
    assert received_by(s.contact, s.me) == ["hi from the API"]

    conversation_id = body["conversation_id"]
    reply = await client.post(
        f"/conversations/{conversation_id}/reply", json={"text": "and a reply"}, headers=s.headers
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "sent"
    assert received_by(s.contact, s.me) == ["hi from the API", "and a reply"]

    items = await stored_messages(client, s.headers, conversation_id)
    assert [(m["text"], m["status"], m["direction"]) for m in items] == [
        ("and a reply", "sent", "out"),
        ("hi from the API", "sent", "out"),
    ]


async def test_receiver_forms(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.add_contact(s.me, s.contact)  # a phone resolves among contacts who show it to us
    sandbox.control.add_contact(s.contact, s.me)
    forms = {
        "link": f"https://t.me/{s.contact.username}",
        "phone": f"+{s.contact.phone}",
        "bare": s.contact.username,
        "id": str(s.contact.id),  # an id works once the profile has seen the peer (and so holds its hash)
    }
    for text, receiver in forms.items():
        body = {"phone": s.phone, "text": text, "tg_receiver": receiver}
        sent = await client.post("/messages/send", json=body, headers=s.headers)
        assert sent.status_code == 200, (receiver, sent.text)
    assert received_by(s.contact, s.me) == list(forms)


async def test_flood_wait_answers_429_and_the_row_is_failed(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.fail_next("messages.SendMessage", 420, "FLOOD_WAIT_30", user=s.me)
    sent = await client.post(
        "/messages/send",
        json={"phone": s.phone, "text": "too fast", "tg_receiver": s.contact.username},
        headers=s.headers,
    )
    assert sent.status_code == 429, sent.text
    assert sent.headers["retry-after"] == "30"
    assert sent.json()["error"]["code"] == "FLOOD_WAIT"
    conversation = await conversation_with(client, s.headers, s.contact.id)
    assert conversation is not None
    items = await stored_messages(client, s.headers, conversation["id"])
    assert [(m["text"], m["status"], m["error"]) for m in items] == [("too fast", "failed", "FLOOD_WAIT")]
    assert received_by(s.contact, s.me) == []


async def test_a_retried_send_with_the_same_idempotency_key_sends_once(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    request = {"phone": s.phone, "text": "exactly once", "tg_receiver": f"@{s.contact.username}"}
    headers = {**s.headers, "Idempotency-Key": "order-42"}
    first = await client.post("/messages/send", json=request, headers=headers)
    second = await client.post("/messages/send", json=request, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert received_by(s.contact, s.me) == ["exactly once"]
    other = await client.post("/messages/send", json=request, headers={**s.headers, "Idempotency-Key": "order-43"})
    assert other.json()["message"]["id"] != first.json()["message"]["id"]
    assert received_by(s.contact, s.me) == ["exactly once", "exactly once"]


async def test_send_errors(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)

    async def send(text="hi", receiver=None, headers=None, phone=None):
        body = {"phone": phone or s.phone, "text": text, "tg_receiver": receiver or f"@{s.contact.username}"}
        return await client.post("/messages/send", json=body, headers=headers or s.headers)

    unknown = await send(receiver="@nobody_here_at_all")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "peer_not_found")
    assert (await send(receiver="99999999")).status_code == 404
    assert (await send(text="")).status_code == 422
    assert (await send(text="   ")).status_code == 422
    assert (await send(text="x" * 4097)).status_code == 422
    assert (await send(text="x" * 4096)).status_code == 200

    sandbox.control.fail_next("messages.SendMessage", 400, "USER_IS_BLOCKED", user=s.me)
    blocked = await send()
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (403, "USER_IS_BLOCKED")
    sandbox.control.fail_next("messages.SendMessage", 403, "CHAT_WRITE_FORBIDDEN", user=s.me)
    assert (await send()).status_code == 403

    other = bearer(await register_and_login(client, "eve@example.com"))
    assert (await send(headers=other)).status_code == 404  # another user's profile
    for path, params in [("/messages/dialogs", {"phone": s.phone}), ("/messages/unread", {"phone": s.phone})]:
        assert (await client.get(path, params=params, headers=other)).status_code == 404

    paused = await client.patch(f"/profiles/{s.phone}", json={"is_active": False}, headers=s.headers)
    assert paused.status_code == 200
    inactive = await send()
    assert (inactive.status_code, inactive.json()["error"]["code"]) == (409, "profile_not_active")
    assert (await client.get("/messages/dialogs", params={"phone": s.phone}, headers=s.headers)).status_code == 409


async def test_dialogs_history_and_read(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    actor = sandbox.control.as_user(s.contact)
    for n in range(3):
        await actor.send_message(s.me, f"note {n}")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    await eventually(lambda: _unread_is(client, s, conversation["id"], 3))

    dialogs = await client.get("/messages/dialogs", params={"phone": s.phone, "limit": 10}, headers=s.headers)
    assert dialogs.status_code == 200, dialogs.text
    entry = next(d for d in dialogs.json()["items"] if d["peer"]["peer_id"] == s.contact.id)
    assert entry["unread_count"] == 3
    assert entry["last_message"]["text"] == "note 2"
    posted = await client.post("/messages/dialogs", json={"phone": s.phone, "offset": 0}, headers=s.headers)
    assert posted.json()["items"] == dialogs.json()["items"]

    history = await client.get(
        "/messages/history", params={"phone": s.phone, "peer": f"@{s.contact.username}", "limit": 2}, headers=s.headers
    )
    assert history.status_code == 200, history.text
    page = history.json()
    assert [m["text"] for m in page["messages"]] == ["note 2", "note 1"]
    older = await client.get(
        "/messages/history",
        params={"phone": s.phone, "peer": str(s.contact.id), "before_id": page["next_before_id"]},
        headers=s.headers,
    )
    assert [m["text"] for m in older.json()["messages"]] == ["note 0"]

    read = await client.post("/messages/read", json={"phone": s.phone, "peer": s.contact.username}, headers=s.headers)
    assert read.status_code == 200, read.text
    unread = await client.get("/messages/unread", params={"phone": s.phone}, headers=s.headers)
    assert unread.json()["dialogs"] == []
    assert (await conversation_with(client, s.headers, s.contact.id))["unread_count"] == 0


async def _unread_is(client, s, conversation_id, count):
    items = await stored_messages(client, s.headers, conversation_id)
    return len(items) == count


class TestPacing:
    @pytest.fixture
    def settings_overrides(self):
        # A queued send waits at most 4 s (<= 5) and the one behind it at least 8 s minus the time the requests
        # took to arrive, so request overheads on a loaded machine (up to 3 s) cannot flip the outcome.
        return {"SEND_CHAT_INTERVAL_S": "4", "SEND_MAX_WAIT_S": "5"}

    async def test_sends_queue_for_their_slot_and_too_long_a_wait_is_429(self, client, app, sandbox):
        s = await connected_profile(client, app, sandbox)
        body = {"phone": s.phone, "text": "paced", "tg_receiver": f"@{s.contact.username}"}
        assert (await client.post("/messages/send", json=body, headers=s.headers)).status_code == 200
        # The second waits for its slot (4 s after the first) and is sent.
        assert (await client.post("/messages/send", json=body, headers=s.headers)).status_code == 200
        # Two more at once: the first of them queues (4 s), the second would wait 8 s > 5 s.
        answers = await asyncio.gather(*(client.post("/messages/send", json=body, headers=s.headers) for _ in range(2)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["error"]["code"] == "send_rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert received_by(s.contact, s.me) == ["paced"] * 3
