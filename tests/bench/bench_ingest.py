"""Issue 5 benchmark: live ingest throughput and receipt-to-commit latency, against bare Telethon receipt.

Sandbox contacts write to 10 profiles as fast as they can (sender clients in a child process, the sandbox in
another). In the same run, with the same workload:
- baseline: 10 bare Telethon clients (one per profile) only count the messages they receive;
- service: the ProfileRuntime with the MessageIngest writer stores every message (chat upsert, message row,
  outbox event, update-state checkpoints) in SQLite, then in PostgreSQL.
Throughput is messages per second from the first receipt to the last receipt (baseline) or commit (service);
latency is from the moment the Telethon handler saw a message to the commit of its batch. Target: ingest
throughput at least 80% of the bare receive rate.

`.venv/bin/python -m tests.bench.bench_ingest`
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from telethon import events, functions, types, utils

from app.config import load_settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrations import upgrade
from app.db.models import TelegramProfile, User
from app.domain.messages.ingest import MessageIngest
from app.lib.heap import freeze_startup_heap
from app.server.rooms import connect_rooms
from app.telegram.connector import DataCenter, TelegramConnector
from app.telegram.leases import MemoryLeaseStore
from app.telegram.runtime import ProfileCredentials, ProfileRuntime
from app.telegram.updates import NewMessage, UpdateRecord
from tests.backends import postgres_server
from tests.bench.bench_profiles import InMemorySource
from tests.bench.sandbox_process import (
    SandboxProcess,
    bare_receipts,
    login_sandbox_accounts,
    run_traffic,
    sandbox_process,
)

PROFILES = 10
SENDERS = 20
PER_SENDER = 150  # 3000 messages per phase
TOTAL = SENDERS * PER_SENDER
ROUNDS = 3


# -- the writers (child process) ---------------------------------------------------------------------------------


async def send_all(spec: dict[str, Any]) -> None:
    connector = _connector(spec)
    clients = [connector.client(session, receive_updates=False) for _, session in spec["senders"]]
    await asyncio.gather(*(c.connect() for c in clients))
    phones = spec["targets"]

    async def write(index: int, client: Any) -> None:
        # Access hashes are per account: each sender learns its own by importing the targets as contacts.
        contacts = [types.InputPhoneContact(n, phone, "Target", "") for n, phone in enumerate(phones)]
        imported = await client(functions.contacts.ImportContactsRequest(contacts))
        targets = [utils.get_input_peer(user) for user in imported.users]
        for n in range(spec["per_sender"]):
            target = targets[(index + n) % len(targets)]
            await client.send_message(target, f"bench {index}:{n}")

    print("SENDING", flush=True)
    await asyncio.gather(*(write(i, c) for i, c in enumerate(clients)))
    await asyncio.gather(*(c.disconnect() for c in clients))


def write_sender_spec(
    folder: Path, sandbox: SandboxProcess, senders: list[tuple[str, str]], targets: list[str], per_sender: int
) -> Path:
    """What `send_all` (`python -m tests.bench.bench_ingest send <spec>`) reads: whom to log in as, whom to write."""
    path = folder / "senders.json"
    spec = {
        "host": sandbox.data_center.host,
        "port": sandbox.data_center.port,
        "pem": sandbox.public_key_pem,
        "senders": senders,
        "targets": targets,
        "per_sender": per_sender,
    }
    path.write_text(json.dumps(spec))
    return path


def _connector(spec: dict[str, Any]) -> TelegramConnector:
    connector = TelegramConnector(
        1, "sandbox0000000000000000000000000", data_center=DataCenter(spec["host"], spec["port"])
    )
    connector.trust_key(spec["pem"])
    return connector


# -- baseline ------------------------------------------------------------------------------------------------


async def baseline(connector: TelegramConnector, profiles: list[tuple[str, str]], spec_path: Path) -> dict[str, float]:
    clients = [connector.client(session, catch_up=False) for _, session in profiles]
    await asyncio.gather(*(c.connect() for c in clients))
    await asyncio.gather(*(c.get_me() for c in clients))
    traffic = run_traffic("tests.bench.bench_ingest", "send", spec_path)
    return await bare_receipts(clients, events.NewMessage(incoming=True), TOTAL, traffic, 120)


# -- the service ---------------------------------------------------------------------------------------------


async def service(
    name: str, database_url: str | None, connector: TelegramConnector, profiles: list[tuple[str, str]], spec_path: Path
) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{name}-"))
    env = {"APP_ENV": "test", "DATA_DIR": str(data_dir), "LOG_SHIPPING": "off"}
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = load_settings(env, dotenv=None)
    await asyncio.to_thread(upgrade, settings)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    credentials = {}
    async with sessionmaker.begin() as session:
        owner = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(owner)
        await session.flush()
        for phone, string in profiles:
            row = TelegramProfile(
                owner_id=owner.id, phone=phone, api_id=1, api_hash_encrypted="x", session_encrypted="x"
            )
            session.add(row)
            await session.flush()
            credentials[row.id] = ProfileCredentials(row.id, owner.id, phone, string, 1, connector.default_api_hash)
    runtime = ProfileRuntime(connector=connector, source=InMemorySource(credentials), leases=MemoryLeaseStore())
    ingest = MessageIngest(
        sessionmaker,
        runtime,
        queue_size=settings.ingest_queue_size,
        batch_size=settings.ingest_batch_size,
        checkpoint_interval_s=settings.ingest_checkpoint_interval_s,
    )
    receipts: list[float] = []
    commits: list[float] = []
    latencies: list[float] = []
    done = asyncio.Event()

    def on_commit(records: list[UpdateRecord], at: float) -> None:
        for record in records:
            if isinstance(record, NewMessage):
                receipts.append(record.received_at)
                commits.append(at)
                latencies.append(at - record.received_at)
        if len(commits) >= TOTAL:
            done.set()

    ingest.listeners.append(on_commit)
    await ingest.start()
    await runtime.start()
    await asyncio.gather(*(runtime.wait_connected(pid, 60) for pid in credentials))
    await asyncio.sleep(0.5)  # first checkpoints
    cpu = time.process_time()
    await run_traffic("tests.bench.bench_ingest", "send", spec_path)
    await asyncio.wait_for(done.wait(), 300)
    cpu = time.process_time() - cpu
    await runtime.stop()
    await ingest.stop()
    await engine.dispose()
    latencies.sort()
    return {
        "rate": len(commits) / (max(commits) - min(receipts)),
        "count": len(commits),
        "cpu_ms": cpu * 1000 / len(commits),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def fresh_database(url: str, name: str) -> str:
    """A new empty database on the same PostgreSQL server (each round starts from nothing, as SQLite does)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f"CREATE DATABASE {name}"))
    await engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def main() -> None:
    connect_rooms()  # as create_app does: the ingest's message events ask channels for their context
    freeze_startup_heap()  # as `python -m app serve|worker` do once their modules are imported
    logging.getLogger("telethon").setLevel(logging.ERROR)
    logging.getLogger("app").setLevel(logging.ERROR)
    with sandbox_process() as sandbox, postgres_server() as postgres_url:
        connector = sandbox.connector()
        profiles = await login_sandbox_accounts(connector, PROFILES, digit=1)
        senders = await login_sandbox_accounts(connector, SENDERS, digit=2)
        targets = [phone for phone, _ in profiles]
        spec_path = write_sender_spec(Path(tempfile.mkdtemp()), sandbox, senders, targets, PER_SENDER)
        print(f"{SENDERS} sandbox contacts write {TOTAL} messages to {PROFILES} profiles as fast as they can")
        print("sandbox: separate process; senders: separate process; measured: this process")
        print(f"{ROUNDS} rounds per backend, each a bare phase right before a service phase (load drifts)")
        for name, url in (("sqlite", None), ("postgresql", postgres_url)):
            ratios, p99s = [], []
            for round_ in range(ROUNDS):
                bare = await baseline(connector, profiles, spec_path)
                database = await fresh_database(url, f"bench_ingest_{round_}") if url else None
                ours = await service(name, database, connector, profiles, spec_path)
                ratios.append(ours["rate"] / bare["rate"])
                p99s.append(ours["p99_ms"])
                print(
                    f"  {name:10} bare {bare['rate']:5.0f} msg/s (CPU {bare['cpu_ms']:.2f} ms/msg), "
                    f"persisted {ours['rate']:5.0f} msg/s (CPU {ours['cpu_ms']:.2f} ms/msg), "
                    f"ratio {ratios[-1]:.2f}, receipt->commit p50 {ours['p50_ms']:.0f} ms, p99 {ours['p99_ms']:.0f} ms"
                )
            print(
                f"ingest {name:10}: median ratio {statistics.median(ratios):.2f} (target >= 0.80), "
                f"median receipt->commit p99 {statistics.median(p99s):.0f} ms"
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "send":
        logging.getLogger("telethon").setLevel(logging.ERROR)
        asyncio.run(send_all(json.loads(Path(sys.argv[2]).read_text())))
    else:
        asyncio.run(main())
