"""WebSocket tests share the live-server fixtures of the webhook tests."""

from __future__ import annotations

from tests.domain.webhooks.conftest import http, settings_overrides

__all__ = ["http", "settings_overrides"]
