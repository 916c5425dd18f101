"""Issue 7 benchmark: channel posts captured per second across 100 channels and 5 profiles, beside bare Telethon.

A sandbox state is prepared with 5 monitoring accounts and 10 authors; each author owns 10 broadcast channels, and
every channel has one of the 5 accounts as a member (20 channels each). The sandbox then runs as its own process,
the authors post from another process as fast as they can. In the same run, with the same workload:
- baseline: 5 bare Telethon clients only count the channel posts they receive;
- service: the ProfileRuntime with the MessageIngest writer, each channel a monitored `channels` row assigned to its
  member account, so every post is stored with its outbox event carrying channel context (SQLite).
Rate: posts per second from the first receipt to the last receipt (baseline) or commit (service).

`.venv/bin/python -m tests.bench.bench_channels`
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from telethon import events, types

from app.config import load_settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrations import upgrade
from app.db.models import Channel, TelegramProfile, User
from app.domain.messages.ingest import MessageIngest
from app.sandbox import SandboxDC
from app.server.rooms import connect_rooms
from app.telegram.connector import DataCenter, TelegramConnector
from app.telegram.leases import MemoryLeaseStore
from app.telegram.runtime import ProfileCredentials, ProfileRuntime
from app.telegram.updates import NewMessage, UpdateRecord
from tests.bench.bench_profiles import InMemorySource
from tests.bench.sandbox_process import bare_receipts, login_sandbox_accounts, run_traffic

PROFILES = 5
AUTHORS = 10
CHANNELS_PER_AUTHOR = 10
POSTS_PER_CHANNEL = 30
CHANNELS = AUTHORS * CHANNELS_PER_AUTHOR
TOTAL = CHANNELS * POSTS_PER_CHANNEL
ROUNDS = 3


def _phone(digit: int, index: int) -> str:
    return f"+99966{digit}{index:04d}"


async def prepare_state(state: Path) -> dict[int, int]:
    """Create accounts and channels in a sandbox state file; returns channel id -> member profile index."""
    dc = SandboxDC(state, seed_demo=False)
    await dc.start("127.0.0.1", 0)
    control = dc.control
    profiles = [control.create_user(_phone(1, i).lstrip("+"), f"Watcher{i}") for i in range(PROFILES)]
    members: dict[int, int] = {}
    for a in range(AUTHORS):
        author = control.create_user(_phone(2, a).lstrip("+"), f"Author{a}")
        for c in range(CHANNELS_PER_AUTHOR):
            index = (a * CHANNELS_PER_AUTHOR + c) % PROFILES
            channel = control.create_channel(
                f"Bench {a}-{c}", f"bench_{a}_{c}", creator=author, members=[profiles[index]]
            )
            members[channel.id] = index
    await dc.stop()
    return members


def start_sandbox(state: Path) -> tuple[subprocess.Popen[str], DataCenter, str]:
    process = subprocess.Popen(
        # The prepared state is loaded but never rewritten: saving it every second as posts pile up would slow
        # the sandbox down phase after phase.
        [sys.executable, "-m", "app.sandbox", "--port", "0", "--state", str(state), "--read-only-state", "--no-demo"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("SANDBOX READY"):
            host, port = line.split()[-1].rsplit(":", 1)
            return process, DataCenter(host, int(port)), Path(f"{state}.pub.pem").read_text()
    raise RuntimeError("sandbox did not start")


# -- the authors (child process) -----------------------------------------------------------------------------


async def post_all(spec: dict[str, Any]) -> None:
    connector = TelegramConnector(1, "0" * 32, data_center=DataCenter(spec["host"], spec["port"]))
    connector.trust_key(spec["pem"])
    clients = [connector.client(session, receive_updates=False) for session in spec["authors"]]
    await asyncio.gather(*(c.connect() for c in clients))

    async def write(client: Any) -> None:
        dialogs = [d.entity for d in await client.get_dialogs() if isinstance(d.entity, types.Channel)]
        for n in range(spec["per_channel"]):
            for entity in dialogs:
                await client.send_message(entity, f"post {n}")

    print("POSTING", flush=True)
    await asyncio.gather(*(write(c) for c in clients))
    await asyncio.gather(*(c.disconnect() for c in clients))


# -- baseline and service ------------------------------------------------------------------------------------


async def baseline(connector: TelegramConnector, profiles: list[tuple[str, str]], spec_path: Path) -> dict[str, float]:
    clients = [connector.client(session, catch_up=False) for _, session in profiles]
    await asyncio.gather(*(c.connect() for c in clients))
    await asyncio.gather(*(c.get_dialogs() for c in clients))  # learn the channels, as the service's clients do
    traffic = run_traffic("tests.bench.bench_channels", "post", spec_path)
    return await bare_receipts(clients, events.NewMessage(), TOTAL, traffic, 180)


async def service(
    connector: TelegramConnector, profiles: list[tuple[str, str]], members: dict[int, int], spec_path: Path
) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    settings = load_settings({"APP_ENV": "test", "DATA_DIR": str(data_dir), "LOG_SHIPPING": "off"}, dotenv=None)
    await asyncio.to_thread(upgrade, settings)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    credentials: dict[uuid.UUID, ProfileCredentials] = {}
    async with sessionmaker.begin() as session:
        owner = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(owner)
        await session.flush()
        rows = []
        for phone, _ in profiles:
            row = TelegramProfile(
                owner_id=owner.id, phone=phone, api_id=1, api_hash_encrypted="x", session_encrypted="x"
            )
            session.add(row)
            rows.append(row)
        await session.flush()
        for row, (phone, string) in zip(rows, profiles, strict=True):
            credentials[row.id] = ProfileCredentials(row.id, owner.id, phone, string, 1, connector.default_api_hash)
        for channel_id, index in members.items():
            session.add(
                Channel(owner_id=owner.id, peer_id=int(f"-100{channel_id}"), assigned_profile_id=rows[index].id)
            )
    runtime = ProfileRuntime(connector=connector, source=InMemorySource(credentials), leases=MemoryLeaseStore())
    ingest = MessageIngest(sessionmaker, runtime, batch_size=settings.ingest_batch_size)
    receipts: list[float] = []
    commits: list[float] = []
    done = asyncio.Event()

    def on_commit(records: list[UpdateRecord], at: float) -> None:
        for record in records:
            if isinstance(record, NewMessage) and record.chat.kind == "channel":
                receipts.append(record.received_at)
                commits.append(at)
        if len(commits) >= TOTAL:
            done.set()

    ingest.listeners.append(on_commit)
    await ingest.start()
    await runtime.start()
    await asyncio.gather(*(runtime.wait_connected(pid, 60) for pid in credentials))
    for pid in credentials:
        connected = runtime.connected(pid)
        assert connected is not None
        await connected.client.get_dialogs()
    await asyncio.sleep(0.5)
    await run_traffic("tests.bench.bench_channels", "post", spec_path)
    await asyncio.wait_for(done.wait(), 300)
    await runtime.stop()
    await ingest.stop()
    async with sessionmaker() as session:
        from sqlalchemy import func, select

        from app.db.models import Event

        with_context = await session.scalar(
            select(func.count(Event.id)).where(
                Event.type == "message.received", Event.payload["channel_id"].isnot(None)
            )
        )
    await engine.dispose()
    return {"rate": len(commits) / (max(commits) - min(receipts)), "count": len(commits), "events": with_context or 0}


async def main() -> None:
    connect_rooms()  # as create_app does: the ingest's message events ask channels for their context
    logging.getLogger("telethon").setLevel(logging.ERROR)
    logging.getLogger("app").setLevel(logging.ERROR)
    state = Path(tempfile.mkdtemp(prefix="bench-channels-sandbox-")) / "sandbox.json"
    members = await prepare_state(state)
    process, data_center, pem = start_sandbox(state)
    try:
        connector = TelegramConnector(1, "0" * 32, data_center=data_center)
        connector.trust_key(pem)
        profiles = await login_sandbox_accounts(connector, PROFILES, digit=1)
        authors = await login_sandbox_accounts(connector, AUTHORS, digit=2)
        spec_path = state.parent / "authors.json"
        spec = {
            "host": data_center.host,
            "port": data_center.port,
            "pem": pem,
            "authors": [s for _, s in authors],
            "per_channel": POSTS_PER_CHANNEL,
        }
        spec_path.write_text(json.dumps(spec))
        print(f"{AUTHORS} authors post {TOTAL} posts to {CHANNELS} channels watched by {PROFILES} profiles")
        print(f"{ROUNDS} rounds, each a bare phase right before a service phase (load on this machine drifts)")
        ratios = []
        for _ in range(ROUNDS):
            bare = await baseline(connector, profiles, spec_path)
            ours = await service(connector, profiles, members, spec_path)
            ratios.append(ours["rate"] / bare["rate"])
            print(
                f"  bare Telethon clients receive {bare['rate']:5.0f} posts/s; captured (SQLite) "
                f"{ours['rate']:5.0f} posts/s ({ours['count']:.0f} posts, {ours['events']:.0f} message.received "
                f"events with channel context), ratio {ratios[-1]:.2f}"
            )
        print(f"channel capture: median ratio {statistics.median(ratios):.2f}")
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "post":
        logging.getLogger("telethon").setLevel(logging.ERROR)
        asyncio.run(post_all(json.loads(Path(sys.argv[2]).read_text())))
    else:
        asyncio.run(main())
