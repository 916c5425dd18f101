"""Baseline for bench_auth: a bare Litestar handler with no auth, database or logging."""

from __future__ import annotations

from litestar import Litestar, get


@get("/auth/me")
async def me() -> dict[str, str]:
    return {"id": "00000000-0000-0000-0000-000000000000", "email": "ada@example.com", "role": "admin"}


app = Litestar(route_handlers=[me], openapi_config=None)
