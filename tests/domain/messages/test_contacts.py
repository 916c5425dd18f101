"""Writing to someone known only by phone number, and the profile's contacts, through the HTTP API against the
sandbox (phone privacy as Telegram applies it)."""

from __future__ import annotations

import pytest

from app.sandbox.state import User
from tests.domain.messages.support import connected_profile, new_contact
from tests.domain.profiles.test_budgets import UNPACED, limits

pytestmark = pytest.mark.asyncio


def received_by(user: User, sender: User) -> list[str]:
    return [m.text for m in sorted(user.messages.values(), key=lambda m: m.id) if not m.out and m.peer_id == sender.id]


async def send(client, s, receiver, text="hello", **extra):
    body = {"phone": s.phone, "text": text, "tg_receiver": receiver, **extra}
    return await client.post("/messages/send", json=body, headers=s.headers)


@pytest.mark.parametrize("settings_overrides", [{**UNPACED, "SEND_BUDGET_NEW_CHATS_PER_DAY": "1"}], indirect=True)
async def test_a_stranger_known_by_phone_is_written_to_and_spends_the_new_chats_budget(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    stranger = s.contact  # not in the profile's contacts, findable by number (Telegram's default)
    sent = await send(client, s, f"+{stranger.phone}", "hello by number")
    assert sent.status_code == 200, sent.text
    assert sent.json()["peer"]["peer_id"] == stranger.id
    assert sent.json()["contact"] is None
    assert received_by(stranger, s.me) == ["hello by number"]
    assert stranger.id not in s.me.contacts  # resolvePhone saves nobody
    again = await send(client, s, f"https://t.me/+{stranger.phone}", "and again by link")
    assert again.status_code == 200, again.text  # the same chat: not new
    shown = await limits(client, s)
    assert shown["new_chats_per_day"]["used"] == 1

    other = new_contact(sandbox, "Flo")
    refused = await send(client, s, f"+{other.phone}", "one stranger too many", save_contact=True)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["details"]["budget"] == "new_chats_per_day"
    assert received_by(other, s.me) == []
    assert other.id not in s.me.contacts  # a refused send saves no contact


async def test_telegram_hides_an_account_whose_privacy_refuses_with_404(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    hidden = s.contact
    sandbox.control.set_phone_privacy(hidden, visible_to="nobody", found_by="contacts")
    refused = await send(client, s, f"+{hidden.phone}", save_contact=True)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "peer_not_found"
    assert "privacy" in refused.json()["error"]["message"]
    nobody = await send(client, s, "+19995550199")
    assert nobody.status_code == 404, nobody.text
    assert nobody.json()["error"]["code"] == "peer_not_found"
    assert received_by(hidden, s.me) == []

    sandbox.control.add_contact(hidden, s.me)  # they saved the profile: it may find them by number now
    sent = await send(client, s, f"+{hidden.phone}", "found you", save_contact=True)
    assert sent.status_code == 200, sent.text
    contact = sent.json()["contact"]
    assert contact["peer"]["peer_id"] == hidden.id
    assert contact["mutual"] is True
    assert contact["phone"] == f"+{hidden.phone}"
    assert hidden.id in s.me.contacts


async def test_save_contact_needs_a_phone_receiver(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    refused = await send(client, s, f"@{s.contact.username}", save_contact=True)
    assert refused.status_code == 422, refused.text
    assert received_by(s.contact, s.me) == []


async def test_contacts_are_listed_added_and_removed(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    base = f"/profiles/{s.phone}/contacts"
    empty = await client.get(base, headers=s.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"phone": s.phone, "items": []}

    body = {"phone": f"+{s.contact.phone}", "first_name": "Bobby"}
    added = await client.post(base, json=body, headers=s.headers)
    assert added.status_code == 201, added.text
    assert added.json()["peer"]["peer_id"] == s.contact.id
    assert added.json()["mutual"] is False
    listed = (await client.get(base, headers=s.headers)).json()["items"]
    assert [c["peer"]["peer_id"] for c in listed] == [s.contact.id]

    hidden = new_contact(sandbox, "Gus")
    sandbox.control.set_phone_privacy(hidden, found_by="contacts")
    unknown = await client.post(base, json={"phone": f"+{hidden.phone}", "first_name": "Gus"}, headers=s.headers)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["code"] == "peer_not_found"
    for bad in ({"phone": "15550001", "first_name": "x"}, {"phone": "+15550001", "first_name": ""}, {"phone": "+1"}):
        answer = await client.post(base, json=bad, headers=s.headers)
        assert answer.status_code == 422, (bad, answer.text)

    removed = await client.delete(f"{base}/{s.contact.id}", headers=s.headers)
    assert removed.status_code == 204, removed.text
    assert s.contact.id not in s.me.contacts
    gone = await client.delete(f"{base}/{s.contact.id}", headers=s.headers)
    assert gone.status_code == 404, gone.text
    assert (await client.delete(f"{base}/{2**63}", headers=s.headers)).status_code == 422


async def test_lookup_names_the_peer_without_sending(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    found = await client.get(f"/profiles/{s.phone}/lookup", params={"peer": f"+{s.contact.phone}"}, headers=s.headers)
    assert found.status_code == 200, found.text
    assert found.json()["peer"]["peer_id"] == s.contact.id
    by_name = await client.get(
        f"/profiles/{s.phone}/lookup", params={"peer": f"t.me/{s.contact.username}"}, headers=s.headers
    )
    assert by_name.json()["peer"]["peer_id"] == s.contact.id
    assert received_by(s.contact, s.me) == []
    other = await connected_profile(client, app, sandbox, email="eve@example.com")
    foreign = await client.get(f"/profiles/{s.phone}/contacts", headers=other.headers)
    assert foreign.status_code == 404, foreign.text  # another tenant's profile
