"""Run the sandbox as a separate process for benchmarks, so its memory and CPU are not the measured process's."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telethon import TelegramClient
from telethon.events.common import EventBuilder
from telethon.sessions import StringSession

from app.telegram.connector import DataCenter, TelegramConnector


@dataclass(frozen=True)
class SandboxProcess:
    data_center: DataCenter
    public_key_pem: str

    def connector(self) -> TelegramConnector:
        connector = TelegramConnector(1, "sandbox0000000000000000000000000", data_center=self.data_center)
        connector.trust_key(self.public_key_pem)
        return connector


@contextlib.contextmanager
def sandbox_process(*, demo: bool = False) -> Iterator[SandboxProcess]:
    """`demo`: seed the demo world (contacts such as @demo_ada that greet and befriend every new account)."""
    # In memory: a state file would be rewritten every second, slower as the benchmark's messages pile up.
    pem_path = Path(tempfile.mkdtemp(prefix="bench-sandbox-")) / "sandbox.pub.pem"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox", "--port", "0", "--public-key", str(pem_path)]
        + ([] if demo else ["--no-demo"]),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("SANDBOX READY"):
                host, port = line.split()[-1].rsplit(":", 1)
                break
        else:
            raise RuntimeError("sandbox did not start")
        pem = pem_path.read_text()
        yield SandboxProcess(DataCenter(host, int(port)), pem)
    finally:
        process.terminate()
        process.wait(timeout=20)


async def login_sandbox_accounts(connector: TelegramConnector, count: int, digit: int = 1) -> list[tuple[str, str]]:
    """Log in `count` sandbox numbers (+99966XYYYY, code XXXXX) and return (phone, StringSession) pairs."""
    accounts = []
    for index in range(count):
        phone = f"+99966{digit}{index:04d}"
        client = connector.client(None, receive_updates=False)
        await client.connect()
        await client.send_code_request(phone)
        await client.sign_in(phone, str(digit) * 5)
        accounts.append((phone, StringSession.save(client.session)))
        await client.disconnect()
    return accounts


async def run_traffic(module: str, command: str, spec_path: Path) -> None:
    """Run `python -m <module> <command> <spec>` (a benchmark's traffic generator) until it has written all."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, command, str(spec_path), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    await process.stdout.readline()  # the generator says when its clients are connected
    if await process.wait() != 0:
        raise RuntimeError(f"{module} {command} failed")


async def bare_receipts(
    clients: list[TelegramClient], builder: EventBuilder, total: int, traffic: Awaitable[None], timeout_s: float
) -> dict[str, float]:
    """The baseline of a benchmark: connected bare clients count `builder` events while `traffic` runs.

    Returns the receive rate (first to last receipt), the count and the CPU per message of this process; the
    clients are disconnected afterwards.
    """
    times: list[float] = []
    done = asyncio.Event()

    async def on_event(event: Any) -> None:
        times.append(time.monotonic())
        if len(times) >= total:
            done.set()

    for client in clients:
        client.add_event_handler(on_event, builder)
    cpu = time.process_time()
    await traffic
    await asyncio.wait_for(done.wait(), timeout_s)
    cpu = time.process_time() - cpu
    await asyncio.gather(*(c.disconnect() for c in clients))
    return {"rate": len(times) / (times[-1] - times[0]), "count": len(times), "cpu_ms": cpu * 1000 / len(times)}
