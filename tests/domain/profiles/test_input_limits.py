"""Profiles input limits: login-code requests per number and per user, ASCII-only phone digits, the label limit
of the multipart import; on both backends against the sandbox."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import bearer, register_and_login, sandbox_phone

pytestmark = pytest.mark.asyncio

LIMITS = {"PROFILE_CODE_SENDS_PER_PHONE": "2", "PROFILE_CODE_SENDS_PER_USER": "4"}


async def start(client, headers, phone):
    return await client.post("/profiles/start", json={"phone": phone}, headers=headers)


@pytest.mark.parametrize("settings_overrides", [LIMITS], indirect=True)
async def test_code_requests_are_limited_per_number_across_users(client):
    ada = bearer(await register_and_login(client, "ada@example.com"))
    bob = bearer(await register_and_login(client, "bob@example.com"))
    phone = sandbox_phone()
    assert (await start(client, ada, phone)).status_code == 200
    assert (await start(client, ada, phone)).status_code == 200
    limited = await start(client, bob, phone)  # another tenant cannot keep the number's codes coming either
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "code_requests_limited"
    assert int(limited.headers["retry-after"]) > 0
    assert (await start(client, bob, sandbox_phone())).status_code == 200


@pytest.mark.parametrize("settings_overrides", [LIMITS], indirect=True)
async def test_code_requests_are_limited_per_user_also_in_parallel(client):
    ada = bearer(await register_and_login(client, "ada@example.com"))
    responses = await asyncio.gather(*(start(client, ada, sandbox_phone()) for _ in range(7)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 4 + [429] * 3, [r.text for r in responses]


async def test_phone_digits_must_be_ascii(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    for phone in ("+99966\u0661\u0661\u0667\u0667\u0667", "+\u0969\u0969\u0969\u0966\u0966\u0967\u0967\u0967"):
        response = await start(client, headers, phone)
        assert response.status_code == 422, phone
        assert response.json()["error"]["code"] == "PHONE_NUMBER_INVALID"


async def test_multipart_import_enforces_the_label_limit(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    response = await client.post(
        "/profiles/import",
        files={"file": ("account.session", b"SQLite format 3\x00")},
        data={"label": "x" * 1_500_000},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"] == [{"field": "label", "source": "body"}]
    at_limit = await client.post(
        "/profiles/import", files={"file": ("a.session", b"hello")}, data={"label": "x" * 100}, headers=headers
    )
    assert at_limit.json()["error"]["code"] == "invalid_session"  # the label passed, the file did not
