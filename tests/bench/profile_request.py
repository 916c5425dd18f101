"""Where an authenticated `GET /auth/me` spends its time, in microseconds per request (not run by `make bench`).

`.venv/bin/python -m tests.bench.profile_request` builds the app on the embedded defaults (SQLite, in-process
stores, LOG_SHIPPING=off, request lines printed to /dev/null) and calls it as an ASGI application, one request
at a time, so no load generator or socket is measured. It times the whole request, then each part on its own
with the same objects the request uses: the token check, the denylist lookups, the kept user, the response's
serialisation and the request log line. What remains is the framework (routing, dependency injection,
middleware layers). It also times what a repeated call skips: the token's first verification and the user's
database read with its session and commit. `--cprofile` prints cProfile's view of the same requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import msgspec

from app.config import Settings, load_settings
from app.db.migrations import upgrade
from app.domain.accounts import services
from app.domain.accounts.current_user import authenticate_token
from app.domain.accounts.schemas import Registration
from app.domain.accounts.shown_users import user_out
from app.domain.accounts.tokens import is_revoked
from app.lib.logging import log_request
from app.server.app import create_app

REQUESTS = 3000


async def _call(app: Any, path: str, token: str) -> int:
    """One GET through the whole ASGI stack; answers the status."""
    status = 0
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode()), (b"user-agent", b"wrk")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _per_call_us(work: Callable[[], Awaitable[Any]], n: int = REQUESTS) -> float:
    for _ in range(min(200, n)):
        await work()
    started = time.perf_counter()
    for _ in range(n):
        await work()
    return (time.perf_counter() - started) / n * 1e6


def prepared_settings() -> Settings:
    os.environ.update({"DATA_DIR": tempfile.mkdtemp(prefix="profile-request-"), "LOG_SHIPPING": "off"})
    settings = load_settings(dotenv=None)
    upgrade(settings)
    return settings


async def main(settings: Settings, devnull: TextIO, cprofile: bool) -> None:
    app = create_app(settings, run_background=False)
    ctx = app.state.ctx
    async with app.lifespan():
        async with ctx.sessionmaker.begin() as session:
            user = await services.register(
                session,
                ctx.hasher,
                ctx.token_policy,
                Registration("bench@example.com", "correct horse battery"),
                registration_policy="open",
            )
            tokens = await services.issue_tokens(session, ctx.token_policy, user)
        token = tokens.access_token
        claims = ctx.codec.decode(token, expected_type="access")
        assert await _call(app, "/auth/me", token) == 200

        async def database() -> None:  # what the handler and the framework's autocommit do with the session
            async with ctx.sessionmaker() as session:
                found = await services.get_user(session, user.id)
                assert found is not None
                await session.commit()

        async def token_check() -> None:
            ctx.codec.decode(token, expected_type="access")

        async def token_verification() -> None:
            ctx.codec._verify(token, "access")

        async def shown_user() -> None:
            await ctx.shown_users.get(user.id)

        async def store_lookups() -> None:
            await is_revoked(claims, ctx.denylist)

        async def middleware_auth() -> None:
            await authenticate_token(token, ctx.codec, ctx.denylist)

        encoder = msgspec.json.Encoder()
        shown = user_out(user)

        async def serialisation() -> None:
            encoder.encode(shown)

        async def request_line() -> None:
            log_request("GET", "/auth/me", "/auth/me", 200, 1.234, ip="127.0.0.1", user_agent="wrk", user_id=user.id)

        with contextlib.redirect_stdout(devnull):
            whole = await _per_call_us(lambda: _call(app, "/auth/me", token))
            unauthenticated = await _per_call_us(lambda: _call(app, "/no-such-route", ""))
            parts = {
                "token check (a remembered token)": await _per_call_us(token_check),
                "store lookups (two denylist keys)": await _per_call_us(store_lookups),
                "user as shown (kept USER_CACHE_TTL_S)": await _per_call_us(shown_user),
                "serialisation (msgspec, UserOut)": await _per_call_us(serialisation),
                "request log line (JSON to stdout)": await _per_call_us(request_line),
            }
            auth_total = await _per_call_us(middleware_auth)
            off_path = {
                "token's first verification (PyJWT)": await _per_call_us(token_verification),
                "user read (session, SELECT, COMMIT)": await _per_call_us(database, 1000),
            }
            if cprofile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(1000):
                    await _call(app, "/auth/me", token)
                profiler.disable()
    print(f"one request at a time, {REQUESTS} requests, SQLite, in-process stores, request lines to /dev/null")
    print(f"{'whole GET /auth/me':<44} {whole:8.1f} us  100%")
    for label, micros in parts.items():
        print(f"{label:<44} {micros:8.1f} us  {micros / whole:4.0%}")
    rest = whole - sum(parts.values())
    print(f"{'framework (routing, DI, middleware layers)':<44} {rest:8.1f} us  {rest / whole:4.0%}")
    print(f"(token check + store lookups as the auth middleware runs them: {auth_total:.1f} us)")
    print(f"{'unauthenticated 404, for comparison':<44} {unauthenticated:8.1f} us")
    print("off the path of a repeated call (once per token, once per USER_CACHE_TTL_S per user):")
    for label, micros in off_path.items():
        print(f"{label:<44} {micros:8.1f} us")
    if cprofile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    with open(os.devnull, "w") as sink:
        asyncio.run(main(prepared_settings(), sink, "--cprofile" in sys.argv))
