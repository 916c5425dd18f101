"""Shared steps of the messaging tests: a bound, connected profile and a sandbox contact who writes to it."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.sandbox import SandboxDC
from app.sandbox.state import User
from tests.conftest import bearer, register_and_login
from tests.domain.profiles.test_binding import bind

T = TypeVar("T")
_contacts = itertools.count(1)


@dataclass
class Setup:
    headers: dict[str, str]
    phone: str
    profile_id: uuid.UUID
    me: User
    contact: User


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll `probe` until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last: {value!r})")
        await asyncio.sleep(0.02)


def new_contact(sandbox: SandboxDC, name: str = "Bob") -> User:
    n = next(_contacts)
    return sandbox.control.create_user(phone=f"4470{n:07d}", first_name=name, username=f"{name.lower()}{n}x")


async def connected_profile(client: Any, app: Any, sandbox: SandboxDC, email: str = "ada@example.com") -> Setup:
    headers = bearer(await register_and_login(client, email))
    profile = await bind(client, headers)
    profile_id = uuid.UUID(profile["id"])
    connected = await app.state.ctx.telegram.runtime.wait_connected(profile_id, timeout=10)
    assert connected is not None
    me = sandbox.control.user(profile["phone"])
    return Setup(headers, profile["phone"], profile_id, me, new_contact(sandbox))


async def conversation_with(client: Any, headers: dict[str, str], peer_id: int) -> dict[str, Any] | None:
    body = (await client.get("/conversations", headers=headers)).json()
    for group in body["profiles"]:
        for conversation in group["conversations"]:
            if conversation["peer_id"] == peer_id:
                return dict(conversation)
    return None


async def stored_messages(client: Any, headers: dict[str, str], conversation_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await client.get(f"/conversations/{conversation_id}/messages", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return items
