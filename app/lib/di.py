"""Dependency injection helpers shared by the domains' `deps.py`."""

from __future__ import annotations

from typing import Any

from litestar.di import Provide


def provide_value(value: object) -> Provide:
    """A dependency built once at start-up: every request receives this same object (resolved once, cached)."""

    async def provide() -> Any:
        return value

    return Provide(provide, use_cache=True)
