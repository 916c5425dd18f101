"""Issue 10 benchmark: channel messages archived per second beside a bare Telethon client reading the same history.

The sandbox runs in a child process with one channel of MESSAGES posts. The baseline is a bare Telethon client
walking the whole history with `iter_messages(reverse=True, wait_time=0)` and doing nothing with it. The archive
is the full service path: claimed by the scheduler, read page by page, JSON-encoded, appended + fsynced (local)
or put as one object per batch (S3 on a local moto server), and checkpointed in SQLite after every batch. Rates
are the run's own export time (`run_started_at` -> `last_run_at`); the ratio is archive / baseline.

    .venv/bin/python -m tests.bench.bench_archives
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from typing import Any
from uuid import UUID

import boto3
import httpx
from moto.server import ThreadedMotoServer

from app.config import load_settings
from app.db.migrations import upgrade
from app.server.app import create_app
from app.telegram.connector import DataCenter, TelegramConnector
from tests.conftest import running
from tests.live import free_port

MESSAGES = 10_000
CHANNEL = "bench_archive"


async def _serve_sandbox(count: int) -> None:
    """Child process: a sandbox with one big channel; prints its address and a reader session, then waits."""
    from app.sandbox import SandboxDC

    dc = SandboxDC()
    port = await dc.start()
    control = dc.control
    creator = control.create_user(phone="15550009001", first_name="Creator")
    reader = control.create_user(phone="15550009002", first_name="Reader")
    channel = control.create_channel(title="Bench", username=CHANNEL, creator=creator, broadcast=True)
    actor = control.as_user(creator)
    for index in range(count):
        await actor.post(channel, f"bench post {index} " + "lorem ipsum " * 8)
    session = control.login_session(reader, "127.0.0.1", port)
    print(json.dumps({"port": port, "pem": dc.public_key_pem, "session": session}), flush=True)
    await asyncio.Event().wait()


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bench_archives", "--sandbox", str(MESSAGES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


async def baseline(info: dict[str, Any]) -> float:
    connector = TelegramConnector(1, "0" * 32, data_center=DataCenter("127.0.0.1", info["port"]))
    connector.trust_key(info["pem"])
    client = connector.client(info["session"], receive_updates=False)
    await client.connect()
    try:
        entity = await client.get_input_entity(CHANNEL)
        best = 0.0
        for _ in range(2):
            started, count = time.perf_counter(), 0
            # wait_time=0: Telethon otherwise sleeps 1 s between pages of an unbounded walk.
            async for _message in client.iter_messages(entity, reverse=True, wait_time=0):
                count += 1
            best = max(best, count / (time.perf_counter() - started))
            assert count == MESSAGES, count
        return best
    finally:
        await client.disconnect()


async def archive_rate(http: httpx.AsyncClient, headers: dict[str, str], target: dict[str, Any]) -> float:
    created = await http.post("/archives", json={"channel": CHANNEL, "target": target}, headers=headers)
    assert created.status_code == 201, created.text
    while True:
        body = (await http.get(f"/archives/{created.json()['id']}", headers=headers)).json()
        if body["status"] in {"completed", "failed"}:
            break
        await asyncio.sleep(0.02)
    assert body["status"] == "completed", body
    assert body["progress"]["messages_exported"] == MESSAGES, body
    started, finished = (datetime.fromisoformat(body[key]) for key in ("run_started_at", "last_run_at"))
    return MESSAGES / (finished - started).total_seconds()


async def measure(info: dict[str, Any], s3_endpoint: str) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="bench-archives-")
    env = {
        "APP_ENV": "test",
        "DATA_DIR": data_dir,
        "LOG_SHIPPING": "off",
        "LOG_LEVEL": "warning",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "TELEGRAM_MODE": "sandbox",
        "TELEGRAM_DC": f"127.0.0.1:{info['port']}",
        "TELEGRAM_EXTRA_RSA_KEY": info["pem"],
        "ARCHIVE_POLL_INTERVAL_S": "0.05",
    }
    settings = load_settings(env, dotenv=None)
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with running(app), httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as http:
        credentials = {"email": "bench@example.com", "password": "correct horse"}
        await http.post("/auth/register", json=credentials)
        token = (await http.post("/auth/login", json=credentials)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        imported = await http.post("/profiles/import", json={"session_string": info["session"]}, headers=headers)
        assert imported.status_code == 201, imported.text
        await app.state.ctx.telegram.runtime.wait_connected(UUID(imported.json()["id"]), timeout=20)
        local = await archive_rate(http, headers, {"type": "local", "path": "bench"})
        s3 = await archive_rate(
            http,
            headers,
            {
                "type": "s3",
                "bucket": "bench",
                "endpoint_url": s3_endpoint,
                "access_key_id": "bench",
                "secret_access_key": "bench-secret",
            },
        )
    return {"local": local, "s3": s3}


async def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    process, info = start_sandbox()
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b"
    ).create_bucket(Bucket="bench")
    try:
        bare = await baseline(info)
        rates = await measure(info, endpoint)
    finally:
        moto.stop()
        process.terminate()
        process.wait(timeout=20)
    print(f"channel history: {MESSAGES} messages, sandbox in a child process")
    print(f"bare Telethon iter_messages(reverse=True, wait_time=0): {bare:9.0f} msg/s (baseline)")
    for name, rate in rates.items():
        print(f"archive -> {name:<5} (JSONL, checkpointed): {rate:9.0f} msg/s  ratio {rate / bare:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sandbox":
        asyncio.run(_serve_sandbox(int(sys.argv[2])))
    else:
        asyncio.run(main())
