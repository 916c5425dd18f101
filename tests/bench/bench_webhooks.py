"""Issue 6 benchmark: webhook deliveries per second beside a bare httpx loop, and commit-to-WebSocket latency.

The receiver is a uvicorn subprocess. The baseline posts the very same signed payloads with the same
concurrency as the dispatcher (endpoints x per-endpoint concurrency) in a bare httpx loop; the dispatcher
claims, signs, posts and records every attempt in SQLite. Target: dispatcher >= 70% of the baseline.
Latency: an event is committed in the app's process and timed until the WebSocket client receives it.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from uuid import UUID

import httpx
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from app.config import load_settings
from app.db.migrations import upgrade
from app.db.models import DeliveryStatus, WebhookDelivery
from app.domain.events.schemas import encode_envelope
from app.domain.events.services import emit
from app.domain.webhooks.signing import generate_secret, signed_headers
from app.server.app import create_app
from tests.bench.load import serve, summary_ms
from tests.live import serve_asgi

ENDPOINTS = 8
PER_ENDPOINT = 2
DELIVERIES = 4000
LATENCY_SAMPLES = 300


def settings(data_dir: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {
            "APP_ENV": "test",
            "DATA_DIR": data_dir,
            "LOG_SHIPPING": "off",
            "LOG_LEVEL": "warning",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "1024",
            "WEBHOOK_ENDPOINT_CONCURRENCY": str(PER_ENDPOINT),
            "WEBHOOK_CONCURRENCY": str(ENDPOINTS * PER_ENDPOINT),
            "WEBHOOK_DEFAULT_MAX_PER_SECOND": "100000",
            "WEBHOOK_POLL_INTERVAL_S": "0.05",
        },
        dotenv=None,
    )


async def baseline(url: str, bodies: list[bytes]) -> float:
    """Bare httpx: the same signed bodies, the same concurrency, nothing recorded."""
    secret = generate_secret()
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for index, body in enumerate(bodies):
        queue.put_nowait((index, body))
    concurrency = ENDPOINTS * PER_ENDPOINT
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            while not queue.empty():
                index, body = queue.get_nowait()
                headers = signed_headers(secret, f"msg_{index}", int(time.time()), body)
                (await client.post(url, content=body, headers=headers)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - started)


async def dispatcher_rate(receiver: str, data_dir: str) -> tuple[float, list[bytes]]:
    app = create_app(settings(data_dir))
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        credentials = {"email": "bench@example.com", "password": "correct horse"}
        await http.post("/auth/register", json=credentials)
        token = (await http.post("/auth/login", json=credentials)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        user_id = UUID((await http.get("/auth/me", headers=headers)).json()["id"])
        ctx, dispatcher = app.state.ctx, app.state.runtime.service("webhook-dispatcher")
        await dispatcher.stop()  # queue the whole backlog first, then time the drain
        for n in range(ENDPOINTS):
            body = {"url": f"{receiver}/hook/{n}", "event_types": ["message.received"]}
            (await http.post("/webhooks", json=body, headers=headers)).raise_for_status()
        bodies = []
        for batch in range(DELIVERIES // ENDPOINTS // 100):
            async with ctx.sessionmaker.begin() as session:
                for n in range(100):
                    data = {"text": "hello " * 20, "n": batch * 100 + n}
                    envelope = await emit(session, user_id=user_id, type="message.received", data=data)
                    bodies.append(encode_envelope(envelope))
        started = time.perf_counter()
        await dispatcher.start()
        while True:
            async with ctx.sessionmaker() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == DeliveryStatus.SUCCEEDED.value)
                )
            if done >= DELIVERIES:
                break
            await asyncio.sleep(0.02)
        rate = DELIVERIES / (time.perf_counter() - started)
    return rate, [body for body in bodies for _ in range(ENDPOINTS)]


async def ws_latency(data_dir: str) -> list[float]:
    app = create_app(settings(data_dir))
    samples: list[float] = []
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        credentials = {"email": "ws@example.com", "password": "correct horse"}
        await http.post("/auth/register", json=credentials)
        token = (await http.post("/auth/login", json=credentials)).json()["access_token"]
        user_id = UUID((await http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).json()["id"])
        async with connect(base.replace("http", "ws") + f"/events?token={token}") as ws:
            await asyncio.sleep(0.1)
            for n in range(LATENCY_SAMPLES):
                async with app.state.ctx.sessionmaker() as session:
                    await emit(session, user_id=user_id, type="message.received", data={"n": n})
                    committed = time.perf_counter()  # publication happens inside commit(), so time from its start
                    await session.commit()
                while json.loads(await ws.recv()).get("data", {}).get("n") != n:
                    pass
                samples.append((time.perf_counter() - committed) * 1000)
    return samples


async def main(root: str) -> None:
    with serve("tests.bench.webhook_receiver:app", {}) as receiver:
        ours, bodies = await dispatcher_rate(receiver, str(Path(root) / "dispatch"))
        bare = await baseline(f"{receiver}/hook/bare", bodies)
    latencies = await ws_latency(str(Path(root) / "ws"))
    print(
        f"SQLite, {ENDPOINTS} endpoints x {PER_ENDPOINT} concurrent, {DELIVERIES} deliveries, receiver in a subprocess"
    )
    print(f"bare httpx loop (baseline):  {bare:8.0f} posts/s")
    print(f"WebhookDispatcher:           {ours:8.0f} deliveries/s (claimed, signed, posted, recorded)")
    print(f"ratio to baseline: {ours / bare:.2f}  (target >= 0.70)")
    print(f"commit -> WebSocket receipt ({LATENCY_SAMPLES} sequential events, SQLite): {summary_ms(latencies)}")


if __name__ == "__main__":
    os.environ.setdefault("LITESTAR_WARN_IMPLICIT_SYNC_TO_THREAD", "0")
    workdir = tempfile.mkdtemp(prefix="bench-webhooks-")
    for name in ("dispatch", "ws"):
        upgrade(settings(str(Path(workdir) / name)))  # Alembic runs its own event loop
    asyncio.run(main(workdir))
