"""`WS /events` sockets close with 4401 as soon as their login is revoked (logout, refresh-token reuse), also
when the socket is served by another API process (Redis pub/sub); other logins' sockets keep streaming."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from app.server.app import create_app
from tests.conftest import make_settings, sandbox_env
from tests.domain.events.test_stream import close_code, next_event, ws_url
from tests.domain.webhooks.conftest import emit_events, sign_up
from tests.live import serve_asgi

pytestmark = pytest.mark.asyncio

CREDENTIALS = {"email": "ada@example.com", "password": "correct horse"}


async def second_login(http: httpx.AsyncClient) -> dict[str, str]:
    return dict((await http.post("/auth/login", json=CREDENTIALS)).json())


async def test_logout_closes_that_logins_open_sockets_only(app, http):
    headers, user_id = await sign_up(http, CREDENTIALS["email"])
    other = await second_login(http)
    await app.state.ctx.revocations.relaying()
    async with (
        connect(ws_url(http), subprotocols=["bearer", headers["Authorization"].split(" ", 1)[1]]) as revoked_ws,
        connect(ws_url(http), subprotocols=["bearer", other["access_token"]]) as other_ws,
    ):
        await emit_events(app, user_id, 1)
        assert (await next_event(revoked_ws))["type"] == "message.received"
        assert (await next_event(other_ws))["type"] == "message.received"
        assert (await http.post("/logout", headers=headers)).status_code == 204
        code, reason = await close_code(revoked_ws)
        assert code == 4401
        assert "revoked" in reason
        # The other login's socket keeps streaming.
        await emit_events(app, user_id, 1)
        assert (await next_event(other_ws))["type"] == "message.received"


async def test_refresh_token_reuse_closes_the_familys_sockets(app, http):
    await sign_up(http, CREDENTIALS["email"])
    tokens = await second_login(http)
    await app.state.ctx.revocations.relaying()
    async with connect(ws_url(http), subprotocols=["bearer", tokens["access_token"]]) as ws:
        assert (await http.post("/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 200
        reuse = await http.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert reuse.json()["error"]["code"] == "token_reused"
        code, _ = await close_code(ws)
    assert code == 4401


@pytest.mark.postgres
async def test_logout_on_one_api_process_closes_the_socket_on_another(app, http, backend, sandbox):
    if backend.name != "postgres":
        pytest.skip("two API processes share Redis pub/sub; the SQLite shape is one process")
    env = {**backend.env, **sandbox_env(sandbox)}
    other_app = create_app(make_settings(Path(backend.env["DATA_DIR"]), **env), run_background=False)
    headers, _ = await sign_up(http, CREDENTIALS["email"])
    async with serve_asgi(other_app) as other_base, httpx.AsyncClient(base_url=other_base) as other_http:
        await other_app.state.ctx.revocations.relaying()
        token = headers["Authorization"].split(" ", 1)[1]
        async with connect(ws_url(other_http), subprotocols=["bearer", token]) as ws:
            # The socket is open (and watched) on the other process; log out through the first.
            assert (await http.post("/logout", headers=headers)).status_code == 204
            code, reason = await close_code(ws)
    assert code == 4401
    assert "revoked" in reason
