"""Typed markers for what handlers receive by injection."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.context import AppContext

Ctx: TypeAlias = NamedDependency[AppContext]
DbSession: TypeAlias = NamedDependency[AsyncSession]
