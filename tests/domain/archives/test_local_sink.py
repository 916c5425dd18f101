"""The local archive sink never follows a symlink under the archive root, wherever one is swapped in."""

from __future__ import annotations

import os

import pytest

from app.domain.archives.storage import LocalSink, StorageError

pytestmark = pytest.mark.asyncio


@pytest.fixture
def layout(tmp_path):
    root, outside = tmp_path / "archives", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    return root, outside


async def test_writes_land_in_the_archive_directory(layout):
    root, _ = layout
    sink = LocalSink(root, ("news", "a", "job"), "news/a/job")
    await sink.prepare(0)
    checkpoint = await sink.write_batch(b'{"id":1}\n', 0)
    assert await sink.put_media("1.jpg", b"jpeg") == "media/1.jpg"
    assert (root / "news/a/job/messages.jsonl").read_bytes()[:checkpoint] == b'{"id":1}\n'
    assert (root / "news/a/job/media/1.jpg").read_bytes() == b"jpeg"


@pytest.mark.parametrize("swapped", ["news", "news/job", "news/job/media"])
async def test_a_directory_swapped_for_a_symlink_is_refused(layout, swapped):
    root, outside = layout
    sink = LocalSink(root, ("news", "job"), "news/job")
    await sink.prepare(0)
    await sink.put_media("0.jpg", b"x")
    victim = root / swapped
    os.rename(victim, root / "moved-away")
    victim.symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError):
        await sink.write_batch(b"line\n", 0) if swapped != "news/job/media" else await sink.put_media("1.jpg", b"y")
    with pytest.raises(StorageError):
        await sink.put_media("2.jpg", b"z")
    assert list(outside.iterdir()) == []


async def test_the_messages_file_swapped_for_a_symlink_is_refused(layout):
    root, outside = layout
    sink = LocalSink(root, ("news", "job"), "news/job")
    await sink.prepare(0)
    target = outside / "passwd"
    target.write_bytes(b"root:x:0:0\n")
    (root / "news/job/messages.jsonl").unlink()
    (root / "news/job/messages.jsonl").symlink_to(target)
    with pytest.raises(StorageError):
        await sink.write_batch(b"line\n", 0)
    with pytest.raises(StorageError):
        await sink.prepare(0)
    assert target.read_bytes() == b"root:x:0:0\n"
