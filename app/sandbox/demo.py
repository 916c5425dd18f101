"""Demo world and traffic (filled in later)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import SandboxDC


def seed_demo_world(dc: SandboxDC) -> None:
    pass


class DemoTraffic:
    def __init__(self, dc: SandboxDC, interval: float) -> None:
        self.dc = dc

    def start(self) -> None:
        pass

    def cancel(self) -> None:
        pass

    async def stop(self) -> None:
        pass
