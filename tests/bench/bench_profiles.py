"""Issue 4 benchmark: time to connect 200 profiles through the runtime, and resident memory per idle profile.

Baseline measured in the same run: the same 200 sessions connected by bare Telethon clients (no runtime,
leases or database). The sandbox runs in its own process so only the client side is measured.
Target: at most 2 MB resident memory per connected idle profile above the process baseline.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.telegram.connector import DataCenter, TelegramConnector
from app.telegram.health import Restriction
from app.telegram.leases import MemoryLeaseStore
from app.telegram.records import AccountInfo
from app.telegram.runtime import ProfileCredentials, ProfileRuntime
from tests.bench.sandbox_process import login_sandbox_accounts, sandbox_process

PROFILES = 200


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class InMemorySource:
    """The runtime's ProfileSource over a dict: the database is not what this benchmark measures."""

    profiles: dict[uuid.UUID, ProfileCredentials]

    async def active_profile_ids(self) -> list[uuid.UUID]:
        return list(self.profiles)

    async def credentials(self, profile_id: uuid.UUID) -> ProfileCredentials | None:
        return self.profiles.get(profile_id)

    async def connected(self, profile_id: uuid.UUID, me: AccountInfo, worker_id: str) -> None:
        return None

    async def disconnected(self, profile_id: uuid.UUID, worker_id: str, reason: str) -> None:
        return None

    async def failed(self, profile_id: uuid.UUID, status: str, reason: str) -> None:
        print(f"profile {profile_id} failed: {status} {reason}")

    async def restricted(self, profile_id: uuid.UUID, restriction: Restriction) -> None:
        print(f"profile {profile_id} restricted: {restriction.status}")

    async def freeze_state(self, profile_id: uuid.UUID, freeze: Restriction | None) -> None:
        return None

    async def limit_check(self, profile_id: uuid.UUID) -> None:
        return None


async def measure(mode: str, accounts: list[tuple[str, str]], connector: TelegramConnector) -> dict[str, float]:
    """Connect every session in this (fresh) process; return seconds to connect and MB per idle client."""
    gc.collect()
    base_rss = rss_mb()
    started = time.perf_counter()
    if mode == "bare":
        clients = [connector.client(session, catch_up=False) for _, session in accounts]
        await asyncio.gather(*(client.connect() for client in clients))
        await asyncio.gather(*(client.get_me() for client in clients))
        seconds, connected = time.perf_counter() - started, len(clients)
        stop = asyncio.gather(*(client.disconnect() for client in clients))
    else:
        source = InMemorySource(
            {
                uuid.uuid4(): ProfileCredentials(
                    uuid.uuid4(), uuid.uuid4(), phone, session, 1, connector.default_api_hash
                )
                for phone, session in accounts
            }
        )
        runtime = ProfileRuntime(connector=connector, source=source, leases=MemoryLeaseStore())
        await runtime.start()
        await asyncio.gather(*(runtime.wait_connected(pid, 120) for pid in source.profiles))
        seconds, connected = time.perf_counter() - started, len(runtime.connected_ids())
        stop = runtime.stop()
    await asyncio.sleep(2)  # idle
    gc.collect()
    per_profile = (rss_mb() - base_rss) / len(accounts)
    await stop
    return {"seconds": seconds, "mb": per_profile, "connected": connected, "base_mb": base_rss}


async def child(mode: str, path: str) -> None:
    logging.getLogger("telethon").setLevel(logging.ERROR)
    spec = json.loads(Path(path).read_text())
    connector = TelegramConnector(
        1, "sandbox0000000000000000000000000", data_center=DataCenter(spec["host"], spec["port"])
    )
    connector.trust_key(spec["pem"])
    print(json.dumps(await measure(mode, [tuple(a) for a in spec["accounts"]], connector)))


async def main() -> None:
    logging.getLogger("telethon").setLevel(logging.ERROR)
    with sandbox_process() as sandbox:
        connector = sandbox.connector()
        started = time.perf_counter()
        accounts = await login_sandbox_accounts(connector, PROFILES)
        print(f"logged in {PROFILES} sandbox accounts in {time.perf_counter() - started:.1f} s (setup)")
        spec = Path(tempfile.mkdtemp()) / "accounts.json"
        spec.write_text(
            json.dumps(
                {
                    "host": sandbox.data_center.host,
                    "port": sandbox.data_center.port,
                    "pem": sandbox.public_key_pem,
                    "accounts": accounts,
                }
            )
        )
        results = {}
        for mode in ("bare", "runtime"):
            output = subprocess.run(
                [sys.executable, "-m", "tests.bench.bench_profiles", mode, str(spec)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[mode] = json.loads(output.strip().splitlines()[-1])
    bare, ours = results["bare"], results["runtime"]
    print(f"process baseline RSS before connecting: {ours['base_mb']:.0f} MB")
    print(
        f"bare Telethon clients (baseline): {bare['connected']:.0f} connected in {bare['seconds']:.2f} s, "
        f"{bare['mb']:.2f} MB each"
    )
    print(
        f"runtime:                          {ours['connected']:.0f} connected in {ours['seconds']:.2f} s, "
        f"{ours['mb']:.2f} MB each"
    )
    print(f"connect-time ratio runtime/bare: {ours['seconds'] / bare['seconds']:.2f}")
    print(
        f"memory per idle profile: {ours['mb']:.2f} MB above the process baseline (target <= 2.00 MB); "
        f"ratio to a bare client {ours['mb'] / max(bare['mb'], 0.001):.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3:
        asyncio.run(child(sys.argv[1], sys.argv[2]))
    else:
        asyncio.run(main())
