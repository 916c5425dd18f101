"""Archive targets by type: each type maps to one implementation; a type without one is an error, never S3.

A target type is three things: its request body (a tagged msgspec Struct in `schemas.py`, listed in
`CreateArchive.target`), how it is stored and checked when the archive is created (`prepare`), and the sink a
run writes through (`open_sink`, see `storage.py`). A new target type is a class here, registered in `TARGETS`,
plus its body in `schemas.py`; `tests/domain/archives/test_targets.py` checks that the two lists agree.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from uuid import UUID

import msgspec

from app.domain.archives.schemas import LocalTarget, S3Target
from app.domain.archives.storage import (
    ArchiveSink,
    LocalSink,
    S3Location,
    S3Sink,
    StorageError,
    check_bucket,
    check_endpoint,
    decrypt_credentials,
    local_directory,
    s3_location,
    safe_relative_path,
)
from app.lib.crypto import SecretBox
from app.lib.errors import ValidationFailed
from app.lib.targets import TargetPolicy, TargetRefused


class UnknownTargetType(StorageError):
    """A stored archive names a target type this version has no implementation for."""


@dataclass(frozen=True, slots=True)
class PreparedTarget:
    stored: dict[str, Any]  # the `archives.target` column (no secrets)
    secret: str | None  # encrypted credentials, or None
    check: Callable[[TargetPolicy], Awaitable[None]] | None  # reached once a profile can read the channel


@dataclass(frozen=True, slots=True)
class SinkContext:
    archive_root: Path
    box: SecretBox
    policy: TargetPolicy


class ArchiveTarget(Protocol):
    target_type: str

    @property
    def body(self) -> type[msgspec.Struct]:
        """The request body of this type (a tagged Struct of `CreateArchive.target`)."""

    def prepare(self, body: Any, box: SecretBox, archive_root: Path) -> PreparedTarget:
        """Validate the request's target (422 when it is wrong) and give its stored form."""

    async def open_sink(
        self, archive_id: UUID, stored: Mapping[str, Any], secret: str | None, context: SinkContext
    ) -> ArchiveSink:
        """The sink a run writes through (checked again now: the configuration may have changed since)."""

    def location(self, archive_id: UUID, stored: Mapping[str, Any]) -> str:
        """Where the archive's files are, as shown to the user."""


class LocalDirectoryTarget:
    target_type = "local"
    body = LocalTarget

    def prepare(self, body: LocalTarget, box: SecretBox, archive_root: Path) -> PreparedTarget:
        local_directory(archive_root, body.path)  # validates: 422 on absolute paths and escapes
        return PreparedTarget({"type": self.target_type, "path": str(safe_relative_path(body.path))}, None, None)

    async def open_sink(
        self, archive_id: UUID, stored: Mapping[str, Any], secret: str | None, context: SinkContext
    ) -> ArchiveSink:
        relative = str(stored["path"])
        local_directory(context.archive_root, relative)  # still inside the root as configured now
        parts = (*safe_relative_path(relative).parts, str(archive_id))
        return LocalSink(context.archive_root, parts, f"{relative}/{archive_id}")

    def location(self, archive_id: UUID, stored: Mapping[str, Any]) -> str:
        return str(PurePosixPath(str(stored["path"])) / str(archive_id))


class S3BucketTarget:
    target_type = "s3"
    body = S3Target

    def prepare(self, body: S3Target, box: SecretBox, archive_root: Path) -> PreparedTarget:
        if bool(body.access_key_id) != bool(body.secret_access_key):
            raise ValidationFailed(
                "give both access_key_id and secret_access_key, or neither", details=[{"field": "target"}]
            )
        location = S3Location(body.bucket, body.prefix.strip("/"), body.endpoint_url, body.region)
        credentials = {"access_key_id": body.access_key_id, "secret_access_key": body.secret_access_key}
        stored = {
            "type": self.target_type,
            "bucket": body.bucket,
            "prefix": location.prefix,
            "endpoint_url": body.endpoint_url,
            "region": body.region,
        }
        secret = box.encrypt(json.dumps(credentials)) if body.access_key_id else None

        async def check(policy: TargetPolicy) -> None:
            await check_bucket(location, credentials, policy)

        return PreparedTarget(stored, secret, check)

    async def open_sink(
        self, archive_id: UUID, stored: Mapping[str, Any], secret: str | None, context: SinkContext
    ) -> ArchiveSink:
        location = s3_location(dict(stored))
        try:  # the endpoint's name may resolve elsewhere by now; this run connects only to what is checked here
            checked = await check_endpoint(location, context.policy)
        except TargetRefused as exc:
            raise StorageError(f"target.endpoint_url refused: {exc}") from None
        return S3Sink(location, decrypt_credentials(context.box, secret), str(archive_id), checked)

    def location(self, archive_id: UUID, stored: Mapping[str, Any]) -> str:
        prefix = "/".join(p for p in (stored.get("prefix") or "", str(archive_id)) if p)
        return f"s3://{stored['bucket']}/{prefix}"


TARGETS: dict[str, ArchiveTarget] = {
    target.target_type: target for target in (LocalDirectoryTarget(), S3BucketTarget())
}


def target_of(target_type: str) -> ArchiveTarget:
    """The implementation of `target_type`; `UnknownTargetType` when there is none."""
    try:
        return TARGETS[target_type]
    except KeyError:
        known = ", ".join(sorted(TARGETS))
        raise UnknownTargetType(f"unknown archive target type {target_type!r} (known: {known})") from None


def target_for_body(body: msgspec.Struct) -> ArchiveTarget:
    """The implementation of a request's target body (a body type without one is a 422, not a default)."""
    for target in TARGETS.values():
        if isinstance(body, target.body):
            return target
    raise ValidationFailed(f"unsupported archive target type {type(body).__name__}", details=[{"field": "target.type"}])
