"""Declarative base shared by every table: UUIDv7 primary key, created/updated timestamps, naming convention."""

from __future__ import annotations

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry

Base = UUIDv7AuditBase
metadata = orm_registry.metadata

__all__ = ["Base", "metadata"]
