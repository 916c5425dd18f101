"""A multipart `.session` import takes what the JSON import takes: api credentials, a device identity and a proxy,
checked alike (a malformed one 422 before the file is read, a proxy that does not reach Telegram 422
`proxy_unreachable`), then used from the verification on (the sandbox sees the device, the proxy the connections)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from telethon.sessions import SQLiteSession, StringSession

from tests.conftest import bearer, register_and_login
from tests.domain.profiles.test_devices import PHONE_DEVICE, expected, seen
from tests.domain.profiles.test_lifecycle import new_sandbox_user
from tests.domain.profiles.test_proxies import proxy_server
from tests.live import free_port

pytestmark = pytest.mark.asyncio


def session_file_of(sandbox, user, directory: Path) -> bytes:
    minted = StringSession(sandbox.control.login_session(user))
    file_session = SQLiteSession(str(directory / f"account-{user.id}"))
    file_session.set_dc(minted.dc_id, minted.server_address, minted.port)
    file_session.auth_key = minted.auth_key
    file_session.save()
    file_session.close()
    return (directory / f"account-{user.id}.session").read_bytes()


async def upload(client, headers, content: bytes, **fields: object):
    data = {name: value if isinstance(value, str) else json.dumps(value) for name, value in fields.items()}
    return await client.post(
        "/profiles/import", files={"file": ("account.session", content)}, data=data, headers=headers
    )


async def test_a_session_file_is_imported_with_its_device_and_through_its_proxy(client, app, sandbox, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    user = new_sandbox_user(sandbox)
    content = session_file_of(sandbox, user, tmp_path)
    async with proxy_server("socks5", tmp_path, auth="fileman:s3cret") as proxy:
        body = proxy.body(username="fileman", password="s3cret")
        imported = await upload(client, headers, content, label="from file", device=PHONE_DEVICE, proxy=body)
        assert imported.status_code == 201, imported.text
        profile = imported.json()
        assert profile["label"] == "from file"
        assert profile["device"] == PHONE_DEVICE
        assert profile["proxy"] == {"type": "socks5", "host": "127.0.0.1", "port": proxy.port}
        assert "s3cret" not in imported.text
        assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 15)
        # the set-time check, the verification and the runtime's connection, all through the proxy
        assert proxy.connections_to(sandbox.port) >= 3
    assert set(seen(sandbox, user.id)) == {expected(PHONE_DEVICE)}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"device": {**PHONE_DEVICE, "lang_code": "??"}}, None),
        ({"device": "{not json"}, "device"),
        ({"proxy": {"type": "socks6", "host": "127.0.0.1", "port": 1080}}, None),
        ({"proxy": {"type": "mtproxy", "host": "127.0.0.1", "port": 443}}, None),
        ({"proxy": "[1, 2]"}, None),
        ({"api_id": "not a number"}, None),
        ({"api_id": "0"}, None),
        ({"colour": "blue"}, None),
    ],
)
async def test_malformed_fields_are_a_422_before_the_file_is_read(client, sandbox, tmp_path, fields, field):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    refused = await upload(client, headers, b"not even a session file", **fields)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] != "invalid_session"  # the fields were refused first
    if field is not None:
        assert refused.json()["error"]["details"] == [{"field": field, "source": "body"}]


async def test_a_proxy_that_does_not_reach_telegram_is_refused(client, sandbox, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    user = new_sandbox_user(sandbox)
    nothing = {"type": "socks5", "host": "127.0.0.1", "port": free_port()}  # nobody listens there
    refused = await upload(client, headers, session_file_of(sandbox, user, tmp_path), proxy=nothing)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "proxy_unreachable"
    assert (await client.get("/profiles", headers=headers)).json() == []
