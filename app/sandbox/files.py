"""Files as Telegram's API documents them (core.telegram.org/api/files): parts uploaded with upload.saveFilePart /
upload.saveBigFilePart, assembled when an InputFile names them, read back with upload.getFile.

File contents live on disk (`FileStore.root`), never whole in memory: parts are written as they arrive and
getFile reads the requested window. The metadata (`StoredFile`) is part of the persisted state.

Where a file is kept is decided in one place, `FileStore.dc_for`: today every file stays on the uploader's home
DC (the sandbox is one DC); a file DC (FILE_MIGRATE_X, exported authorizations) plugs in there.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .rpc import RpcError

PART_UNIT = 1024  # every part but the last: a multiple of 1 KB ...
MAX_PART_SIZE = 512 * 1024  # ... that divides 512 KB
BIG_FILE_SIZE = 10 * 1024 * 1024  # larger files must be uploaded with saveBigFilePart
MAX_PARTS = 4000  # 2 GB in 512 KB parts (8000 for Premium accounts: 4 GB)
MAX_PARTS_PREMIUM = 8000
DOWNLOAD_UNIT = 4096  # upload.getFile: offset and limit multiples of 4 KB ...
MAX_DOWNLOAD_LIMIT = 1024 * 1024  # ... limit divides 1 MB, and a request stays within one 1 MB window


@dataclass
class StoredFile:
    """A photo or a document (its bytes are in the FileStore under `id`, a document's thumbnail under `id.thumb`)."""

    id: int
    access_hash: int  # a seed: each account sees its own hash (`state.hash_for_viewer`)
    kind: str  # "photo" or "document"
    mime_type: str
    size: int
    date: int
    dc_id: int
    w: int = 0
    h: int = 0
    attributes: list[bytes] = field(default_factory=list)  # serialised DocumentAttribute objects
    thumb_size: int = 0  # bytes of the document's thumbnail (0: none)
    thumb_w: int = 0
    thumb_h: int = 0


@dataclass
class _Upload:
    big: bool
    total_parts: int = 0  # saveBigFilePart says it with every part
    sizes: dict[int, int] = field(default_factory=dict)  # part number -> bytes


class FileStore:
    """The DC's file storage: uploads in progress (per user and client-chosen file id) and stored file contents."""

    def __init__(self, root: Path | None, dc_id: int) -> None:
        self._tmp = None if root is not None else tempfile.TemporaryDirectory(prefix="sandbox-files-")
        self.root = root if root is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "uploads").mkdir(exist_ok=True)
        self.dc_id = dc_id
        self._uploads: dict[tuple[int, int], _Upload] = {}

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def dc_for(self, user_id: int) -> int:
        """The DC a new file of `user_id` is kept on: its home DC (the seam for file DCs)."""
        return self.dc_id

    # Uploads ---------------------------------------------------------------------------------------------------
    def save_part(
        self, user_id: int, file_id: int, part: int, data: bytes, *, total_parts: int | None, premium: bool = False
    ) -> None:
        big = total_parts is not None
        limit = MAX_PARTS_PREMIUM if premium else MAX_PARTS
        if not data:
            raise RpcError(400, "FILE_PART_EMPTY")
        if len(data) > MAX_PART_SIZE:
            raise RpcError(400, "FILE_PART_TOO_BIG")
        if part < 0 or part >= limit:
            raise RpcError(400, "FILE_PART_INVALID")
        if big and (total_parts is None or total_parts <= 0 or total_parts > limit or part >= total_parts):
            raise RpcError(400, "FILE_PARTS_INVALID")
        upload = self._uploads.get((user_id, file_id))
        if upload is None or upload.big != big:
            self._discard(user_id, file_id)
            upload = self._uploads[(user_id, file_id)] = _Upload(big=big, total_parts=total_parts or 0)
        if big and upload.total_parts != total_parts:
            raise RpcError(400, "FILE_PARTS_INVALID")
        if big and part < upload.total_parts - 1:  # a part that is not the last: the upload's part size
            if not _valid_part_size(len(data)):
                raise RpcError(400, "FILE_PART_SIZE_INVALID")
            others = {upload.sizes[n] for n in upload.sizes if n < upload.total_parts - 1}
            if others and others != {len(data)}:
                raise RpcError(400, "FILE_PART_SIZE_CHANGED")
        directory = self._upload_dir(user_id, file_id)
        directory.mkdir(exist_ok=True)
        (directory / str(part)).write_bytes(data)
        upload.sizes[part] = len(data)

    def finish_upload(self, user_id: int, file_id: int, parts: int, *, big: bool, md5: str = "") -> tuple[int, Path]:
        """Assemble the parts an InputFile / InputFileBig names into one blob; returns (size, path)."""
        upload = self._uploads.get((user_id, file_id))
        if upload is None:
            raise RpcError(400, "FILE_PART_0_MISSING")
        if upload.big != big or parts <= 0 or (big and parts != upload.total_parts):
            raise RpcError(400, "FILE_PARTS_INVALID")
        for number in range(parts):
            if number not in upload.sizes:
                raise RpcError(400, f"FILE_PART_{number}_MISSING")
        if max(upload.sizes) >= parts:
            raise RpcError(400, "FILE_PARTS_INVALID")
        part_size = upload.sizes[0]
        if parts > 1 and not _valid_part_size(part_size):
            raise RpcError(400, "FILE_PART_SIZE_INVALID")
        if any(upload.sizes[n] != part_size for n in range(parts - 1)) or upload.sizes[parts - 1] > part_size:
            raise RpcError(400, "FILE_PART_SIZE_CHANGED")
        size = sum(upload.sizes.values())
        if not big and size > BIG_FILE_SIZE:
            raise RpcError(400, "FILE_PARTS_INVALID")  # over 10 MB: saveBigFilePart / inputFileBig only
        blob_id = random.getrandbits(63) or 1
        target = self.path(blob_id)
        digest = hashlib.md5(usedforsecurity=False)
        directory = self._upload_dir(user_id, file_id)
        with target.open("wb") as out:
            for number in range(parts):
                with (directory / str(number)).open("rb") as source:
                    while chunk := source.read(MAX_PART_SIZE):
                        digest.update(chunk)
                        out.write(chunk)
        if md5 and md5.lower() != digest.hexdigest():
            target.unlink(missing_ok=True)
            raise RpcError(400, "MD5_CHECKSUM_INVALID")
        self._discard(user_id, file_id)
        return size, target

    def _discard(self, user_id: int, file_id: int) -> None:
        self._uploads.pop((user_id, file_id), None)
        shutil.rmtree(self._upload_dir(user_id, file_id), ignore_errors=True)

    def _upload_dir(self, user_id: int, file_id: int) -> Path:
        return self.root / "uploads" / f"{user_id}-{file_id & (2**64 - 1)}"

    # Contents --------------------------------------------------------------------------------------------------
    def path(self, name: int | str) -> Path:
        return self.root / str(name)

    def adopt(self, blob: Path, file_id: int, suffix: str = "") -> None:
        """Keep an assembled upload as the contents of file `file_id`."""
        blob.replace(self.path(f"{file_id}{suffix}"))

    def write(self, file_id: int, data: bytes, suffix: str = "") -> None:
        self.path(f"{file_id}{suffix}").write_bytes(data)

    def read(self, file_id: int, offset: int, limit: int, suffix: str = "") -> bytes:
        path = self.path(f"{file_id}{suffix}")
        if not path.exists():
            raise RpcError(400, "FILE_ID_INVALID")
        with path.open("rb") as source:
            source.seek(offset)
            return source.read(limit)

    def head(self, path: Path, size: int = 64 * 1024) -> bytes:
        with path.open("rb") as source:
            return source.read(size)


def check_window(offset: int, limit: int, *, precise: bool) -> None:
    """upload.getFile's documented rules on offset and limit (`precise` relaxes them to 1 KB steps)."""
    unit = PART_UNIT if precise else DOWNLOAD_UNIT
    if offset < 0 or offset % unit:
        raise RpcError(400, "OFFSET_INVALID")
    if limit <= 0 or limit % unit or limit > MAX_DOWNLOAD_LIMIT:
        raise RpcError(400, "LIMIT_INVALID")
    if not precise and (
        MAX_DOWNLOAD_LIMIT % limit or offset // MAX_DOWNLOAD_LIMIT != (offset + limit - 1) // MAX_DOWNLOAD_LIMIT
    ):
        raise RpcError(400, "LIMIT_INVALID")


def _valid_part_size(size: int) -> bool:
    return size % PART_UNIT == 0 and MAX_PART_SIZE % size == 0
