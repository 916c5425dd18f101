"""Real processes on PostgreSQL + Redis: events fan out across two API processes through Redis pub/sub, and a
dispatcher killed with SIGKILL mid-delivery loses nothing (at-least-once, duplicates keep their webhook-id)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from app.db.migrations import upgrade
from tests.backends import empty_shared_backends
from tests.conftest import make_settings
from tests.live import AppProcess, Receiver, eventually, process_env, running_receiver

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]


@pytest.fixture
def shared_env(postgres_url, redis_url, tmp_path):
    upgrade(make_settings(tmp_path / "migrate", DATABASE_URL=postgres_url))
    env = process_env(
        postgres_url,
        redis_url,
        WEBHOOK_CLAIM_TTL_S="1",
        WEBHOOK_POLL_INTERVAL_S="0.1",
        WEBHOOK_DEFAULT_MAX_PER_SECOND="100",
        WEBHOOK_RETRY_SCHEDULE_S="0.2,0.2,0.2,0.2,0.2",
    )
    yield env
    asyncio.run(empty_shared_backends(postgres_url, redis_url))


async def test_fan_out_across_processes_and_sigkill_mid_delivery_loses_nothing(shared_env, postgres_url, tmp_path):
    first, second = AppProcess(shared_env, tmp_path, "a"), AppProcess(shared_env, tmp_path, "b")
    restarted: AppProcess | None = None
    engine = create_async_engine(postgres_url)
    try:
        await asyncio.gather(first.ready(), second.ready())
        async with httpx.AsyncClient(base_url=first.base, timeout=20) as api:
            credentials = {"email": "ada@example.com", "password": "correct horse"}
            assert (await api.post("/auth/register", json=credentials)).status_code == 201
            token = (await api.post("/auth/login", json=credentials)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            ws_url = second.base.replace("http://", "ws://") + "/events?types=webhook.test"
            async with (
                running_receiver(Receiver(respond=lambda _: (200, 0.3))) as receiver,
                connect(ws_url, subprotocols=["bearer", token]) as ws,
            ):
                hook = (
                    await api.post("/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=headers)
                ).json()
                # Fan-out: emitted through process A, received on process B's WebSocket.
                sent = [(await api.post(f"/webhooks/{hook['id']}/test", headers=headers)).json()["event_id"]]
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert frame["id"] == sent[0]
                assert frame["type"] == "webhook.test"

                async def first_is_delivering() -> bool:
                    async with engine.connect() as connection:
                        claimed = await connection.scalar(
                            text("SELECT count(*) FROM webhook_deliveries WHERE locked_by LIKE :owner"),
                            {"owner": f"%:{first.popen.pid}:%"},
                        )
                    return bool(claimed)

                # Both processes dispatch; on a loaded machine B may claim a whole batch before A polls, so events
                # keep coming (one each 0.2 s, for at most a minute) until A holds a claim: then A is killed
                # mid-delivery.
                for _ in range(300):
                    sent.append((await api.post(f"/webhooks/{hook['id']}/test", headers=headers)).json()["event_id"])
                    if len(sent) > 12 and await first_is_delivering():
                        break
                    if len(sent) > 12:
                        await asyncio.sleep(0.2)
                assert await first_is_delivering(), "process A never claimed a delivery"
                first.kill()
                restarted = AppProcess(shared_env, tmp_path, "a2")
                await restarted.ready()

                received_ids = lambda: {json.loads(r.body)["id"] for r in receiver.requests}  # noqa: E731
                await eventually(lambda: received_ids() >= set(sent), timeout=90)
                live = [json.loads(await asyncio.wait_for(ws.recv(), 30))["id"] for _ in range(len(sent) - 1)]
                assert set(live) == set(sent[1:])

                async def delivery_statuses() -> dict[str, int]:
                    async with engine.connect() as connection:
                        rows = await connection.execute(
                            text("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
                        )
                    return {status: count for status, count in rows.all()}

                # A delivery the killed process had already made stays claimed until its claim expires
                # (WEBHOOK_CLAIM_TTL_S=1 here), then it is redelivered: wait for that, with the receiver still up.
                async def all_succeeded() -> bool:
                    return await delivery_statuses() == {"succeeded": len(sent)}

                await eventually(all_succeeded, timeout=60)

            webhook_ids = defaultdict(set)
            for request in receiver.requests:
                webhook_ids[json.loads(request.body)["id"]].add(request.headers["webhook-id"])
            assert set(webhook_ids) == set(sent)  # none lost
            assert all(len(ids) == 1 for ids in webhook_ids.values())  # duplicates only with the same webhook-id
            assert await delivery_statuses() == {"succeeded": len(sent)}
    finally:
        for process in (first, second, restarted):
            if process is not None:
                process.stop()
        await engine.dispose()
