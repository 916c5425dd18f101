"""The ways Telegram sends a login code, through POST /profiles/start and /profiles/code against the sandbox:
in the app (logged in elsewhere), by SMS (no other session), by email (signed in as email_verification), not
before a login email is set up, only after a payment; and an expired code. Real Telethon, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, register_and_login, sandbox_code, sandbox_phone

pytestmark = pytest.mark.asyncio


async def start(client, headers, phone):
    return await client.post("/profiles/start", json={"phone": phone}, headers=headers)


async def test_a_new_account_gets_an_sms_one_logged_in_elsewhere_the_app(client, sandbox) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    fresh = sandbox_phone()
    answer = await start(client, headers, fresh)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["code_type"], answer.json()["code_length"]) == ("sms", 5)

    known = sandbox_phone()
    user = sandbox.control.create_user(known.lstrip("+"), "Known")
    sandbox.control.login_session(user)  # a Telegram app of this account is logged in somewhere
    answer = await start(client, headers, known)
    assert answer.json()["code_type"] == "app"
    assert answer.json()["email_pattern"] is None
    bound = await client.post("/profiles/code", json={"phone": known, "code": sandbox_code(known)}, headers=headers)
    assert bound.status_code == 201, bound.text


async def test_an_emailed_code_binds_through_email_verification(client, sandbox) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone(2)
    sandbox.control.set_code_delivery(phone, "email")
    answer = await start(client, headers, phone)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["code_type"] == "email"
    assert body["code_length"] == 6
    assert body["email_pattern"].endswith("@sandbox.invalid")
    assert "*" in body["email_pattern"]
    code = sandbox.control.last_code(phone)
    assert len(code) == 6
    wrong = await client.post("/profiles/code", json={"phone": phone, "code": "000000"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "PHONE_CODE_INVALID"
    bound = await client.post("/profiles/code", json={"phone": phone, "code": code}, headers=headers)
    assert bound.status_code == 201, bound.text
    assert bound.json()["profile"]["status"] == "active"


async def test_a_number_that_must_set_up_a_login_email_first(client, sandbox) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    sandbox.control.set_code_delivery(phone, "setup_email")
    answer = await start(client, headers, phone)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "email_setup_required"
    assert "Telegram app" in error["message"]
    assert sandbox.control.last_code(phone) is None  # Telegram sent nothing
    after = await client.post("/profiles/code", json={"phone": phone, "code": "11111"}, headers=headers)
    assert after.status_code == 409
    assert after.json()["error"]["code"] == "no_login_in_progress"


async def test_a_number_that_must_pay_for_its_code_is_refused_with_402(client, sandbox) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone(3)
    sandbox.control.set_code_delivery(phone, "payment")
    answer = await start(client, headers, phone)
    assert answer.status_code == 402, answer.text
    error = answer.json()["error"]
    assert error["code"] == "login_payment_required"
    assert "4.99 USD" in error["message"]
    assert sandbox.control.last_code(phone) is None


async def test_an_expired_code_answers_410_phone_code_expired(client, sandbox) -> None:
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    assert (await start(client, headers, phone)).status_code == 200
    sandbox.control.expire_code(phone)
    late = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert late.status_code == 410, late.text
    assert late.json()["error"]["code"] == "PHONE_CODE_EXPIRED"
    again = await start(client, headers, phone)  # a new code, which works
    assert again.status_code == 200
    bound = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert bound.status_code == 201, bound.text
