"""Issue 25 benchmark: the service's HTTP endpoints under `wrk`, beside a bare Litestar handler in the same run.

The service is a real `python -m app serve` process on the embedded defaults (SQLite, in-process stores, the
sandbox) with LOG_SHIPPING=off and request logging on (its lines go to /dev/null, so printing them is still
paid). The bare handler (tests/bench/bare_app.py) runs under uvicorn on the same machine; it is measured first
and last and each endpoint's ratio is to the mean of both, which evens out drift on a shared machine.
Targets: authenticated GET /auth/me >= 0.5 of the bare handler, GET /conversations (50 stored) >= 0.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx

from app.config import load_settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Chat, Message
from tests.bench.load import free_port, serve
from tests.bench.wrk import CONNECTIONS, THREADS, WrkResult, run_wrk, wrk_missing_reason

SECONDS = 5.0
CONVERSATIONS = 50
MESSAGES_PER_CONVERSATION = 3
TARGETS = {"GET /auth/me": 0.5, "GET /conversations (50)": 0.2}


@contextlib.contextmanager
def app_process(env: dict[str, str]) -> Iterator[str]:
    """`python -m app serve` on a free port; yields its base URL once it answers."""
    port = free_port()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,  # the request log lines: written (their cost is measured), not shown
            stderr=errors,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    raise RuntimeError(f"`python -m app serve` did not start: {errors.read().decode()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


async def seed_conversations(owner_id: UUID) -> None:
    """Stored conversations of the benchmark user, each with a few messages (relative to now)."""
    engine = create_engine(load_settings(dotenv=None))
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine).begin() as session:
            for index in range(CONVERSATIONS):
                last = now - timedelta(minutes=index)
                chat = Chat(
                    owner_id=owner_id,
                    profile_phone="+9996610000",
                    peer_id=1_000_000 + index,
                    title=f"Peer {index}",
                    unread_count=index % 4,
                    last_message_at=last,
                )
                session.add(chat)
                await session.flush()
                for number in range(MESSAGES_PER_CONVERSATION):
                    session.add(
                        Message(
                            chat_id=chat.id,
                            telegram_message_id=number + 1,
                            direction="in" if number % 2 == 0 else "out",
                            sender_id=1_000_000 + index,
                            text=f"message {number} in conversation {index}",
                            date=last - timedelta(seconds=MESSAGES_PER_CONVERSATION - number),
                        )
                    )
    finally:
        await engine.dispose()


def sign_in(base: str) -> tuple[str, UUID]:
    credentials = {"email": "bench@example.com", "password": "correct horse battery"}
    with httpx.Client(base_url=base, timeout=60) as http:
        http.post("/auth/register", json=credentials).raise_for_status()
        response = http.post("/auth/login", json=credentials)
        response.raise_for_status()
        token = response.json()["access_token"]
        me = http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        return token, UUID(me.json()["id"])


def main() -> int:
    if reason := wrk_missing_reason():
        print(f"skipped: {reason}")
        return 0
    data_dir = tempfile.mkdtemp(prefix="bench-http-")
    env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": "off", "APP_ENV": "development"}
    for name in ("DATABASE_URL", "REDIS_URL", "CLICKHOUSE_DSN", "LOG_FORMAT"):
        env.pop(name, None)  # the embedded defaults
    os.environ.update(env)  # seed_conversations reads the same settings as the service
    before: WrkResult
    results: list[tuple[str, WrkResult]] = []
    with serve("tests.bench.bare_app:app", {}) as bare:
        before = run_wrk(f"{bare}/auth/me", seconds=SECONDS)
        with app_process(env) as base:
            token, user_id = sign_in(base)
            asyncio.run(seed_conversations(user_id))
            auth = {"Authorization": f"Bearer {token}"}
            for label, path, headers in (
                ("GET /auth/me", "/auth/me", auth),
                ("GET /conversations (50)", "/conversations", auth),
                ("GET /health", "/health", {}),
                ("GET /metrics", "/metrics", {}),
                ("unauthenticated 404", "/no-such-route", {}),
            ):
                run_wrk(f"{base}{path}", seconds=1, headers=headers)  # warm-up: caches, pools, code paths
                results.append((label, run_wrk(f"{base}{path}", seconds=SECONDS, headers=headers)))
        after = run_wrk(f"{bare}/auth/me", seconds=SECONDS)
    baseline = WrkResult(
        (before.rps + after.rps) / 2,
        (before.p50_ms + after.p50_ms) / 2,
        (before.p99_ms + after.p99_ms) / 2,
        before.requests + after.requests,
        before.unexpected + after.unexpected,
    )
    print(
        f"wrk {THREADS} threads, {CONNECTIONS} connections, {SECONDS:.0f} s per endpoint; `python -m app serve` "
        "on the embedded defaults (SQLite, in-process stores), LOG_SHIPPING=off, request logging on"
    )
    print(before.line("bare Litestar handler (before)"))
    print(after.line("bare Litestar handler (after)"))
    print(baseline.line("bare Litestar handler (mean = 1.0)"))
    for label, result in results:
        target = TARGETS.get(label)
        verdict = ""
        if target is not None:
            met = result.rps / baseline.rps >= target
            verdict = f"   target >= {target:.2f} {'met' if met else 'MISSED'}"
        print(result.line(label, baseline) + verdict)
    print("the unauthenticated 404 answers 404 by design: its non-2xx count is every request")
    print(f"data: {Path(data_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
