"""Webhook tests run the app under uvicorn in the test's event loop (the dispatcher, pub/sub and requests
share one loop) and talk to it over real HTTP; receivers are real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from app.domain.events.services import emit
from tests.live import serve_asgi

FAST_DELIVERY = {
    "WEBHOOK_RETRY_SCHEDULE_S": "0.05,0.1,0.1,0.1,0.1,0.1,0.1,0.1",
    "WEBHOOK_DISABLE_AFTER_FAILURES": "6",
    "WEBHOOK_DISABLE_AFTER_S": "0",  # on the count alone, unless a test sets a period
    "WEBHOOK_POLL_INTERVAL_S": "0.05",
    "WEBHOOK_CLAIM_TTL_S": "5",
    "WEBHOOK_DEFAULT_MAX_PER_SECOND": "200",
    "WEBHOOK_READ_TIMEOUT_S": "5",
}


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, str]:
    return {**FAST_DELIVERY, **getattr(request, "param", {})}


@pytest.fixture
async def http(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        yield client


async def sign_up(http: httpx.AsyncClient, email: str) -> tuple[dict[str, str], UUID]:
    """Register and log in; returns the auth header and the user id."""
    password = "correct horse"
    assert (await http.post("/auth/register", json={"email": email, "password": password})).status_code == 201
    tokens = (await http.post("/auth/login", json={"email": email, "password": password})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await http.get("/auth/me", headers=headers)).json()
    return headers, UUID(me["id"])


async def emit_events(app: Litestar, user_id: UUID, count: int, type: str = "message.received") -> list[str]:
    """Emit `count` events for the user in one committed transaction, as a domain service would."""
    ids = []
    async with app.state.ctx.sessionmaker.begin() as session:
        for n in range(count):
            envelope = await emit(session, user_id=user_id, type=type, data={"n": n}, profile="+15550001")
            ids.append(str(envelope.id))
    return ids


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification, written from the spec independently of the app's code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in headers["webhook-signature"].split(" ") if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


def body_json(body: bytes) -> dict[str, Any]:
    import json

    return dict(json.loads(body))
