"""Channel archives end to end: the sandbox DC, the real Telethon client, local files and a real S3 server (moto)."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select, update

from app.db.models import Archive, Chat, Message
from tests.conftest import bearer, register_and_login, sandbox_phone
from tests.domain.archives.helpers import (
    as_tuples,
    channel_with_posts,
    expected,
    post_more,
    read_local,
    read_s3,
    unique,
    wait_for,
)
from tests.domain.messages.support import eventually, new_contact
from tests.domain.profiles.test_binding import bind
from tests.live import free_port

pytestmark = pytest.mark.asyncio

BUCKET = "archives"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"ARCHIVE_BATCH_SIZE": "100", "ARCHIVE_POLL_INTERVAL_S": "0.05", "ARCHIVE_RETRY_AFTER_S": "0.2"}


@pytest.fixture(scope="session")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    s3.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


async def connected_profile(client, app, headers, phone=None):
    profile = await bind(client, headers, phone)
    connected = await app.state.ctx.telegram.runtime.wait_connected(UUID(profile["id"]), timeout=10)
    assert connected is not None
    return profile


def archive_root(app):
    return app.state.ctx.settings.archive_local_root


async def test_public_channel_to_local_storage(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 250, members=(profile["phone"],))

    listed = (await client.get(f"/profiles/{profile['phone']}/channels", headers=headers)).json()
    mine = [c for c in listed if c["id"] == channel.id]
    assert mine == [
        {
            "id": channel.id,
            "title": channel.title,
            "username": channel.username,
            "member_count": 2,
            "is_member": True,
            "kind": "channel",
            "private": False,
        }
    ]

    created = await client.post(
        "/archives",
        json={"channel": f"@{channel.username}", "target": {"type": "local", "path": "news/a"}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phone"] == profile["phone"]
    assert body["channel"]["id"] == channel.id
    done = await wait_for(client, headers, body["id"], {"completed"})
    lines = read_local(archive_root(app), done["location"])
    assert as_tuples(lines) == expected(channel)
    # 250 posted, one deleted: a line for it only if the live inbox stored it before the deletion
    assert [line["id"] for line in lines if line["is_deleted"]] in ([], [3])
    assert done["progress"]["messages_exported"] == len(lines)
    assert (
        done["progress"]["bytes_exported"] == (archive_root(app) / done["location"] / "messages.jsonl").stat().st_size
    )
    assert done["progress"]["position"] == max(channel.messages)
    assert done["last_error"] is None
    assert done["next_run_at"] is None
    edited = next(line for line in lines if line["is_edited"])
    assert edited["text"].endswith("(edited)")
    assert edited["edit_date"] is not None
    assert all(line["media"] is None for line in lines)

    listing = (await client.get("/archives", headers=headers)).json()
    assert [a["id"] for a in listing] == [body["id"]]


async def test_limits_dates_and_media_flag(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 30)
    messages = sorted(channel.messages.values(), key=lambda m: m.id)
    # The sandbox has no media: include_media exercises the path where no message carries any.
    created = await client.post(
        "/archives",
        json={
            "channel": f"https://t.me/{channel.username}",
            "target": {"type": "local", "path": "limited"},
            "limit": 5,
            "include_media": True,
            "since": datetime.fromtimestamp(messages[0].date, UTC).isoformat(),
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    done = await wait_for(client, headers, created.json()["id"], {"completed"})
    lines = read_local(archive_root(app), done["location"])
    assert as_tuples(lines) == expected(channel)[:5]
    assert done["progress"]["media_exported"] == 0


async def test_public_channel_to_s3_keeps_credentials_secret(client, app, sandbox, s3_endpoint):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 230)
    target = {
        "type": "s3",
        "bucket": BUCKET,
        "prefix": "tenants/ada",
        "endpoint_url": s3_endpoint,
        "region": "us-east-1",
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": "very-secret-value",
    }
    created = await client.post("/archives", json={"channel": channel.username, "target": target}, headers=headers)
    assert created.status_code == 201, created.text
    assert "very-secret-value" not in created.text
    assert "AKIDEXAMPLE" not in created.text
    done = await wait_for(client, headers, created.json()["id"], {"completed"})
    assert "very-secret-value" not in str(done)
    assert done["location"] == f"s3://{BUCKET}/tenants/ada/{done['id']}"
    lines = read_s3(s3_endpoint, BUCKET, f"tenants/ada/{done['id']}/messages/")
    assert as_tuples(lines) == expected(channel)
    async with app.state.ctx.sessionmaker() as session:
        stored = await session.scalar(select(Archive.target_secret_encrypted))
    assert stored
    assert "very-secret-value" not in stored

    unreachable = await client.post(
        "/archives",
        json={"channel": channel.username, "target": {**target, "bucket": "no-such-bucket"}},
        headers=headers,
    )
    assert unreachable.status_code == 422
    assert unreachable.json()["error"]["code"] == "s3_unreachable"


async def test_private_channel_through_a_member_profile(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    outsider = await connected_profile(client, app, headers, sandbox_phone(2))
    member = await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 40, private=True, members=(member["phone"],))

    refused = await client.post(
        "/archives",
        json={"channel": str(channel.id), "phone": outsider["phone"], "target": {"type": "local", "path": "p"}},
        headers=headers,
    )
    assert refused.status_code in (403, 404), refused.text

    created = await client.post(
        "/archives", json={"channel": str(channel.id), "target": {"type": "local", "path": "p"}}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == member["phone"]
    assert created.json()["channel"]["private"] is True
    done = await wait_for(client, headers, created.json()["id"], {"completed"})
    assert as_tuples(read_local(archive_root(app), done["location"])) == expected(channel)


async def test_scheduled_archive_exports_only_new_posts(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 20)
    created = await client.post(
        "/archives",
        json={"channel": channel.username, "target": {"type": "local", "path": "sched"}, "every_minutes": 60},
        headers=headers,
    )
    first = await wait_for(client, headers, created.json()["id"], {"scheduled"})
    assert first["progress"]["runs"] == 1
    assert first["progress"]["run_messages"] == 19
    next_run = datetime.fromisoformat(first["next_run_at"])
    assert timedelta(minutes=59) < next_run - datetime.now(UTC) <= timedelta(minutes=60)

    await post_more(sandbox, channel, ["new one", "new two", "new three"])
    scheduler = app.state.runtime.service("archive-scheduler")
    assert await scheduler.tick() == []  # not due yet
    async with app.state.ctx.sessionmaker.begin() as session:
        await session.execute(update(Archive).values(next_run_at=datetime.now(UTC) - timedelta(seconds=1)))
    # This tick or the scheduler's own poll (it runs meanwhile) starts the run that is due now, never both.
    started = await scheduler.tick()
    assert started in ([UUID(first["id"])], [])
    second = await wait_for(client, headers, first["id"], {"scheduled"}, runs=2)
    assert second["status"] == "scheduled"
    assert second["progress"]["runs"] == 2
    assert second["progress"]["run_messages"] == 3
    assert second["progress"]["messages_exported"] == 22  # 20 posted, 1 deleted, 3 new
    lines = read_local(archive_root(app), second["location"])
    assert as_tuples(lines) == expected(channel)
    assert [line["text"] for line in lines[-3:]] == ["new one", "new two", "new three"]

    assert (await client.delete(f"/archives/{first['id']}", headers=headers)).status_code == 204
    cancelled = (await client.get(f"/archives/{first['id']}", headers=headers)).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["next_run_at"] is None
    assert (archive_root(app) / cancelled["location"] / "messages.jsonl").exists()  # files stay


async def test_flood_wait_pauses_and_resumes(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 150)
    sandbox.control.fail_next("messages.GetHistory", 420, "FLOOD_WAIT_2", user=profile["phone"].lstrip("+"))
    created = await client.post(
        "/archives", json={"channel": channel.username, "target": {"type": "local", "path": "flood"}}, headers=headers
    )
    paused = await wait_for(client, headers, created.json()["id"], {"paused"}, timeout=5)
    assert paused["paused_until"] is not None
    pause = datetime.fromisoformat(paused["paused_until"]) - datetime.now(UTC)
    assert timedelta(seconds=0) < pause <= timedelta(seconds=2)
    done = await wait_for(client, headers, created.json()["id"], {"completed"}, timeout=10)
    assert done["paused_until"] is None
    assert as_tuples(read_local(archive_root(app), done["location"])) == expected(channel)


async def test_crash_between_write_and_checkpoint_resumes_exactly_once(client, app, sandbox):
    """A batch appended (and a torn line after it) but never checkpointed: the resumed run truncates them away."""
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 250)
    created = await client.post(
        "/archives", json={"channel": channel.username, "target": {"type": "local", "path": "crash"}}, headers=headers
    )
    done = await wait_for(client, headers, created.json()["id"], {"completed"})
    path = archive_root(app) / done["location"] / "messages.jsonl"
    first_batch = path.read_bytes().splitlines(keepends=True)[:100]
    with path.open("ab") as handle:
        handle.write(b'{"id": 99999, "text": "torn wri')
    # The database as a process that died after writing batch 2 but before committing it left it.
    async with app.state.ctx.sessionmaker.begin() as session:
        await session.execute(
            update(Archive).values(
                status="running",
                position=json.loads(first_batch[-1])["id"],
                checkpoint_offset=sum(len(line) for line in first_batch),
                messages_exported=100,
                bytes_exported=sum(len(line) for line in first_batch),
                run_messages=100,
                claimed_by="archives:dead-process",
                claimed_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    scheduler = app.state.runtime.service("archive-scheduler")
    await scheduler.tick()
    await scheduler.idle()
    resumed = (await client.get(f"/archives/{done['id']}", headers=headers)).json()
    assert resumed["status"] == "completed"
    assert resumed["progress"]["runs"] == 1  # the same run, resumed
    lines = read_local(archive_root(app), resumed["location"])
    assert as_tuples(lines) == expected(channel)
    assert resumed["progress"]["messages_exported"] == len(lines)
    assert resumed["progress"]["bytes_exported"] == path.stat().st_size


async def test_deleted_messages_stored_by_the_inbox_are_exported_as_deleted(client, app, sandbox):
    """The live inbox stored a post (under the channel's marked id, as Telegram's updates name it) before the
    channel deleted it; the export, which Telegram no longer gives the post, still has its line."""
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await connected_profile(client, app, headers)
    channel = await channel_with_posts(sandbox, 4)  # post id 3 deleted before anyone listened
    monitored = await client.post("/channels", json={"channel": f"@{channel.username}"}, headers=headers)
    assert monitored.status_code == 201, monitored.text
    author = sandbox.control.as_user(channel.creator_id)
    doomed = await author.post(channel, "said, then taken back")
    kept = await author.post(channel, "still here")

    async def stored(message_id: int) -> Message | None:
        async with app.state.ctx.sessionmaker() as session:
            found = await session.scalar(
                select(Message)
                .join(Chat, Message.chat_id == Chat.id)
                .where(Chat.title == channel.title, Message.telegram_message_id == message_id)
            )
            return found

    assert (await eventually(lambda: stored(kept), what="live posts stored")).text == "still here"
    await author.delete_messages(channel, [doomed])
    gone_row = await eventually(lambda: _deleted(stored(doomed)), what="the deletion stored by the inbox")
    created = await client.post(
        "/archives", json={"channel": channel.username, "target": {"type": "local", "path": "del"}}, headers=headers
    )
    done = await wait_for(client, headers, created.json()["id"], {"completed"})
    lines = read_local(archive_root(app), done["location"])
    by_id = {line["id"]: line for line in lines}
    assert sorted(by_id) == [1, 2, 4, doomed, kept]  # id 3 was deleted before the inbox could see it
    gone = by_id[doomed]
    assert gone["is_deleted"] is True
    assert gone["text"] == "said, then taken back"
    assert gone["sender_id"] is by_id[kept]["sender_id"] is None  # a channel's own post names no sender
    deleted_at = gone_row.deleted_at
    assert deleted_at is not None
    stored_at = deleted_at.replace(tzinfo=UTC) if deleted_at.tzinfo is None else deleted_at  # SQLite keeps no zone
    assert datetime.fromisoformat(gone["deleted_at"]) == stored_at
    assert as_tuples(lines) == expected(channel)
    assert done["progress"]["messages_exported"] == len(lines)


async def _deleted(row: Awaitable[Message | None]) -> Message | None:
    found = await row
    return found if found is not None and found.is_deleted else None


async def test_bad_targets_are_refused(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    for path in ("/etc", "../outside", "a/../../b", "~root", "C:/x", ".", "./"):
        target = {"type": "local", "path": path}
        response = await client.post("/archives", json={"channel": "whatever", "target": target}, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_target_path"
    for target in ({"type": "ftp", "path": "x"}, {"type": "s3", "bucket": "bucket", "access_key_id": "only-half"}):
        response = await client.post("/archives", json={"channel": "whatever", "target": target}, headers=headers)
        assert response.status_code in (400, 422), (target, response.text)


async def test_archives_are_private_to_their_owner(client, app, sandbox):
    ada = bearer(await register_and_login(client, "ada@example.com"))
    await connected_profile(client, app, ada)
    channel = await channel_with_posts(sandbox, 3)
    created = (
        await client.post(
            "/archives", json={"channel": channel.username, "target": {"type": "local", "path": "t"}}, headers=ada
        )
    ).json()
    eve = bearer(await register_and_login(client, "eve@example.com"))
    assert (await client.get(f"/archives/{created['id']}", headers=eve)).status_code == 404
    assert (await client.delete(f"/archives/{created['id']}", headers=eve)).status_code == 404
    assert (await client.get("/archives", headers=eve)).json() == []
    assert (await client.get(f"/profiles/{sandbox_phone()}/channels", headers=eve)).status_code == 404
    unknown = await client.post(
        "/archives", json={"channel": unique("nobody_"), "target": {"type": "local", "path": "t"}}, headers=ada
    )
    assert unknown.status_code == 404


async def test_basic_group_to_local_storage(client, app, sandbox):
    """A basic group is read as InputPeerChat, numbered in the profile's own box, service messages included."""
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await connected_profile(client, app, headers)
    me = sandbox.control.user(profile["phone"])
    other = new_contact(sandbox, "Gus")
    group = sandbox.control.create_group(unique("Team"), creator=other, members=[me])
    for n in range(3):
        await sandbox.control.as_user(other).send_message(group, f"group post {n}")

    listed = (await client.get(f"/profiles/{profile['phone']}/channels", headers=headers)).json()
    mine = [c for c in listed if c["id"] == group.id]
    assert [(c["kind"], c["is_member"], c["private"]) for c in mine] == [("group", True, True)]

    created = await client.post(
        "/archives", json={"channel": str(-group.id), "target": {"type": "local", "path": "team"}}, headers=headers
    )
    assert created.status_code == 201, created.text
    done = await wait_for(client, headers, created.json()["id"], {"completed"})
    lines = read_local(archive_root(app), done["location"])
    own = sorted((m for m in me.messages.values() if m.peer_id == group.id), key=lambda m: m.id)
    assert [line["id"] for line in lines] == [m.id for m in own]  # the profile's own ids
    assert lines[0]["service_action"] == "MessageActionChatCreate"
    assert [line["text"] for line in lines[1:]] == ["group post 0", "group post 1", "group post 2"]
    assert {line["sender_id"] for line in lines} == {other.id}
