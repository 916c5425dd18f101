"""What the archives endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litestar.di import Provide

from app.lib.crypto import SecretBox
from app.lib.di import provide_value
from app.lib.targets import TargetPolicy
from app.telegram.commands import ProfileCommands


@dataclass(frozen=True, slots=True)
class ArchiveSetup:
    """What creating an archive needs: Telegram to find the channel, and where and how targets are stored."""

    commands: ProfileCommands
    box: SecretBox  # S3 credentials are stored sealed
    local_root: Path  # ARCHIVE_LOCAL_ROOT
    targets: TargetPolicy  # the private-target policy of S3 endpoints


def dependencies(setup: ArchiveSetup) -> dict[str, Provide]:
    return {"archive_setup": provide_value(setup)}
