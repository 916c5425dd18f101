"""A real `python -m app serve` killed with SIGKILL mid-export: a second process resumes the run from its
checkpoint and the archive holds every channel message exactly once."""

from __future__ import annotations

import os
import sqlite3

import httpx
import pytest
from cryptography.fernet import Fernet

from app.db.migrations import upgrade
from tests.conftest import FAST_HASHING, make_settings, sandbox_code, sandbox_env, sandbox_phone
from tests.domain.archives.helpers import as_tuples, channel_with_posts, expected, read_local
from tests.live import AppProcess, eventually

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

POSTS = 3000


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "shared.db"
    upgrade(make_settings(tmp_path / "migrate", DATABASE_URL=f"sqlite+aiosqlite:///{path}"))
    return path


async def test_sigkill_mid_export_then_resume_exports_each_message_once(sandbox, tmp_path, database):
    url = f"sqlite+aiosqlite:///{database}"
    root = tmp_path / "archives"
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "JWT_SECRET": "s" * 48,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_SHIPPING": "off",
        **FAST_HASHING,
        **sandbox_env(sandbox),
        "ARCHIVE_LOCAL_ROOT": str(root),
        "ARCHIVE_BATCH_SIZE": "50",
        "ARCHIVE_CLAIM_TTL_S": "1",
        "ARCHIVE_POLL_INTERVAL_S": "0.1",
    }
    first = AppProcess(env, tmp_path, "first")
    second: AppProcess | None = None
    try:
        await first.ready(health=frozenset({200}))
        phone = sandbox_phone()
        async with httpx.AsyncClient(base_url=first.base, timeout=20) as api:
            credentials = {"email": "ada@example.com", "password": "correct horse"}
            assert (await api.post("/auth/register", json=credentials)).status_code == 201
            token = (await api.post("/auth/login", json=credentials)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert (await api.post("/profiles/start", json={"phone": phone}, headers=headers)).status_code == 200
            code = {"phone": phone, "code": sandbox_code(phone)}
            assert (await api.post("/profiles/code", json=code, headers=headers)).status_code == 201

            async def connected() -> bool:
                return (await api.get(f"/profiles/{phone}/channels", headers=headers)).status_code == 200

            await eventually(connected, timeout=15)
            channel = await channel_with_posts(sandbox, POSTS, members=(phone,))
            target = {"type": "local", "path": "crash"}
            created = await api.post("/archives", json={"channel": channel.username, "target": target}, headers=headers)
            assert created.status_code == 201, created.text
            archive_id = created.json()["id"]
            while True:  # kill as soon as a few batches are checkpointed, well before the end
                progress = (await api.get(f"/archives/{archive_id}", headers=headers)).json()["progress"]
                if progress["messages_exported"] >= 200:
                    break
        first.kill()

        with sqlite3.connect(database) as db:
            status, exported = db.execute("SELECT status, messages_exported FROM archives").fetchone()
        assert status == "running"
        assert 200 <= exported < POSTS - 1, "the export was not interrupted mid-run"

        second = AppProcess(env, tmp_path, "second")
        await second.ready(health=frozenset({200}))
        async with httpx.AsyncClient(base_url=second.base, timeout=20) as api:

            async def completed() -> bool:
                body = (await api.get(f"/archives/{archive_id}", headers=headers)).json()
                return body["status"] == "completed"

            await eventually(completed, timeout=30)
            done = (await api.get(f"/archives/{archive_id}", headers=headers)).json()
        lines = read_local(root, done["location"])
        assert as_tuples(lines) == expected(channel)  # every message once, in order: nothing duplicated or skipped
        assert done["progress"]["messages_exported"] == len(lines)
        assert len(lines) in (POSTS - 1, POSTS)  # the deleted post has a line if the live inbox stored it
        assert done["progress"]["runs"] == 1
        assert done["progress"]["bytes_exported"] == (root / done["location"] / "messages.jsonl").stat().st_size
    finally:
        first.stop()
        if second is not None:
            second.stop()
