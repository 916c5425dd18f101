"""Where archives are written: a local directory (possibly a mounted NAS) or an S3 bucket.

Both sinks make a batch durable before the caller commits its checkpoint, and both make re-writing an
uncommitted batch harmless, so a crash anywhere between the write and the commit neither duplicates nor skips:

- local: one `messages.jsonl` per archive, appended and fsynced; the checkpoint is the file's byte length. On
  resume the file is truncated back to the checkpoint, dropping whatever was written after the last commit.
- S3 (objects cannot be appended to): one object per batch, `.../messages/part-<n>.jsonl`, where n is the
  checkpointed part count + 1. A batch written but not committed is written again under the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from app.lib.crypto import SecretBox
from app.lib.errors import ValidationFailed
from app.lib.targets import CheckedTarget, TargetPolicy, TargetRefused, resolve_target

MESSAGES_FILE = "messages.jsonl"


class StorageError(Exception):
    """The target could not be written (transient: the run retries later)."""


class ArchiveSink(Protocol):
    location: str

    async def prepare(self, checkpoint: int) -> None:
        """Drop anything written after `checkpoint` by an interrupted run."""

    async def write_batch(self, lines: bytes, checkpoint: int) -> int:
        """Durably write one batch after `checkpoint`; returns the new checkpoint."""

    async def put_media(self, name: str, data: bytes) -> str:
        """Store one media file; returns its location relative to the archive."""


def safe_relative_path(raw: str) -> PurePosixPath:
    """A relative path with no `..`; absolute paths and escapes are a 422."""
    text = raw.strip().replace("\\", "/")
    path = PurePosixPath(text)
    if (
        not text
        or not path.parts  # "." names the root itself, which holds every archive
        or path.is_absolute()
        or text.startswith("~")
        or ".." in path.parts
        or ":" in path.parts[0]
        or "\x00" in text
    ):
        raise ValidationFailed(
            "target.path must be a relative directory inside the archive root (not '.', no absolute paths, no '..')",
            code="invalid_target_path",
            details=[{"field": "target.path"}],
        )
    return path


def local_directory(root: Path, relative: str) -> Path:
    """The directory `relative` under `root`, refusing anything that resolves outside it (symlinks included)."""
    base = root.resolve()
    directory = (base / safe_relative_path(relative)).resolve()
    if not directory.is_relative_to(base):
        raise ValidationFailed(
            "target.path escapes the archive root", code="invalid_target_path", details=[{"field": "target.path"}]
        )
    return directory


class LocalSink:
    """Writes under `root/<parts...>`, reaching the directory from the root one component at a time.

    Every open goes through directory descriptors with O_NOFOLLOW, so a symlink swapped in anywhere under the
    root after the target was checked (even at the archive's own directory) is refused instead of followed.
    """

    def __init__(self, root: Path, parts: tuple[str, ...], location: str) -> None:
        self.root = root.resolve()
        self.parts = parts
        self.location = location

    def _open_directory(self, parts: tuple[str, ...]) -> int:
        """A descriptor of root/parts, creating missing directories and following no symlink below the root."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o750, dir_fd=fd)
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                raise StorageError(f"{self.location}: {part!r} is a symlink or not a directory; refusing it") from None
            finally:
                os.close(fd)
            fd = child
        return fd

    def _open_file(self, directory: int, name: str, flags: int) -> int:
        try:
            return os.open(name, flags | os.O_NOFOLLOW, 0o640, dir_fd=directory)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError(f"{self.location}/{name} is a symlink; refusing it") from None
            raise

    async def prepare(self, checkpoint: int) -> None:
        await asyncio.to_thread(self._prepare, checkpoint)

    def _prepare(self, checkpoint: int) -> None:
        directory = self._open_directory(self.parts)
        try:
            fd = self._open_file(directory, MESSAGES_FILE, os.O_RDWR | os.O_CREAT)
            try:
                size = os.fstat(fd).st_size
                if size < checkpoint:
                    raise StorageError(
                        f"{self.location}/{MESSAGES_FILE} is shorter than its checkpoint (was it changed?)"
                    )
                if size > checkpoint:
                    os.ftruncate(fd, checkpoint)
                    os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            os.close(directory)

    async def write_batch(self, lines: bytes, checkpoint: int) -> int:
        return await asyncio.to_thread(self._write, lines, checkpoint)

    def _write(self, lines: bytes, checkpoint: int) -> int:
        directory = self._open_directory(self.parts)
        try:
            fd = self._open_file(directory, MESSAGES_FILE, os.O_WRONLY | os.O_CREAT)
        finally:
            os.close(directory)
        try:
            os.lseek(fd, checkpoint, os.SEEK_SET)
            view = memoryview(lines)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.ftruncate(fd, checkpoint + len(lines))
            os.fsync(fd)
        finally:
            os.close(fd)
        return checkpoint + len(lines)

    async def put_media(self, name: str, data: bytes) -> str:
        def write() -> None:
            media = self._open_directory((*self.parts, "media"))
            try:
                temporary = f".{name}.tmp"
                fd = self._open_file(media, temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
                os.replace(temporary, name, src_dir_fd=media, dst_dir_fd=media)
            finally:
                os.close(media)

        await asyncio.to_thread(write)
        return f"media/{name}"


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str | None

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


S3_CONNECT_TIMEOUT_S = 5.0
S3_READ_TIMEOUT_S = 30.0


def s3_client(
    location: S3Location, credentials: dict[str, str | None], target: CheckedTarget | None, *, attempts: int = 4
) -> Any:
    """A boto3 client for `location`; with an endpoint_url, every request goes to `target`'s checked addresses."""
    import boto3  # only processes that write to S3 pay for importing it
    import botocore.session
    from botocore.config import Config

    from app.domain.archives.s3_pinning import pin_client

    if location.endpoint_url and target is None:
        raise ValueError("an S3 endpoint_url is connected to only at an address that was checked")
    aws = botocore.session.get_session()
    client = boto3.session.Session(botocore_session=aws).client(
        "s3",
        endpoint_url=location.endpoint_url,
        region_name=location.region or "us-east-1",
        aws_access_key_id=credentials.get("access_key_id"),
        aws_secret_access_key=credentials.get("secret_access_key"),
        config=Config(
            connect_timeout=S3_CONNECT_TIMEOUT_S,
            read_timeout=S3_READ_TIMEOUT_S,
            retries={"max_attempts": attempts, "mode": "standard"},
            # Path style keeps every request on the endpoint's own (checked) name, never `<bucket>.<name>`.
            s3={"addressing_style": "path"} if location.endpoint_url else None,
        ),
    )
    if location.endpoint_url and target is not None:
        pin_client(
            client,
            target,
            ca_bundle=aws.get_config_variable("ca_bundle"),
            connect_timeout=S3_CONNECT_TIMEOUT_S,
            read_timeout=S3_READ_TIMEOUT_S,
        )
    return client


async def check_endpoint(location: S3Location, policy: TargetPolicy) -> CheckedTarget | None:
    """The endpoint_url's checked addresses (None for AWS itself); TargetRefused when not http(s) or, when the
    policy says so, not public (the webhooks' `WEBHOOK_ALLOW_PRIVATE_TARGETS`).

    Runs at creation and before every run; the client of that run then connects only to these addresses.
    """
    if location.endpoint_url:
        return await resolve_target(location.endpoint_url, policy)
    return None


async def check_bucket(location: S3Location, credentials: dict[str, str | None], policy: TargetPolicy) -> None:
    """Refuse a target the credentials cannot reach, before the archive is stored (422).

    Every failure to reach the bucket (refused, timed out, unknown host, denied, no such bucket) answers the
    same, so the answer tells nothing about which internal ports are open.
    """
    try:
        target = await check_endpoint(location, policy)
    except TargetRefused as exc:
        raise ValidationFailed(
            f"target.endpoint_url: {exc}", code="invalid_s3_endpoint", details=[{"field": "target.endpoint_url"}]
        ) from None

    def head() -> None:
        s3_client(location, credentials, target, attempts=1).head_bucket(Bucket=location.bucket)

    try:
        await asyncio.to_thread(head)
    except (BotoCoreError, ClientError, ValueError):
        raise ValidationFailed(
            "the S3 bucket is not reachable with these settings", code="s3_unreachable", details=[{"field": "target"}]
        ) from None


class S3Sink:
    def __init__(
        self,
        location: S3Location,
        credentials: dict[str, str | None],
        archive_key: str,
        target: CheckedTarget | None,
    ) -> None:
        """`target`: the endpoint's addresses as `check_endpoint` checked them for this run."""
        self.s3 = location
        self.client = s3_client(location, credentials, target)
        self.archive_key = archive_key
        self.location = f"s3://{location.bucket}/{location.key(archive_key)}"

    async def prepare(self, checkpoint: int) -> None:
        return None  # an uncommitted part is overwritten under the same key

    async def _put(self, key: str, body: bytes, content_type: str) -> None:
        def put() -> None:
            self.client.put_object(Bucket=self.s3.bucket, Key=key, Body=body, ContentType=content_type)

        try:
            await asyncio.to_thread(put)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 write failed: {type(exc).__name__}") from None

    async def write_batch(self, lines: bytes, checkpoint: int) -> int:
        part = checkpoint + 1
        key = self.s3.key(self.archive_key, "messages", f"part-{part:08d}.jsonl")
        await self._put(key, lines, "application/x-ndjson")
        return part

    async def put_media(self, name: str, data: bytes) -> str:
        await self._put(self.s3.key(self.archive_key, "media", name), data, "application/octet-stream")
        return f"media/{name}"


def encode_lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in records)


def s3_location(target: dict[str, Any]) -> S3Location:
    return S3Location(
        bucket=str(target["bucket"]),
        prefix=str(target.get("prefix") or ""),
        endpoint_url=target.get("endpoint_url"),
        region=target.get("region"),
    )


def decrypt_credentials(box: SecretBox, encrypted: str | None) -> dict[str, str | None]:
    if not encrypted:
        return {}
    with contextlib.suppress(ValueError):
        return dict(json.loads(box.decrypt(encrypted)))
    return {}
