"""Key scopes are checked on every route: a walk over the OpenAPI document finds each operation either opened
by a scope (and refused, 403 naming it, to a key without that scope) or closed to every key."""

from __future__ import annotations

import uuid

import pytest

from app.domain.apikeys.scopes import ANY_KEY, ROUTE_SCOPES
from tests.conftest import bearer, register_and_login

pytestmark = pytest.mark.asyncio

CLOSED_TO_KEYS = {
    ("POST", "/auth/logout"),
    ("POST", "/logout"),
    ("GET", "/invitations"),
    ("POST", "/invitations"),
    ("DELETE", "/invitations/{invitation_id}"),
    ("POST", "/profiles/start"),
    ("POST", "/profiles/code"),
    ("POST", "/profiles/password"),
    ("POST", "/profiles/import"),
    ("PATCH", "/profiles/{phone}"),
    ("DELETE", "/profiles/{phone}"),
    ("GET", "/api-keys"),
    ("POST", "/api-keys"),
    ("GET", "/api-keys/{key_id}"),
    ("DELETE", "/api-keys/{key_id}"),
    ("GET", "/admin/proxy-pool"),  # administrators only, and keys never act as one
}
PUBLIC = {"/auth/register", "/auth/login", "/refresh", "/auth/refresh", "/health", "/metrics", "/"}


def concrete(path: str) -> str:
    """The path with its parameters filled in: a phone, a Telegram peer id, or a fresh id."""
    filled = {"{phone}": "+15550001111", "{peer_id}": "1000001"}
    return "/".join(filled.get(part, str(uuid.uuid4()) if part.startswith("{") else part) for part in path.split("/"))


async def test_every_route_is_scoped_or_closed_to_keys(client):
    document = (await client.get("/schema/openapi.json")).json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"} and path not in PUBLIC
    }
    mcp = {route for route in ROUTE_SCOPES if route[1] == "/mcp"}
    assert operations - CLOSED_TO_KEYS == set(ROUTE_SCOPES) - mcp
    assert not CLOSED_TO_KEYS & set(ROUTE_SCOPES)

    headers = bearer(await register_and_login(client, "ada@example.com"))
    secrets = {}
    for scope in ("logs:read", "profiles:read"):
        created = await client.post("/api-keys", json={"name": scope, "scopes": [scope]}, headers=headers)
        secrets[scope] = {"Authorization": f"Bearer {created.json()['secret']}"}
    for method, path in sorted(operations):
        needed = ROUTE_SCOPES.get((method, path))
        if needed == ANY_KEY:
            continue
        key = secrets["profiles:read" if needed == "logs:read" else "logs:read"]
        response = await client.request(method, concrete(path), headers=key, json={} if method != "GET" else None)
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["error"]
        if needed is None:
            assert error["code"] == "api_key_route_forbidden", (method, path)
        else:
            assert error["code"] == "missing_scope", (method, path)
            assert error["details"] == {"scope": needed}
