"""Production topology: 2 API processes and 3 workers on PostgreSQL + Redis against the sandbox.

Every profile is connected by exactly one worker; sends through either API reach the peer; a WebSocket on one
API sees messages ingested by any worker; a worker killed with SIGKILL has its profiles taken over without
losing the messages that arrived meanwhile; the sandbox never sees one session live on two connections at once
(AUTH_KEY_DUPLICATED between hosts).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from app.db.migrations import upgrade
from tests.backends import empty_shared_backends
from tests.conftest import make_settings, sandbox_code, sandbox_phone
from tests.live import AppProcess, eventually, process_env

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]
PROFILES = 30


@pytest.fixture
async def environment(postgres_url, redis_url, sandbox, tmp_path):
    await asyncio.to_thread(upgrade, make_settings(tmp_path / "migrate", DATABASE_URL=postgres_url))
    env = process_env(
        postgres_url,
        redis_url,
        TELEGRAM_MODE="sandbox",
        TELEGRAM_DC=f"127.0.0.1:{sandbox.port}:{sandbox.dc_id}",
        TELEGRAM_EXTRA_RSA_KEY=sandbox.public_key_pem,
        PROFILE_LEASE_TTL_MS="3000",
        WORKER_HEARTBEAT_TTL_MS="2000",
        COMMAND_TIMEOUT_S="10",
    )
    yield env
    await empty_shared_backends(postgres_url, redis_url)


async def lease_holders(redis: Redis, profile_ids: list[str]) -> dict[str, str | None]:
    values = await redis.mget([f"tgmp:lease:profile:{pid}" for pid in profile_ids])
    return {pid: (v.decode() if v else None) for pid, v in zip(profile_ids, values, strict=True)}


async def stored_texts(engine: Any, profile_id: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT m.text FROM messages m JOIN chats c ON c.id = m.chat_id "
                "WHERE c.profile_id = :pid AND m.direction = 'in'"
            ),
            {"pid": profile_id},
        )
        return [row[0] for row in rows]


async def test_two_apis_three_workers(environment, sandbox, redis_url, postgres_url, tmp_path):
    workers = [AppProcess(environment, tmp_path, f"worker{i}", role="worker") for i in range(3)]
    apis = [AppProcess(environment, tmp_path, f"api{i}", role="api") for i in range(2)]
    redis = Redis.from_url(redis_url)
    engine = create_async_engine(postgres_url)
    concurrent_before = sandbox.control.counters.concurrent_key_use
    bob = sandbox.control.create_user(phone=sandbox_phone(2).lstrip("+"), first_name="Bob", username="topobob")
    try:
        await asyncio.gather(*(w.ready("WORKER READY") for w in workers), *(a.ready() for a in apis))
        worker_ids = {w.name: w.output().split("WORKER READY ")[1].split()[0] for w in workers}

        clients = [httpx.AsyncClient(base_url=a.base, timeout=30) for a in apis]
        credentials = {"email": "ada@example.com", "password": "correct horse"}
        assert (await clients[0].post("/auth/register", json=credentials)).status_code == 201
        token = (await clients[1].post("/auth/login", json=credentials)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        # Bind 30 profiles, alternating API processes for each step (flow state lives in the database).
        profiles: list[dict[str, Any]] = []
        for index in range(PROFILES):
            phone = sandbox_phone(1)
            start = await clients[index % 2].post("/profiles/start", json={"phone": phone}, headers=headers)
            assert start.status_code == 200, start.text
            code = {"phone": phone, "code": sandbox_code(phone)}
            bound = await clients[(index + 1) % 2].post("/profiles/code", json=code, headers=headers)
            assert bound.status_code == 201, bound.text
            profiles.append(bound.json()["profile"])
        ids = [p["id"] for p in profiles]

        # Every profile is owned by exactly one live worker, spread over all three.
        async def all_owned() -> bool:
            holders = await lease_holders(redis, ids)
            return all(holder in worker_ids.values() for holder in holders.values())

        await eventually(all_owned, timeout=60)
        spread = Counter((await lease_holders(redis, ids)).values())
        assert set(spread) == set(worker_ids.values()), spread
        assert sum(spread.values()) == PROFILES

        # Sends through either API process reach the sandbox peer.
        for index, profile in enumerate(profiles[:4]):
            body = {"phone": profile["phone"], "text": f"hello from api{index % 2}", "tg_receiver": "@topobob"}
            sent = await clients[index % 2].post("/messages/send", json=body, headers=headers)
            assert sent.status_code in (200, 201), sent.text
        received = {m.text for m in sandbox.control.user(bob).messages.values()}
        assert {"hello from api0", "hello from api1"} <= received

        # A file streams from the worker that holds the profile through an API-only process, window by window.
        data = os.urandom(1_200_000)
        sandbox.control.send_document(
            bob, profiles[0]["phone"].lstrip("+"), data, mime_type="application/pdf", file_name="topo.pdf"
        )

        found: list[tuple[str, str]] = []

        async def stored_file() -> bool:
            listing = (await clients[0].get("/conversations", headers=headers)).json()
            for group in listing["profiles"]:
                for conversation in group["conversations"]:
                    page = await clients[0].get(f"/conversations/{conversation['id']}/messages", headers=headers)
                    for item in page.json()["items"]:
                        if (item["media"] or {}).get("file_name") == "topo.pdf":
                            found.append((conversation["id"], item["id"]))
                            return True
            return False

        await eventually(stored_file, timeout=30)
        conversation_id, message_id = found[0]
        media_url = f"/conversations/{conversation_id}/messages/{message_id}/media"
        for api in clients:
            whole = await api.get(media_url, headers=headers)
            assert whole.status_code == 200, whole.text
            assert whole.content == data
        window = await clients[1].get(media_url, headers={**headers, "Range": "bytes=524000-1100000"})
        assert window.status_code == 206
        assert window.content == data[524000:1100001]

        # Archives read channels through the worker that holds the profile, also from an API-only process.
        reader = profiles[5]
        sandbox.control.create_channel("Topology news", username="toponews", members=[reader["phone"].lstrip("+")])
        listed = await clients[1].get(f"/profiles/{reader['phone']}/channels", headers=headers)
        assert listed.status_code == 200, listed.text
        assert [c["username"] for c in listed.json()] == ["toponews"]
        archive = {"channel": "@toponews", "phone": reader["phone"], "target": {"type": "local", "path": "topo"}}
        created = await clients[0].post("/archives", json=archive, headers=headers)
        assert created.status_code == 201, created.text
        assert created.json()["phone"] == reader["phone"]

        # A WebSocket on API 0 sees messages ingested by any worker.
        ws_url = apis[0].base.replace("http://", "ws://") + "/events?types=message.received"
        async with connect(ws_url, subprotocols=["bearer", token]) as ws:
            for profile in profiles:
                await sandbox.control.as_user(bob).send_message(profile["phone"].lstrip("+"), "ping " + profile["id"])
            seen: set[str] = set()
            while len(seen) < PROFILES:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if frame.get("type") == "message.received":
                    seen.add(frame["profile"])
            assert seen == {p["phone"] for p in profiles}

        # SIGKILL one worker; messages that arrive before and during the take-over are all stored, once.
        victim = workers[0]
        victim_id = worker_ids[victim.name]
        orphaned = [pid for pid, holder in (await lease_holders(redis, ids)).items() if holder == victim_id]
        assert orphaned
        victim.kill()
        by_id = {p["id"]: p for p in profiles}
        for n in range(3):
            for pid in orphaned:
                await sandbox.control.as_user(bob).send_message(by_id[pid]["phone"].lstrip("+"), f"while down {n}")

        async def taken_over() -> bool:
            holders = await lease_holders(redis, orphaned)
            return all(h in (worker_ids[workers[1].name], worker_ids[workers[2].name]) for h in holders.values())

        await eventually(taken_over, timeout=30)

        async def all_stored() -> bool:
            for pid in orphaned:
                texts = await stored_texts(engine, pid)
                if sorted(t for t in texts if t.startswith("while down")) != [f"while down {n}" for n in range(3)]:
                    return False
            return True

        await eventually(all_stored, timeout=30)
        for pid in orphaned:
            texts = await stored_texts(engine, pid)
            assert len(texts) == len(set(texts)), texts

        # Workers share 127.0.0.1, where Telegram allows concurrent use; between hosts it would kill the key.
        assert sandbox.control.counters.concurrent_key_use == concurrent_before
        for http in clients:
            await http.aclose()
    finally:
        for role in (*apis, *workers):
            role.stop()
        await redis.aclose()
        await engine.dispose()
