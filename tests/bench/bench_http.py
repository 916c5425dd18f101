"""Issue 25 benchmark: the service's HTTP endpoints under `wrk`, beside a bare Litestar handler in the same run.

The service is a real `python -m app serve` process on the embedded defaults (SQLite, in-process stores, the
sandbox) with LOG_SHIPPING=off and request logging on (its lines go to /dev/null, so printing them is still
paid); a second one with CONVERSATIONS_CACHE_S=0 (its own data) gives the uncached listing. The bare handler
(tests/bench/bare_app.py) runs under uvicorn on the same machine. Three rounds: each measures the bare handler,
every endpoint, the bare handler again, and its ratios are to the mean of both bare figures; printed are the
median round's figures and the median ratio, which evens out drift on a shared machine.
Targets: authenticated GET /auth/me >= 0.5 of the bare handler, GET /conversations (50 stored) >= 0.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
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
ROUNDS = 3
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


async def seed_conversations(owner_id: UUID, env: dict[str, str]) -> None:
    """Stored conversations of the benchmark user, each with a few messages (relative to now)."""
    engine = create_engine(load_settings(env, dotenv=None))
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


ENDPOINTS = (
    ("GET /auth/me", "/auth/me", True),
    ("GET /conversations (50)", "/conversations", True),
    ("GET /health", "/health", False),
    ("GET /metrics", "/metrics", False),
    ("unauthenticated 404", "/no-such-route", False),
)
UNCACHED = "GET /conversations (50), cache off"


def median_result(results: list[WrkResult]) -> WrkResult:
    """The round with the median rate (its own latencies), and the errors of all rounds."""
    ordered = sorted(results, key=lambda r: r.rps)
    middle = ordered[len(ordered) // 2]
    return WrkResult(middle.rps, middle.p50_ms, middle.p99_ms, middle.requests, sum(r.unexpected for r in results))


def main() -> int:
    if reason := wrk_missing_reason():
        print(f"skipped: {reason}")
        return 0
    data_dir = tempfile.mkdtemp(prefix="bench-http-")
    env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": "off", "APP_ENV": "development"}
    for name in ("DATABASE_URL", "REDIS_URL", "CLICKHOUSE_DSN", "LOG_FORMAT", "CONVERSATIONS_CACHE_S"):
        env.pop(name, None)  # the embedded defaults
    # A second service, its own data and the conversations cache off: the uncached listing.
    uncached_env = {**env, "DATA_DIR": tempfile.mkdtemp(prefix="bench-http-uncached-"), "CONVERSATIONS_CACHE_S": "0"}
    ratios: dict[str, list[float]] = {label: [] for label, _, _ in ENDPOINTS}
    ratios[UNCACHED] = []
    figures: dict[str, list[WrkResult]] = {label: [] for label in ratios}
    bare_rates: list[float] = []
    with (
        serve("tests.bench.bare_app:app", {}) as bare,
        app_process(env) as base,
        app_process(uncached_env) as uncached_base,
    ):
        token, user_id = sign_in(base)
        asyncio.run(seed_conversations(user_id, env))
        auth = {"Authorization": f"Bearer {token}"}
        uncached_token, uncached_user_id = sign_in(uncached_base)
        asyncio.run(seed_conversations(uncached_user_id, uncached_env))
        uncached_auth = {"Authorization": f"Bearer {uncached_token}"}
        for _ in range(ROUNDS):
            before = run_wrk(f"{bare}/auth/me", seconds=SECONDS)
            round_results: list[tuple[str, WrkResult]] = []
            targets = [(label, f"{base}{path}", auth if signed else {}) for label, path, signed in ENDPOINTS]
            targets.append((UNCACHED, f"{uncached_base}/conversations", uncached_auth))
            for label, url, headers in targets:
                run_wrk(url, seconds=1, headers=headers)  # warm-up: caches, pools, code paths
                round_results.append((label, run_wrk(url, seconds=SECONDS, headers=headers)))
            after = run_wrk(f"{bare}/auth/me", seconds=SECONDS)
            baseline = (before.rps + after.rps) / 2
            bare_rates.append(baseline)
            for label, result in round_results:
                figures[label].append(result)
                ratios[label].append(result.rps / baseline)
    print(
        f"wrk {THREADS} threads, {CONNECTIONS} connections, {SECONDS:.0f} s per endpoint, {ROUNDS} rounds; "
        "`python -m app serve` on the embedded defaults (SQLite, in-process stores), LOG_SHIPPING=off, "
        "request logging on; each round's ratio is to the bare handler measured right before and after it"
    )
    print(f"{'bare Litestar handler (per round)':<40} " + ", ".join(f"{rate:.0f}" for rate in bare_rates) + " req/s")
    for label, rounds in ratios.items():
        result = median_result(figures[label])
        ratio = statistics.median(rounds)
        target = TARGETS.get(label)
        verdict = f"   target >= {target:.2f} {'met' if ratio >= target else 'MISSED'}" if target is not None else ""
        print(
            f"{result.line(label)}   median ratio {ratio:5.3f} (rounds "
            + ", ".join(f"{r:.3f}" for r in rounds)
            + ")"
            + verdict
        )
    print("the unauthenticated 404 answers 404 by design: its non-2xx count is every request")
    print(f"data: {Path(data_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
