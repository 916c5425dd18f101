"""Design §5 error rows: ban, revoke, flood wait, duplicate live connections, unknown methods and keys."""

from __future__ import annotations

import pytest
from telethon import errors, functions, types

from app.sandbox import SandboxDC

from .conftest import wait_for


async def test_ban_surfaces_as_user_deactivated_ban(dc: SandboxDC, login_as, bob) -> None:
    client = await login_as(bob, receive_updates=False)  # no update loop: only this test's calls reach the DC
    pushed = dc.hub.pushed
    dc.control.ban(bob)
    # Like Telegram, nothing is pushed: the client learns it from the answer to its next call.
    assert dc.hub.pushed == pushed
    assert client.is_connected()
    with pytest.raises(errors.UserDeactivatedBanError):
        await client(functions.updates.GetStateRequest())


async def test_revoke_surfaces_as_auth_key_unregistered(dc: SandboxDC, login_as, make_client, bob) -> None:
    client = await login_as(bob, receive_updates=False)
    session = client.session.save()
    pushed = dc.hub.pushed
    assert dc.control.revoke(bob) == 1
    assert dc.control.authorizations(bob) == []
    assert dc.hub.pushed == pushed
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await client(functions.updates.GetStateRequest())
    await client.disconnect()
    fresh = make_client(session)
    await fresh.connect()
    assert await fresh.get_me() is None
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await fresh.get_dialogs()


async def test_injected_flood_wait(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    dc.control.fail_next(functions.messages.SendMessageRequest, 420, "FLOOD_WAIT_120", user=alice)
    with pytest.raises(errors.FloodWaitError) as caught:
        await client.send_message("bob", "too fast")
    assert caught.value.seconds == 120
    assert dc.control.user(bob).messages == {}
    # Other methods are unaffected; the injection was used up.
    assert await client.get_dialogs() is not None
    assert dc.injector.rules == []


async def test_injection_by_name_and_times(dc: SandboxDC, login_as, alice) -> None:
    client = await login_as(alice)
    dc.control.fail_next("updates.GetState", 400, "SOME_ERROR", times=2)
    for _ in range(2):
        with pytest.raises(errors.BadRequestError, match="SOME_ERROR"):
            await client(functions.updates.GetStateRequest())
    assert (await client(functions.updates.GetStateRequest())).pts >= 1


async def test_one_key_may_carry_several_live_sessions_from_one_place(
    dc: SandboxDC, login_as, make_client, bob
) -> None:
    first = await login_as(bob)
    copy = make_client(first.session.save())
    await copy.connect()  # a second session of the same key, from the same address
    assert (await copy.get_me()).id == bob.id
    assert (await first.get_me()).id == bob.id
    await wait_for(lambda: dc.control.counters.concurrent_key_use == 1)  # counted once it outlasts the grace
    assert (await copy.get_me()).id == bob.id
    assert dc.control.counters.concurrent_key_use == 1
    assert dc.control.counters.auth_key_duplicated == 0


async def test_one_key_used_from_two_places_at_once_is_killed(dc: SandboxDC, login_as, make_client, bob) -> None:
    first = await login_as(bob)  # from 127.0.0.1
    session = first.session.save()
    elsewhere = make_client(session, local_addr="127.0.0.2")
    with pytest.raises(errors.AuthKeyDuplicatedError):
        await elsewhere.connect()
    with pytest.raises(errors.AuthKeyDuplicatedError):
        await first.get_me()  # the first place loses the key as well
    assert dc.control.counters.auth_key_duplicated == 1
    assert dc.control.authorizations(bob) == []
    await first.disconnect()
    await elsewhere.disconnect()
    later = make_client(session)
    with pytest.raises(errors.AuthKeyDuplicatedError):
        await later.connect()  # the key stays dead


async def test_one_key_may_move_from_place_to_place(dc: SandboxDC, login_as, make_client, bob) -> None:
    first = await login_as(bob)
    session = first.session.save()
    await first.disconnect()
    moved = make_client(session, local_addr="127.0.0.2")
    await moved.connect()
    assert (await moved.get_me()).id == bob.id
    assert dc.control.counters.auth_key_duplicated == 0


async def test_reconnecting_is_not_a_duplicate(dc: SandboxDC, login_as, make_client, bob) -> None:
    first = await login_as(bob)
    session = first.session.save()
    await first.disconnect()
    again = make_client(session)
    await again.connect()
    assert (await again.get_me()).id == bob.id
    await again.disconnect()
    await again.connect()
    assert (await again.get_me()).id == bob.id
    assert dc.control.counters.auth_key_duplicated == 0
    assert dc.control.counters.concurrent_key_use == 0


async def test_unimplemented_method_is_a_named_400(dc: SandboxDC, login_as, alice) -> None:
    client = await login_as(alice)
    with pytest.raises(errors.BadRequestError, match="FAKEDC_NOT_IMPLEMENTED_GetStickerSet"):
        await client(functions.messages.GetStickerSetRequest(stickerset=types.InputStickerSetEmpty(), hash=0))


async def test_forgotten_auth_key_gives_auth_key_not_found(dc: SandboxDC, login_as, make_client, alice) -> None:
    client = await login_as(alice)
    session = client.session.save()
    await client.disconnect()
    dc.control.forget_auth_key(client.session.auth_key.key_id)
    lost = make_client(session)
    with pytest.raises(errors.AuthKeyNotFound):
        await lost.connect()
