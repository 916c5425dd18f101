"""Media as Telegram documents it, driven by the real Telethon client: uploads in parts (small and big files),
photos and documents with attributes, albums, upload.getFile's offset/limit rules, expiring file references."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator

import pytest
from telethon import errors, events, functions, types, utils
from telethon.tl import types as tl_types

from app.sandbox import SandboxDC
from app.sandbox.images import solid_png

from .conftest import wait_for


@contextlib.contextmanager
def rpc_error(message: str) -> Iterator[None]:
    """The call fails with Telegram's error `message`: Telethon's class for it (the message itself when Telethon
    has no class of its own)."""
    expected = errors.rpc_message_to_error(tl_types.RpcError(400, message), request=None)
    with pytest.raises(errors.RPCError) as caught:
        yield
    assert type(caught.value) is type(expected)
    assert caught.value.message == expected.message


async def test_photo_to_a_private_chat_arrives_with_its_size_and_downloads(
    dc: SandboxDC, login_as, alice, bob, tmp_path
) -> None:
    sender, receiver = await login_as(alice), await login_as(bob)
    received: list = []

    async def on_message(event) -> None:
        received.append(event.message)

    receiver.add_event_handler(on_message, events.NewMessage)
    image = solid_png(640, 480)
    (tmp_path / "p.png").write_bytes(image)
    sent = await sender.send_file("bob", tmp_path / "p.png", caption="a photo")
    assert isinstance(sent.media, types.MessageMediaPhoto)
    size = sent.media.photo.sizes[-1]
    assert (size.type, size.w, size.h, size.size) == ("x", 640, 480, len(image))
    assert sent.message == "a photo"
    await wait_for(lambda: bool(received))
    theirs = received[0]
    assert theirs.media.photo.id == sent.media.photo.id
    assert theirs.media.photo.access_hash != sent.media.photo.access_hash  # hashes are per account
    assert await receiver.download_media(theirs, file=bytes) == image


async def test_documents_keep_their_attributes(dc: SandboxDC, login_as, alice, bob, tmp_path) -> None:
    client = await login_as(alice)
    voice = await client.send_file(
        "bob",
        b"OggS" + os.urandom(5000),
        voice_note=True,
        attributes=[types.DocumentAttributeAudio(duration=7, voice=True, waveform=b"\x01\x02\x03")],
        mime_type="audio/ogg",
    )
    audio = next(a for a in voice.media.document.attributes if isinstance(a, types.DocumentAttributeAudio))
    assert (audio.voice, audio.duration, audio.waveform) == (True, 7, b"\x01\x02\x03")
    assert voice.media.voice
    video = await client.send_file(
        "bob",
        os.urandom(9000),
        file_name="clip.mp4",
        mime_type="video/mp4",
        attributes=[types.DocumentAttributeVideo(duration=3.0, w=320, h=240)],
        thumb=solid_png(90, 60),
    )
    attribute = next(a for a in video.media.document.attributes if isinstance(a, types.DocumentAttributeVideo))
    assert (attribute.w, attribute.h) == (320, 240)
    assert video.media.video
    assert video.media.document.thumbs[0].w == 90
    assert await client.download_media(video, file=bytes, thumb=-1) == solid_png(90, 60)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 hello")
    report = await client.send_file("bob", tmp_path / "report.pdf", force_document=True)
    names = [a.file_name for a in report.media.document.attributes if isinstance(a, types.DocumentAttributeFilename)]
    assert names == ["report.pdf"]
    assert report.media.document.size == 14


async def test_a_big_file_goes_up_in_big_parts_and_down_in_windows(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    data = os.urandom(11 * 1024 * 1024 + 12345)  # over 10 MB: upload.saveBigFilePart
    part_size = int(utils.get_appropriated_part_size(len(data)) * 1024)
    sent = await client.send_file("bob", data, force_document=True)
    assert dc.counters.requests["upload.SaveBigFilePartRequest"] == -(-len(data) // part_size)
    assert sent.media.document.size == len(data)
    got = await client.download_media(sent, file=bytes)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


async def test_part_size_rules(dc: SandboxDC, login_as, alice) -> None:
    client = await login_as(alice)
    with rpc_error("FILE_PART_TOO_BIG"):
        await client(functions.upload.SaveFilePartRequest(1, 0, b"x" * (512 * 1024 + 1024)))
    with rpc_error("FILE_PART_EMPTY"):
        await client(functions.upload.SaveFilePartRequest(1, 0, b""))
    # 3000 bytes is not a valid part size for a part that is not the last one.
    await client(functions.upload.SaveFilePartRequest(2, 0, b"a" * 3000))
    await client(functions.upload.SaveFilePartRequest(2, 1, b"b" * 100))
    uploaded = types.InputMediaUploadedDocument(types.InputFile(2, 2, "x.bin", ""), "application/octet-stream", [])
    with rpc_error("FILE_PART_SIZE_INVALID"):
        await client(functions.messages.SendMediaRequest("me", uploaded, ""))
    await client(functions.upload.SaveFilePartRequest(3, 0, b"a" * 1024))
    missing = types.InputMediaUploadedDocument(types.InputFile(3, 2, "x.bin", ""), "application/octet-stream", [])
    with rpc_error("FILE_PART_1_MISSING"):
        await client(functions.messages.SendMediaRequest("me", missing, ""))
    await client(functions.upload.SaveFilePartRequest(4, 0, b"a" * 1024))
    wrong_md5 = types.InputMediaUploadedDocument(types.InputFile(4, 1, "x.bin", "0" * 32), "text/plain", [])
    with rpc_error("MD5_CHECKSUM_INVALID"):
        await client(functions.messages.SendMediaRequest("me", wrong_md5, ""))
    with rpc_error("FILE_PARTS_INVALID"):
        await client(functions.upload.SaveBigFilePartRequest(5, 3, 3, b"a" * 1024))
    await client(functions.upload.SaveFilePartRequest(6, 0, b"GIF89a"))
    not_image = types.InputMediaUploadedPhoto(types.InputFile(6, 1, "x.png", ""))
    with rpc_error("IMAGE_PROCESS_FAILED"):
        await client(functions.messages.SendMediaRequest("me", not_image, ""))


async def test_get_file_offset_and_limit_rules(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    data = os.urandom(3 * 1024 * 1024)
    sent = await client.send_file("bob", data, file_name="d.bin", force_document=True)
    doc = sent.media.document
    location = types.InputDocumentFileLocation(doc.id, doc.access_hash, doc.file_reference, "")
    part = await client(functions.upload.GetFileRequest(location, offset=1024 * 1024, limit=1024 * 1024))
    assert part.bytes == data[1024 * 1024 : 2 * 1024 * 1024]
    for offset, limit, error in [
        (1000, 4096, "OFFSET_INVALID"),
        (0, 5000, "LIMIT_INVALID"),
        (0, 2 * 1024 * 1024, "LIMIT_INVALID"),
        (0, 12288, "LIMIT_INVALID"),  # 1 MB is not a multiple of 12 KB
        (1024 * 1024 - 4096, 8192, "LIMIT_INVALID"),  # crosses a 1 MB boundary
    ]:
        with rpc_error(error):
            await client(functions.upload.GetFileRequest(location, offset=offset, limit=limit))
    precise = await client(functions.upload.GetFileRequest(location, offset=1024, limit=3072, precise=True))
    assert precise.bytes == data[1024:4096]
    tail = await client(functions.upload.GetFileRequest(location, offset=3 * 1024 * 1024, limit=4096))
    assert tail.bytes == b""
    wrong_hash = types.InputDocumentFileLocation(doc.id, doc.access_hash + 1, doc.file_reference, "")
    with rpc_error("FILE_ID_INVALID"):
        await client(functions.upload.GetFileRequest(wrong_hash, offset=0, limit=4096))
    forged = types.InputDocumentFileLocation(doc.id, doc.access_hash, b"\x00" * 29, "")
    with rpc_error("FILE_REFERENCE_INVALID"):
        await client(functions.upload.GetFileRequest(forged, offset=0, limit=4096))


async def test_file_references_expire_and_refetching_the_message_refreshes_them(
    dc: SandboxDC, login_as, alice, bob
) -> None:
    client = await login_as(alice)
    sent = await client.send_file("bob", b"hello file" * 100, file_name="h.txt", force_document=True)
    doc = sent.media.document
    old = types.InputDocumentFileLocation(doc.id, doc.access_hash, doc.file_reference, "")
    dc.control.expire_file_references()
    with pytest.raises(errors.FileReferenceExpiredError):
        await client(functions.upload.GetFileRequest(old, offset=0, limit=4096))
    with pytest.raises(errors.FileReferenceExpiredError):
        await client(
            functions.messages.SendMediaRequest(
                "bob", types.InputMediaDocument(types.InputDocument(doc.id, doc.access_hash, doc.file_reference)), ""
            )
        )
    fresh = await client.get_messages("bob", ids=sent.id)
    assert fresh.media.document.file_reference != doc.file_reference
    assert await client.download_media(fresh, file=bytes) == b"hello file" * 100
    # Mid-download expiry: Telethon refetches the message itself (documents) and carries on.
    dc.control.expire_file_references()
    refetches = dc.counters.requests["messages.GetMessagesRequest"]
    assert await client.download_media(fresh, file=bytes) == b"hello file" * 100
    assert dc.counters.requests["messages.GetMessagesRequest"] == refetches + 1


async def test_albums_share_a_grouped_id_in_groups_and_channels(dc: SandboxDC, login_as, alice, bob, tmp_path) -> None:
    paths = []
    for side in (10, 20, 30):
        paths.append(tmp_path / f"{side}.png")
        paths[-1].write_bytes(solid_png(side, side))
    dc.control.create_channel(title="News", username="news", creator=alice, broadcast=True)
    team = dc.control.create_group("Team", creator=alice, members=[bob])
    client = await login_as(alice)
    await client.get_dialogs()
    for target in ("news", -team.id):
        album = await client.send_file(target, paths, caption=["a", "b", "c"])
        assert len(album) == 3
        assert len({m.grouped_id for m in album}) == 1
        assert album[0].grouped_id
        assert [m.message for m in album] == ["a", "b", "c"]
        assert [m.media.photo.sizes[-1].w for m in album] == [10, 20, 30]
    bob_client = await login_as(bob)
    seen = await bob_client.get_messages(-team.id, limit=3)
    assert {m.media.photo.sizes[-1].w for m in seen} == {10, 20, 30}
    assert await bob_client.download_media(seen[0], file=bytes) == solid_png(30, 30)
    raw = types.InputSingleMedia(types.InputMediaUploadedPhoto(await client.upload_file(solid_png(5, 5))), "", 7)
    with rpc_error("MEDIA_INVALID"):
        await client(functions.messages.SendMultiMediaRequest("news", [raw]))


async def test_control_api_sends_photos_and_documents(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    dc.control.send_photo(bob, alice, solid_png(50, 40), caption="from bob")
    dc.control.send_document(bob, alice, b"%PDF", mime_type="application/pdf", file_name="x.pdf")
    messages = await client.get_messages("bob", limit=2)
    assert messages[0].file.name == "x.pdf"
    assert messages[0].file.mime_type == "application/pdf"
    assert messages[1].photo is not None
    assert messages[1].message == "from bob"
    assert await client.download_media(messages[1], file=bytes) == solid_png(50, 40)
