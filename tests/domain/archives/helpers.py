"""Shared steps of the archive tests: sandbox channels, waiting for runs, reading what was exported."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import boto3
import httpx

from app.sandbox import SandboxDC
from app.sandbox.state import Channel

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


async def channel_with_posts(
    dc: SandboxDC, count: int, *, private: bool = False, members: tuple[str, ...] = ()
) -> Channel:
    """A channel by a fresh creator with `count` posts, one edited and one deleted (Telegram returns neither twice)."""
    control = dc.control
    creator = control.create_user(phone=f"1555{next(_names):07d}", first_name="Creator")
    name = unique("arch_chan_")
    channel = control.create_channel(
        title=name.title(), username=None if private else name, creator=creator, broadcast=True, private=private
    )
    for member in members:
        control.add_member(channel, member.lstrip("+"))
    actor = control.as_user(creator)
    ids = [await actor.post(channel, f"post {i} of {name}") for i in range(count)]
    if count >= 3:
        await actor.edit_message(channel, ids[1], f"post 1 of {name} (edited)")
        await actor.delete_messages(channel, [ids[2]])
    return channel


async def post_more(dc: SandboxDC, channel: Channel, texts: list[str]) -> list[int]:
    actor = dc.control.as_user(channel.creator_id)
    return [await actor.post(channel, text) for text in texts]


def expected(channel: Channel) -> list[tuple[int, str, bool]]:
    """(id, text, edited) of every message the channel holds now, oldest first."""
    return [(m.id, m.text, m.edit_date is not None) for m in sorted(channel.messages.values(), key=lambda m: m.id)]


def as_tuples(lines: list[dict[str, Any]]) -> list[tuple[int, str, bool]]:
    """What Telegram still returns; lines of deleted messages come from the messaging domain's stored rows."""
    return [(line["id"], line["text"], line["is_edited"]) for line in lines if not line["is_deleted"]]


async def wait_for(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    archive_id: str,
    statuses: set[str],
    timeout: float = 20.0,
    *,
    runs: int | None = None,
) -> dict[str, Any]:
    """Poll the archive until its status is one of `statuses` (and, given `runs`, that many runs have ended)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await client.get(f"/archives/{archive_id}", headers=headers)).json()
        if body.get("status") in statuses and (runs is None or body["progress"]["runs"] >= runs):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"archive never reached {statuses}: {body}")
        await asyncio.sleep(0.05)


def read_local(root: Path, location: str) -> list[dict[str, Any]]:
    text = (root / location / "messages.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def read_s3(endpoint: str, bucket: str, prefix: str) -> list[dict[str, Any]]:
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    keys = sorted(item["Key"] for item in listing.get("Contents", []))
    lines: list[dict[str, Any]] = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        lines.extend(json.loads(line) for line in body.splitlines())
    return lines
