"""Every auth path, on both backends."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.conftest import bearer, register_and_login

pytestmark = pytest.mark.asyncio


async def test_register_normalises_email_and_first_user_is_admin(client):
    first = await client.post("/auth/register", json={"email": "  Ada@Example.COM ", "password": "long enough"})
    assert first.status_code == 201
    assert first.json()["email"] == "ada@example.com"
    assert first.json()["role"] == "admin"
    second = await client.post("/auth/register", json={"email": "bob@example.com", "password": "long enough"})
    assert second.json()["role"] == "user"
    assert "password" not in second.text
    assert "hash" not in second.text


async def test_duplicate_email_conflicts(client):
    await client.post("/auth/register", json={"email": "ada@example.com", "password": "long enough"})
    again = await client.post("/auth/register", json={"email": "ADA@example.com", "password": "other pass"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "not-an-email", "password": "long enough"}, 422, "validation_error"),
        ({"email": "a@b.co", "password": "short"}, 422, "validation_error"),
        ({"email": "a@b.co", "password": "x" * 1025}, 422, "validation_error"),
        ({"email": "a@b.co"}, 422, "validation_error"),
        ({"email": 5, "password": "long enough"}, 422, "validation_error"),
        ({"email": "a@b.co", "password": "long enough", "admin": True}, 422, "validation_error"),
    ],
)
async def test_register_rejects_bad_input(client, body, status, code):
    response = await client.post("/auth/register", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_malformed_json_and_oversized_body(client):
    response = await client.post("/auth/register", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    huge = b'{"email": "a@b.co", "password": "' + b"x" * 3_000_000 + b'"}'
    response = await client.post("/auth/register", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_unknown_route_and_wrong_method(client):
    missing = await client.get("/definitely/not/here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.get("/auth/login")
    assert wrong.status_code == 405


async def test_login_me_refresh_logout_flow(client):
    tokens = await register_and_login(client, "ada@example.com")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await client.get("/auth/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"

    rotated = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/auth/me", headers=bearer(new))).status_code == 200

    logout = await client.post("/logout", headers=bearer(new))
    assert logout.status_code == 204
    after = await client.get("/auth/me", headers=bearer(new))
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_revoked"
    refresh_after = await client.post("/refresh", json={"refresh_token": new["refresh_token"]})
    assert refresh_after.status_code == 401


async def test_wrong_password_and_unknown_user_look_the_same(client):
    await register_and_login(client, "ada@example.com")
    wrong = await client.post("/auth/login", json={"email": "ada@example.com", "password": "wrong password"})
    unknown = await client.post("/auth/login", json={"email": "nobody@example.com", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]


async def test_reusing_a_rotated_refresh_token_revokes_the_family(client):
    tokens = await register_and_login(client, "ada@example.com")
    first = (await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    reuse = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "token_reused"
    # The legitimate successor is revoked too, and so is its access token.
    successor = await client.post("/refresh", json={"refresh_token": first["refresh_token"]})
    assert successor.status_code == 401
    assert (await client.get("/auth/me", headers=bearer(first))).status_code == 401
    # Another login of the same user is unaffected.
    other = (await client.post("/auth/login", json={"email": "ada@example.com", "password": "correct horse"})).json()
    assert (await client.get("/auth/me", headers=bearer(other))).status_code == 200


def _forge(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


async def test_tampered_none_alg_wrong_type_and_expired_tokens_are_rejected(client, app):
    tokens = await register_and_login(client, "ada@example.com")
    tampered = _forge(tokens["access_token"], role="admin", sub="00000000-0000-0000-0000-000000000000")
    none_alg = jwt.encode(
        jwt.decode(tokens["access_token"], options={"verify_signature": False}), None, algorithm="none"
    )
    settings = app.state.ctx.settings
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 60, "iat": int(time.time()) - 120},
        settings.jwt_secret,
        algorithm="HS256",
    )
    wrong_audience = jwt.encode({**claims, "aud": "someone-else"}, settings.jwt_secret, algorithm="HS256")
    for token, code in [
        (tampered, "invalid_token"),
        (none_alg, "invalid_token"),
        (tokens["refresh_token"], "invalid_token"),  # a refresh token is not an access token
        (expired, "invalid_token"),
        (wrong_audience, "invalid_token"),
        ("garbage", "invalid_token"),
    ]:
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == code
    expired_message = (await client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})).json()
    assert "expired" in expired_message["error"]["message"]
    # An access token is not a refresh token either.
    response = await client.post("/refresh", json={"refresh_token": tokens["access_token"]})
    assert response.status_code == 401
    missing = await client.get("/auth/me")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_token"


@pytest.fixture
def settings_overrides():
    return {"LOGIN_MAX_FAILURES_PER_ACCOUNT": "3", "LOGIN_MAX_FAILURES_PER_IP": "6"}


async def test_login_is_throttled_per_account_then_per_ip(client):
    await register_and_login(client, "ada@example.com")  # a success takes its own attempt back
    for _ in range(3):
        response = await client.post("/auth/login", json={"email": "ada@example.com", "password": "nope nope"})
        assert response.status_code == 401
    throttled = await client.post("/auth/login", json={"email": "ada@example.com", "password": "correct horse"})
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert throttled.json()["error"]["code"] == "login_throttled"
    # Other accounts from the same IP still work until the IP budget (6, the throttled try included) is spent.
    for index in range(2):
        email = f"user{index}@example.com"
        response = await client.post("/auth/login", json={"email": email, "password": "nope nope"})
        assert response.status_code == 401
    ip_throttled = await client.post("/auth/login", json={"email": "fresh@example.com", "password": "x" * 8})
    assert ip_throttled.status_code == 429


async def test_request_id_header_is_returned(client):
    response = await client.get("/health", headers={"X-Request-ID": "abcdef123456"})
    assert response.headers["x-request-id"] == "abcdef123456"
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
