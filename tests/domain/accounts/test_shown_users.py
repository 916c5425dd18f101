"""GET /auth/me answers from the user kept for USER_CACHE_TTL_S; tokens and revocations are checked every time."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.server.app import create_app
from tests.conftest import bearer, register_and_login, running

pytestmark = pytest.mark.asyncio
KEPT = pytest.mark.parametrize("settings_overrides", [{"USER_CACHE_TTL_S": "3600"}], indirect=True)


@KEPT
async def test_repeated_calls_read_the_user_once(client, app):
    tokens = await register_and_login(client, "ada@example.com")
    shown = app.state.ctx.shown_users
    answers = await asyncio.gather(*(client.get("/auth/me", headers=bearer(tokens)) for _ in range(10)))
    answers += [await client.get("/auth/me", headers=bearer(tokens)) for _ in range(10)]
    assert {r.status_code for r in answers} == {200}
    assert {r.json()["email"] for r in answers} == {"ada@example.com"}
    assert shown.reads <= 10  # the concurrent first ones may each miss; every later one is kept
    before = shown.reads
    assert (await client.get("/auth/me", headers=bearer(tokens))).status_code == 200
    assert shown.reads == before


@KEPT
async def test_a_logged_out_token_is_refused_at_once_though_its_user_is_kept(client, app):
    tokens = await register_and_login(client, "ada@example.com")
    assert (await client.get("/auth/me", headers=bearer(tokens))).status_code == 200
    assert (await client.post("/auth/logout", headers=bearer(tokens))).status_code == 204
    refused = await client.get("/auth/me", headers=bearer(tokens))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"


@KEPT
async def test_a_new_sign_in_shows_its_time_at_once(client):
    tokens = await register_and_login(client, "ada@example.com")
    first = (await client.get("/auth/me", headers=bearer(tokens))).json()
    again = (await client.post("/auth/login", json={"email": "ada@example.com", "password": "correct horse"})).json()
    second = (await client.get("/auth/me", headers=bearer(again))).json()
    assert second["last_login_at"] > first["last_login_at"]
    assert (await client.get("/auth/me", headers=bearer(tokens))).json() == second


@KEPT
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # processes share revocations through Redis
async def test_a_logout_in_another_process_is_refused_at_once(client, app, backend):
    """Two API processes sharing Redis: the one that kept the user still refuses the revoked token."""
    tokens = await register_and_login(client, "ada@example.com")
    assert (await client.get("/auth/me", headers=bearer(tokens))).status_code == 200
    other = create_app(app.state.ctx.settings, run_background=False)
    transport = httpx.ASGITransport(app=other, client=("127.0.0.1", 50001))
    async with running(other), httpx.AsyncClient(transport=transport, base_url="http://other") as elsewhere:
        assert (await elsewhere.post("/auth/logout", headers=bearer(tokens))).status_code == 204
    refused = await client.get("/auth/me", headers=bearer(tokens))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
