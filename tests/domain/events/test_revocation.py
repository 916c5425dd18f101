"""`WS /events` sockets close with 4401 as soon as their login is revoked (logout, refresh-token reuse), also
when the socket is served by another API process (real `python -m app api` processes, Redis pub/sub); other
logins' sockets keep streaming."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.asyncio.client import connect

from app.db.migrations import upgrade
from tests.backends import empty_shared_backends
from tests.conftest import make_settings
from tests.domain.events.test_stream import close_code, next_event, ws_url
from tests.domain.webhooks.conftest import emit_events, sign_up
from tests.live import AppProcess, process_env

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


@pytest.fixture
def shared_env(postgres_url, redis_url, tmp_path):
    upgrade(make_settings(tmp_path / "migrate", DATABASE_URL=postgres_url))
    yield process_env(postgres_url, redis_url)
    asyncio.run(empty_shared_backends(postgres_url, redis_url))


@pytest.mark.postgres
async def test_logout_on_one_api_process_closes_the_socket_on_another(shared_env, tmp_path):
    env = shared_env
    first, second = AppProcess(env, tmp_path, "a", role="api"), AppProcess(env, tmp_path, "b", role="api")
    try:
        await asyncio.gather(first.ready(), second.ready())
        async with httpx.AsyncClient(base_url=first.base, timeout=20) as api:
            assert (await api.post("/auth/register", json=CREDENTIALS)).status_code == 201
            token = (await api.post("/auth/login", json=CREDENTIALS)).json()["access_token"]
            ws_url_b = second.base.replace("http://", "ws://") + "/events"
            async with connect(ws_url_b, subprotocols=["bearer", token]) as ws:
                # Open (and watched) on process B; the logout goes to process A.
                response = await api.post("/logout", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 204
                code, reason = await close_code(ws)
        assert code == 4401
        assert "revoked" in reason
    finally:
        for process in (first, second):
            process.stop()
