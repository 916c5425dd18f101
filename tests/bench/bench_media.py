"""Issue 21 benchmark: streaming a large file through GET /conversations/{id}/messages/{message_id}/media.

The sandbox runs in a process of its own and the service is a real `python -m app serve` process (embedded
defaults) bound to a sandbox account by session import. A second account sends it a `MEDIA_MB` file with
Telethon's `send_file` (read from disk). Measured in the same run: the endpoint's download throughput (the body
read and dropped by httpx) beside a bare Telethon `download_media` of the same file to disk, and the service
process's resident memory (VmRSS from /proc, sampled every 20 ms) while the file streams, against the same process
idle just before. Targets: throughput >= 0.9 of bare Telethon; peak RSS under 50 MB above idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from telethon import functions, types

from tests.bench.load import free_port
from tests.bench.sandbox_process import login_sandbox_accounts, sandbox_process

MEDIA_MB = int(os.environ.get("BENCH_MEDIA_MB", "200"))
RSS_TARGET_MB = 50.0
THROUGHPUT_TARGET = 0.9


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def service(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


class Sampler:
    """The peak VmRSS of a process, sampled in a thread while something runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def main() -> None:
    with sandbox_process() as sandbox:
        connector = sandbox.connector()
        (phone, session), (_, sender_session) = await login_sandbox_accounts(connector, 2, digit=2)
        data_dir = tempfile.mkdtemp(prefix="bench-media-")
        env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": "off", "APP_ENV": "development"}
        for name in ("DATABASE_URL", "REDIS_URL", "CLICKHOUSE_DSN", "LOG_FORMAT"):
            env.pop(name, None)
        env.update(
            TELEGRAM_DC=f"{sandbox.data_center.host}:{sandbox.data_center.port}:2",
            TELEGRAM_EXTRA_RSA_KEY=sandbox.public_key_pem,
        )
        with service(env) as (base, pid):
            http = httpx.AsyncClient(base_url=base, timeout=120)
            credentials = {"email": "media@example.com", "password": "correct horse battery"}
            (await http.post("/auth/register", json=credentials)).raise_for_status()
            token = (await http.post("/auth/login", json=credentials)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            imported = await http.post("/profiles/import", json={"session_string": session}, headers=headers)
            imported.raise_for_status()

            source = Path(data_dir) / "big.bin"
            with source.open("wb") as out:
                for _ in range(MEDIA_MB):
                    out.write(os.urandom(1024 * 1024))
            sender = connector.client(sender_session, receive_updates=False)
            await sender.connect()
            contact = types.InputPhoneContact(0, phone, "Profile", "")
            imported_contacts = await sender(functions.contacts.ImportContactsRequest([contact]))
            await sender.send_file(imported_contacts.users[0], source, force_document=True)

            conversation_id = message_id = None
            deadline = time.monotonic() + 60
            while message_id is None and time.monotonic() < deadline:
                listing = (await http.get("/conversations", headers=headers)).json()
                for group in listing["profiles"]:
                    for conversation in group["conversations"]:
                        page = await http.get(f"/conversations/{conversation['id']}/messages", headers=headers)
                        for item in page.json()["items"]:
                            if item["media_type"] == "document":
                                conversation_id, message_id = conversation["id"], item["id"]
                await asyncio.sleep(0.2)
            assert message_id is not None, "the file's message was not stored"

            idle = rss_mb(pid)
            received = 0
            started = time.perf_counter()
            with Sampler(pid) as sampler:
                url = f"/conversations/{conversation_id}/messages/{message_id}/media"
                async with http.stream("GET", url, headers=headers) as response:
                    response.raise_for_status()
                    async for chunk in response.aiter_raw():
                        received += len(chunk)
            endpoint_s = time.perf_counter() - started
            assert received == MEDIA_MB * 1024 * 1024, received
            await http.aclose()

            receiver = connector.client(session, receive_updates=False)
            await receiver.connect()
            message = None
            async for dialog in receiver.iter_dialogs():
                async for found in receiver.iter_messages(dialog.entity, limit=5):
                    if found.file and found.file.size == received:
                        message = found
            target = Path(data_dir) / "bare.bin"
            started = time.perf_counter()
            await receiver.download_media(message, file=str(target))
            bare_s = time.perf_counter() - started
            await receiver.disconnect()
            await sender.disconnect()

    size_mb = received / 1024 / 1024
    ratio = bare_s / endpoint_s
    growth = sampler.peak - idle
    print(f"media download, {size_mb:.0f} MB file")
    print(f"  endpoint        {size_mb / endpoint_s:8.1f} MB/s")
    print(f"  bare Telethon   {size_mb / bare_s:8.1f} MB/s")
    print(f"  ratio           {ratio:8.2f}  (target >= {THROUGHPUT_TARGET})")
    print(
        f"  service RSS     idle {idle:.1f} MB, peak {sampler.peak:.1f} MB while streaming: +{growth:.1f} MB"
        f"  (target < {RSS_TARGET_MB:.0f} MB)"
    )


if __name__ == "__main__":
    asyncio.run(main())
