"""Bad input is a 4xx on both databases: NUL characters, integers beyond what columns and Telegram hold,
naive cursors, deep or undecodable bodies, impossible log dates, inactive profiles."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import connected_profile

pytestmark = pytest.mark.asyncio


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_nul_characters_are_refused_in_every_text_field(client, app, sandbox):
    assert error_of(
        await client.post("/auth/register", json={"email": "a\u0000@example.com", "password": "correct horse"})
    ) == (422, "validation_error")
    s = await connected_profile(client, app, sandbox)
    cases = [
        ("PATCH", f"/profiles/{s.phone}", {"label": "sa\u0000les"}),
        ("POST", "/webhooks", {"url": "https://example.com/x", "event_types": ["*"], "description": "d\u0000"}),
        ("POST", "/messages/send", {"phone": s.phone, "text": "hi\u0000", "tg_receiver": s.contact.username}),
        ("POST", "/channels", {"channel": "@chan\u0000nel"}),
        ("POST", "/profiles/start", {"phone": "+99966\u00001234"}),
        ("POST", "/webhooks", {"url": "https://example.com/x", "event_types": ["*"], "k\u0000": 1}),
    ]
    for method, path, body in cases:
        response = await client.request(method, path, json=body, headers=s.headers)
        assert error_of(response) == (422, "validation_error"), (path, response.text)
    for url in ("/logs?kind=event&q=a%00b", "/conversations?phone=%2B1%00", "/logs?kind=event&q=a%2500%00"):
        response = await client.get(url, headers=s.headers)
        assert error_of(response) == (422, "validation_error"), (url, response.text)
    form = await client.post(
        "/profiles/import", files={"file": ("a.session", b"x")}, data={"label": "l\u0000"}, headers=s.headers
    )
    assert error_of(form) == (422, "validation_error"), form.text
    assert (await client.get("/profiles", headers=s.headers)).json()[0]["label"] == "main"


async def test_integers_beyond_what_telegram_and_columns_hold_are_422(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    send = {"phone": s.phone, "text": "hi", "tg_receiver": s.contact.username}
    for body in (
        {**send, "reply_to": 2**70},  # beyond 64 bits
        {**send, "reply_to": 2**40},  # beyond Telegram's 32-bit message ids
        {**send, "tg_receiver": "9" * 30},
        {**send, "tg_receiver": 2**64},
    ):
        response = await client.post("/messages/send", json=body, headers=s.headers)
        assert error_of(response) == (422, "validation_error"), (body, response.text)
    assert s.contact.messages == {} or all(m.out for m in s.contact.messages.values())
    for channel in ("9" * 30, "-" + "9" * 25, str(2**63)):
        response = await client.post("/channels", json={"channel": channel, "phone": s.phone}, headers=s.headers)
        assert error_of(response) == (422, "validation_error"), (channel, response.text)
    history = await client.get(
        "/messages/history",
        params={"phone": s.phone, "peer": s.contact.username, "before_id": 2**40},
        headers=s.headers,
    )
    assert history.status_code in (400, 422), history.text
    read = await client.post("/messages/read", json={"phone": s.phone, "peer": s.contact.username, "max_id": 2**33},
                             headers=s.headers)  # fmt: skip
    assert error_of(read) == (422, "validation_error"), read.text


async def test_cursors_bodies_and_log_dates(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    naive = base64.urlsafe_b64encode(f"{datetime.now().isoformat()}|{uuid.uuid4()}".encode()).decode()
    s = await connected_profile(client, app, sandbox, email="bob@example.com")
    sent = await client.post(
        "/messages/send", json={"phone": s.phone, "text": "x", "tg_receiver": s.contact.username}, headers=s.headers
    )
    conversation = sent.json()["conversation_id"]
    for cursor in (naive, "!!!", base64.urlsafe_b64encode(b"9999|x").decode()):
        page = await client.get(f"/conversations/{conversation}/messages", params={"cursor": cursor}, headers=s.headers)
        assert page.status_code in (400, 422), (cursor, page.text)
    channel_page = await client.get(f"/channels/{uuid.uuid4()}/messages", params={"cursor": "9" * 30}, headers=headers)
    assert channel_page.status_code in (404, 422), channel_page.text

    deep = b'{"email":' + b"[" * 100_000 + b"]" * 100_000 + b',"password":"x"}'
    assert error_of(await client.post("/auth/login", content=deep, headers={"content-type": "application/json"})) == (
        400,
        "invalid_json",
    )
    nested = b'{"email":"a@b.cd","password":"xxxxxxxx","x":' + b"[" * 40 + b"]" * 40 + b"}"
    assert error_of(await client.post("/auth/register", content=nested)) == (400, "invalid_json")
    for body in (b'{"email":"\xff\xfe@x.io","password":"correct horse"}', b"\xc3\x28"):
        response = await client.post("/auth/register", content=body, headers={"content-type": "application/json"})
        assert error_of(response) == (400, "invalid_json"), response.text
    broken = await client.post("/profiles/import", content=b'{"session_string":"\xff"}', headers=headers)
    assert error_of(broken) == (400, "invalid_json"), broken.text

    for since in ("0595-01-01T00:00:00Z", "9999-12-31T00:00:00Z"):
        logs = await client.get("/logs", params={"kind": "event", "since": since}, headers=headers)
        assert error_of(logs) == (422, "validation_error"), logs.text
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert (await client.get("/logs", params={"kind": "event", "since": recent}, headers=headers)).status_code in (
        200,
        503,
    )


async def test_an_inactive_profile_is_409_profile_not_active_everywhere(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    paused = await client.patch(f"/profiles/{s.phone}", json={"is_active": False}, headers=s.headers)
    assert paused.status_code == 200
    requests = [
        ("POST", "/messages/send", {"phone": s.phone, "text": "hi", "tg_receiver": s.contact.username}),
        ("POST", "/archives", {"channel": "@somewhere", "phone": s.phone, "target": {"type": "local", "path": "a"}}),
        ("POST", "/archives", {"channel": "@somewhere", "target": {"type": "local", "path": "a"}}),
        ("POST", "/channels", {"channel": "@somewhere", "phone": s.phone}),
    ]
    for method, path, body in requests:
        response = await client.request(method, path, json=body, headers=s.headers)
        assert error_of(response) == (409, "profile_not_active"), (path, response.text)
    for path in ("/messages/dialogs", "/messages/unread", f"/profiles/{s.phone}/channels"):
        response = await client.get(path, params={"phone": s.phone}, headers=s.headers)
        assert error_of(response) == (409, "profile_not_active"), (path, response.text)
