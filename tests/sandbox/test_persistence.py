"""A sandbox restarted on the same state file keeps keys, authorizations, users, messages and channels."""

from __future__ import annotations

from pathlib import Path

from telethon import TelegramClient
from telethon.crypto import rsa
from telethon.sessions import StringSession

from app.sandbox import SandboxDC

from .conftest import API_HASH, API_ID


async def test_restart_keeps_state_and_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    first = SandboxDC(path)
    port = await first.start()
    rsa.add_key(first.public_key_pem, old=False)
    alice = first.control.create_user(phone="15550001", first_name="Alice", username="alice")
    bob = first.control.create_user(phone="15550002", first_name="Bob", username="bob")
    news = first.control.create_channel(title="News", username="news", creator=bob, members=[alice])
    await first.control.as_user(bob).post(news, "persisted post")
    secret = first.control.create_channel(title="Secret", creator=bob, private=True)
    link = first.control.export_invite(secret, request_needed=True)
    first.actions.request_join(alice, secret)

    client = TelegramClient(StringSession(), API_ID, API_HASH)
    client.session.set_dc(2, "127.0.0.1", port)
    await client.connect()
    await client.send_code_request("+15550001")
    await client.sign_in("+15550001", first.control.last_code("15550001"))
    await client.send_message("bob", "before restart")
    saved = client.session.save()
    await client.disconnect()
    await first.stop()
    assert path.exists()

    second = SandboxDC(path)
    await second.start(port=port)
    try:
        assert second.control.user("alice").id == alice.id
        assert len(second.control.authorizations(alice)) == 1
        again = TelegramClient(StringSession(saved), API_ID, API_HASH)
        await again.connect()
        me = await again.get_me()
        assert me is not None
        assert me.id == alice.id
        assert [m.message for m in await again.get_messages("bob", limit=5)] == ["before restart"]
        assert [m.message for m in await again.get_messages("news", limit=5)] == ["persisted post"]
        assert second.control.counters.requests["auth.SendCodeRequest"] == 0
        assert second.state.invites[link.rsplit("+", 1)[1]].request_needed  # invites and join requests persist
        assert second.control.join_requests(secret.id) == [alice.id]
        await again.disconnect()
    finally:
        await second.stop()
