"""TELEGRAM_DC accepts a host name (a compose service such as `sandbox:4430`): sessions need its IP address."""

from __future__ import annotations

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from app.telegram.connector import DataCenter


def test_a_host_name_is_resolved_to_the_address_a_session_can_store():
    dc = DataCenter.parse("localhost:4430:2")
    assert (dc.host, dc.port, dc.dc_id) == ("127.0.0.1", 4430, 2)
    session = StringSession()
    session.set_dc(dc.dc_id, dc.host, dc.port)
    session.auth_key = AuthKey(bytes(256))
    restored = StringSession(session.save())  # a host name here raised ValueError when the session was saved
    assert (restored.server_address, restored.port) == ("127.0.0.1", 4430)


def test_an_unresolvable_host_is_named():
    with pytest.raises(ValueError, match="does not resolve"):
        DataCenter.parse("no-such-host.invalid:4430")
