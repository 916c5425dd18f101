"""Routed operations are declared once (`@routed_operation`); the bus handlers and forwarders follow from it."""

from __future__ import annotations

from typing import get_type_hints

import msgspec

from app.telegram.commands import ProfileCommands
from app.telegram.routed import ROUTED, RoutedProfileCommands


def test_every_operation_the_api_routes_is_declared_routed() -> None:
    assert set(ROUTED) == {
        "resolve_peer",
        "dialogs",
        "unread",
        "history",
        "recent_messages",
        "send_message",
        "read",
        "join_channel",
        "leave_channel",
        "channel_messages",
        "readable_channels",
        "resolve_channel",
        "media_file",
        "media_chunk",
        "contacts",
        "add_contact",
        "remove_contact",
        "edit_message",
        "delete_messages",
    }
    # Exports hand back Telethon's messages for media downloads: they run where the profile is connected.
    assert "history_page" not in ROUTED
    assert "history_media" not in ROUTED


def test_routed_operations_travel_over_the_bus_and_forward() -> None:
    for name in ROUTED:
        hints = get_type_hints(getattr(ProfileCommands, name))
        for value in hints.values():
            msgspec.json.schema(value)  # raises for a type the bus could not carry
        forwarder = getattr(RoutedProfileCommands, name)
        assert forwarder is not getattr(ProfileCommands, name)
        assert forwarder.__wrapped__ is getattr(ProfileCommands, name)
