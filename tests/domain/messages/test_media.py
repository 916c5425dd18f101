"""Media end to end through the HTTP API against the sandbox (the real Telethon client in the service): the one
metadata shape on stored messages, and the download endpoints with Range, Content-Type/Disposition, expired file
references refreshed, the size cap, and precise 4xx."""

from __future__ import annotations

import os
import uuid

import pytest
from telethon import types

from app.sandbox.images import solid_png
from tests.domain.messages.support import connected_profile, conversation_with, eventually, stored_messages

pytestmark = pytest.mark.asyncio

FILE_KEYS = {"type", "mime_type", "size", "file_name", "width", "height", "duration", "has_thumbnail"}


async def _stored(client, s, count: int):
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id), what="conversation")

    async def probe():
        items = await stored_messages(client, s.headers, conversation["id"])
        return items if len(items) >= count else None

    return conversation, await eventually(probe, timeout=15, what=f"{count} stored messages")


async def test_files_download_with_ranges_and_refreshed_references(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    data = os.urandom(1_300_000)  # three 512 KB windows
    c = sandbox.control
    c.send_document(
        s.contact,
        s.me,
        data,
        mime_type="application/pdf",
        file_name="Report 2024 é.pdf",
        caption="the report",
    )
    c.send_photo(s.contact, s.me, solid_png(64, 48))
    c.send_document(
        s.contact,
        s.me,
        b"OggS" + os.urandom(2000),
        mime_type="audio/ogg",
        file_name="voice.ogg",
        attributes=[types.DocumentAttributeAudio(duration=4, voice=True, waveform=b"\x01\x02")],
    )
    await c.as_user(s.contact).send_message(s.me, "just text")
    conversation, items = await _stored(client, s, 4)
    by_type = {m["media_type"]: m for m in items}
    report, photo, voice, text = by_type["document"], by_type["photo"], by_type["voice"], by_type[None]
    for message in (report, photo, voice):
        assert set(message["media"]) >= FILE_KEYS
        assert message["media"]["type"] == message["media_type"]
    assert report["media"]["mime_type"] == "application/pdf"
    assert report["media"]["size"] == len(data)
    assert report["media"]["file_name"] == "Report 2024 é.pdf"
    assert report["media"]["has_thumbnail"] is False
    assert (photo["media"]["width"], photo["media"]["height"]) == (64, 48)
    assert voice["media"]["duration"] == 4
    assert text["media"] is None

    base = f"/conversations/{conversation['id']}/messages"
    whole = await client.get(f"{base}/{report['id']}/media", headers=s.headers)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-type"].startswith("application/pdf")
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["accept-ranges"] == "bytes"
    assert "filename*=UTF-8''Report%202024%20%C3%A9.pdf" in whole.headers["content-disposition"]

    part = await client.get(f"{base}/{report['id']}/media", headers={**s.headers, "Range": "bytes=500000-600000"})
    assert part.status_code == 206
    assert part.content == data[500000:600001]
    assert part.headers["content-range"] == f"bytes 500000-600000/{len(data)}"
    tail = await client.get(f"{base}/{report['id']}/media", headers={**s.headers, "Range": "bytes=-100"})
    assert tail.content == data[-100:]
    past = await client.get(f"{base}/{report['id']}/media", headers={**s.headers, "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"

    # Every file reference handed out expires: the download refetches the message and carries on.
    c.expire_file_references()
    again = await client.get(f"{base}/{photo['id']}/media", headers=s.headers)
    assert again.status_code == 200
    assert again.content == solid_png(64, 48)
    c.expire_file_references()
    after = await client.get(f"{base}/{report['id']}/media", headers={**s.headers, "Range": "bytes=600000-"})
    assert after.content == data[600000:]

    no_file = await client.get(f"{base}/{text['id']}/media", headers=s.headers)
    assert (no_file.status_code, no_file.json()["error"]["code"]) == (404, "media_not_found")
    unknown = await client.get(f"{base}/{uuid.uuid4()}/media", headers=s.headers)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "message_not_found")
    other = await connected_profile(client, app, sandbox, email="eve@example.com")
    foreign = await client.get(f"{base}/{report['id']}/media", headers=other.headers)
    assert foreign.status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"MEDIA_DOWNLOAD_MAX_BYTES": "1000"}], indirect=True)
async def test_a_file_over_the_download_cap_is_refused(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    sandbox.control.send_document(s.contact, s.me, b"x" * 1001, mime_type="text/plain", file_name="big.txt")
    sandbox.control.send_document(s.contact, s.me, b"y" * 1000, mime_type="text/plain", file_name="fits.txt")
    conversation, items = await _stored(client, s, 2)
    by_name = {m["media"]["file_name"]: m for m in items}
    base = f"/conversations/{conversation['id']}/messages"
    refused = await client.get(f"{base}/{by_name['big.txt']['id']}/media", headers=s.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (413, "media_too_large")
    fits = await client.get(f"{base}/{by_name['fits.txt']['id']}/media", headers=s.headers)
    assert fits.content == b"y" * 1000
