"""The README's offline 2FA path: the demo sandbox's +9996629999 binds with code 22222 and password sandbox-2fa,
through the HTTP API, the real Telethon client, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.sandbox import SandboxDC
from app.sandbox.demo import DEMO_2FA_HINT, DEMO_2FA_PASSWORD, DEMO_2FA_PHONE
from tests.conftest import bearer, register_and_login

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def demo() -> AsyncIterator[SandboxDC]:
    dc = SandboxDC(seed_demo=True)
    await dc.start()
    try:
        yield dc
    finally:
        await dc.stop()


@pytest.fixture
def settings_overrides(demo: SandboxDC) -> dict[str, str]:
    return {"TELEGRAM_DC": f"127.0.0.1:{demo.port}:{demo.dc_id}"}


async def test_the_demo_2fa_number_binds_with_its_password(client, demo) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = f"+{DEMO_2FA_PHONE}"
    started = await client.post("/profiles/start", json={"phone": phone}, headers=headers)
    assert started.status_code == 200, started.text
    step = await client.post("/profiles/code", json={"phone": phone, "code": "22222"}, headers=headers)
    assert (step.json()["status"], step.json()["hint"]) == ("password_needed", DEMO_2FA_HINT)
    wrong = await client.post("/profiles/password", json={"phone": phone, "password": "guess"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "PASSWORD_HASH_INVALID"
    bound = await client.post(
        "/profiles/password", json={"phone": phone, "password": DEMO_2FA_PASSWORD}, headers=headers
    )
    assert bound.status_code == 201, bound.text
    assert bound.json()["profile"]["telegram"]["id"] == demo.state.user_by_phone(DEMO_2FA_PHONE).id
