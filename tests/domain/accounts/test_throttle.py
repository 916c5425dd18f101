"""Sign-in throttling under real concurrency, forwarded headers only from trusted proxies, no lockout of the
owner by a stranger, and bounded password hashing; on both backends (in-process counters and Redis)."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import register_and_login

pytestmark = pytest.mark.asyncio

OWNER = "ada@example.com"


async def sign_in(client, password: str, *, ip: str | None = None, email: str = OWNER):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return await client.post("/auth/login", json={"email": email, "password": password}, headers=headers)


@pytest.mark.parametrize("settings_overrides", [{"LOGIN_MAX_FAILURES_PER_IP": "1000"}], indirect=True)
async def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(client):
    await register_and_login(client, OWNER)
    responses = await asyncio.gather(*(sign_in(client, "wrong password") for _ in range(60)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 55
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)


async def test_spoofed_forwarded_headers_from_an_untrusted_peer_are_ignored(client):
    await register_and_login(client, OWNER)
    for n in range(5):
        assert (await sign_in(client, "wrong password", ip=f"198.51.100.{n}")).status_code == 401
    # A fresh X-Forwarded-For (or Forwarded) does not buy a fresh budget: the peer address is what counts.
    response = await client.post(
        "/auth/login",
        json={"email": OWNER, "password": "correct horse"},
        headers={"X-Forwarded-For": "198.51.100.99", "Forwarded": "for=198.51.100.98"},
    )
    assert response.status_code == 429


@pytest.mark.parametrize("settings_overrides", [{"FORWARDED_ALLOW_IPS": "127.0.0.1"}], indirect=True)
async def test_a_stranger_cannot_lock_the_owner_out(client):
    await register_and_login(client, OWNER)
    attacker = "198.51.100.7"
    for _ in range(5):
        assert (await sign_in(client, "guess", ip=attacker)).status_code == 401
    waits = []
    for _ in range(3):
        blocked = await sign_in(client, "guess", ip=attacker)
        assert blocked.status_code == 429
        waits.append(int(blocked.headers["retry-after"]))
    assert waits[0] < waits[1] < waits[2] <= 86400  # progressive backoff, capped
    # The attacker holds the right password now, but their address is still throttled...
    assert (await sign_in(client, "correct horse", ip=attacker)).status_code == 429
    # ...while the owner signs in from their own address, with the right password, at once.
    assert (await sign_in(client, "correct horse", ip="192.0.2.10")).status_code == 200
    # A trusted proxy's X-Forwarded-For names the client: a different client there has its own budget.
    assert (await sign_in(client, "guess", ip="192.0.2.11")).status_code == 401


@pytest.mark.parametrize(
    "settings_overrides", [{"LOGIN_THROTTLE_WINDOW_S": "1", "LOGIN_THROTTLE_MAX_S": "2"}], indirect=True
)
async def test_throttling_ends_after_retry_after(client):
    await register_and_login(client, OWNER)
    for _ in range(5):
        assert (await sign_in(client, "guess")).status_code == 401
    blocked = await sign_in(client, "guess")
    assert blocked.status_code == 429
    await asyncio.sleep(int(blocked.headers["retry-after"]) + 0.1)  # what the server announced
    assert (await sign_in(client, "correct horse")).status_code == 200


BOUNDED_HASHING = {
    "PASSWORD_HASH_CONCURRENCY": "1",
    "LOGIN_MAX_FAILURES_PER_IP": "1000",
    "ARGON2_TIME_COST": "3",
    "ARGON2_MEMORY_COST_KIB": "65536",
}


@pytest.mark.parametrize("settings_overrides", [BOUNDED_HASHING], indirect=True)
async def test_concurrent_password_hashing_is_bounded_and_overload_is_a_quick_503(client, app):
    responses = await asyncio.gather(
        *(sign_in(client, "whatever pass", email=f"nobody{n}@example.com") for n in range(40))
    )
    busy = [r for r in responses if r.status_code == 503]
    assert busy, [r.status_code for r in responses]
    assert {r.json()["error"]["code"] for r in busy} == {"auth_busy"}
    assert all(r.headers["retry-after"] == "1" for r in busy)
    assert {r.status_code for r in responses} == {401, 503}
    assert app.state.ctx.hasher.peak_running == 1
