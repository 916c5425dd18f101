"""Account states Telegram imposes, modelled as states (not injected errors): frozen, spam-limited, and
recipients who accept messages from strangers only when paid for or from Premium users."""

from __future__ import annotations

import pytest
from telethon import errors, functions, types

from app.sandbox import SandboxDC


def config_values(config: types.help.AppConfig) -> dict[str, object]:
    return {item.key: item.value.value for item in config.config.value}


async def test_a_frozen_account_reads_but_cannot_write(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice, receive_updates=False)
    plain = await client(functions.help.GetAppConfigRequest(hash=0))
    assert "freeze_since_date" not in config_values(plain)
    assert isinstance(
        await client(functions.help.GetAppConfigRequest(hash=plain.hash)), types.help.AppConfigNotModified
    )

    dc.control.freeze(alice, days=10, appeal_url="https://t.me/spambot?start=x")
    with pytest.raises(errors.FrozenMethodInvalidError) as refused:
        await client.send_message("bob", "hello")
    assert refused.value.code == 420
    assert dc.control.user(bob).messages == {}
    assert await client.get_dialogs() is not None  # reads still work
    frozen = await client(functions.help.GetAppConfigRequest(hash=plain.hash))
    assert isinstance(frozen, types.help.AppConfig)
    values = config_values(frozen)
    assert values["freeze_until_date"] - values["freeze_since_date"] == 10 * 86400
    assert values["freeze_appeal_url"] == "https://t.me/spambot?start=x"

    dc.control.unfreeze(alice)
    await client.send_message("bob", "back")
    assert "freeze_since_date" not in config_values(await client(functions.help.GetAppConfigRequest(hash=0)))


async def test_a_spam_limited_account_writes_only_to_mutual_contacts(dc: SandboxDC, login_as, alice, bob) -> None:
    carol = dc.control.create_user(phone="15550003", first_name="Carol", username="carol")
    dc.control.add_contact(alice, carol)
    dc.control.add_contact(carol, alice)
    client = await login_as(alice, receive_updates=False)
    dc.control.limit_spam(alice)
    with pytest.raises(errors.PeerFloodError):
        await client.send_message("bob", "hello stranger")
    await client.send_message("carol", "hello friend")
    assert [m.text for m in dc.control.user(carol).messages.values()] == ["hello friend"]
    assert dc.control.user(bob).messages == {}


async def test_paid_and_premium_only_recipients(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice, receive_updates=False)
    dc.control.set_privacy(bob, paid_stars=25)
    with pytest.raises(errors.RPCError) as paid:
        await client.send_message("bob", "hi")
    assert paid.value.message == "ALLOW_PAYMENT_REQUIRED_25"
    dc.control.set_privacy(bob, premium_required=True)
    with pytest.raises(errors.RPCError) as premium:
        await client.send_message("bob", "hi")
    assert (premium.value.code, premium.value.message) == (403, "PRIVACY_PREMIUM_REQUIRED")
    dc.control.add_contact(bob, alice)  # contacts are exempt
    await client.send_message("bob", "hi, contact")
    assert [m.text for m in dc.control.user(bob).messages.values()] == ["hi, contact"]
