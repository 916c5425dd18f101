"""Channel posts with files end to end: the post's media metadata (and its `message.received` event's) in the one
shape, and `GET /channels/{id}/messages/{message_id}/media` streaming the file through the assigned profile."""

from __future__ import annotations

import os
import uuid

import pytest

from app.sandbox.images import solid_png
from tests.domain.channels.test_channels import all_posts, events_of, new_channel, profiles_of
from tests.domain.messages.support import eventually

pytestmark = pytest.mark.asyncio


async def test_a_channel_photo_and_document_download(client, app, sandbox):
    headers, _ = await profiles_of(client, app, "media@example.com", 1)
    channel, owner, name = new_channel(sandbox)
    added = (await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)).json()
    data = os.urandom(700_000)
    sandbox.control.send_photo(owner, channel, solid_png(120, 80), caption="a chart")
    sandbox.control.send_document(owner, channel, data, mime_type="application/zip", file_name="data.zip")

    async def both():
        posts = await all_posts(client, headers, added["id"])
        return posts if len(posts) == 2 else None

    posts = {p["media_type"]: p for p in await eventually(both, what="two posts stored")}
    photo, document = posts["photo"], posts["document"]
    assert (photo["media"]["width"], photo["media"]["height"], photo["text"]) == (120, 80, "a chart")
    assert (document["media"]["file_name"], document["media"]["size"]) == ("data.zip", len(data))
    received = [e for e in await events_of(app, "message.received") if e.get("channel_id") == added["id"]]
    assert {e["media"]["type"] for e in received} == {"photo", "document"}

    base = f"/channels/{added['id']}/messages"
    got = await client.get(f"{base}/{document['id']}/media", headers=headers)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"].startswith("application/zip")
    assert 'filename="data.zip"' in got.headers["content-disposition"]
    window = await client.get(f"{base}/{photo['id']}/media", headers={**headers, "Range": "bytes=0-15"})
    assert window.status_code == 206
    assert window.content == solid_png(120, 80)[:16]
    missing = await client.get(f"{base}/{uuid.uuid4()}/media", headers=headers)
    assert missing.status_code == 404
    other_headers, _ = await profiles_of(client, app, "other@example.com", 1)
    assert (await client.get(f"{base}/{document['id']}/media", headers=other_headers)).status_code == 404
