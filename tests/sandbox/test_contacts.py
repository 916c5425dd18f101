"""Contacts and profiles as Telegram documents them: import, delete, resolve by phone under phone privacy,
usernames, names and bio, and users.getFullUser, through a real Telethon client."""

from __future__ import annotations

import pytest
from telethon import errors, events, functions, types

from app.sandbox import SandboxDC
from tests.sandbox.conftest import wait_for

pytestmark = pytest.mark.asyncio


def phone_contact(phone: str, client_id: int = 1) -> types.InputPhoneContact:
    return types.InputPhoneContact(client_id, phone, "Someone", "")


async def test_resolve_phone_finds_an_account_whose_privacy_allows_it(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    resolved = await client(functions.contacts.ResolvePhoneRequest("+15550002"))
    assert resolved.peer == types.PeerUser(bob.id)
    [user] = resolved.users
    assert user.access_hash == bob.access_hash_for(alice.id)
    assert user.phone is None  # Bob shows his number to his contacts only (the default)
    assert not user.contact
    with pytest.raises(errors.PhoneNotOccupiedError):
        await client(functions.contacts.ResolvePhoneRequest("+15559876"))


async def test_a_number_found_by_contacts_only_is_hidden_unless_they_saved_you(
    dc: SandboxDC, login_as, alice, bob
) -> None:
    dc.control.set_phone_privacy(bob, visible_to="nobody", found_by="contacts")
    client = await login_as(alice)
    with pytest.raises(errors.PhoneNotOccupiedError):  # Telegram does not say the number exists
        await client(functions.contacts.ResolvePhoneRequest("+15550002"))
    imported = await client(functions.contacts.ImportContactsRequest([phone_contact("+15550002", 3)]))
    assert imported.imported == []
    assert imported.users == []
    assert (await client(functions.contacts.GetContactsRequest(0))).contacts == []

    dc.control.add_contact(bob, alice)  # Bob saved Alice: she may find him by his number now
    imported = await client(functions.contacts.ImportContactsRequest([phone_contact("+15550002", 3)]))
    assert [(c.user_id, c.client_id) for c in imported.imported] == [(bob.id, 3)]
    [user] = imported.users
    assert user.contact
    assert user.mutual_contact
    assert user.phone == "15550002"  # saved by number: seen even though Bob shows it to nobody


async def test_import_then_delete_contacts(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    imported = await client(
        functions.contacts.ImportContactsRequest([phone_contact("+1 555 0002", 1), phone_contact("+15559876", 2)])
    )
    assert [c.user_id for c in imported.imported] == [bob.id]  # the unknown number is left out, no error
    listed = await client(functions.contacts.GetContactsRequest(0))
    assert [(c.user_id, c.mutual) for c in listed.contacts] == [(bob.id, False)]
    assert listed.users[0].contact
    assert not listed.users[0].mutual_contact
    bob_input = types.InputUser(bob.id, bob.access_hash_for(alice.id))
    answer = await client(functions.contacts.DeleteContactsRequest([bob_input]))
    assert isinstance(answer, types.Updates)
    assert [(u.id, u.contact) for u in answer.users] == [(bob.id, False)]
    assert (await client(functions.contacts.GetContactsRequest(0))).contacts == []
    with pytest.raises(errors.UserIdInvalidError):  # another account's hash is refused
        await client(functions.contacts.DeleteContactsRequest([types.InputUser(bob.id, bob.access_hash_for(bob.id))]))


async def test_phone_privacy_over_set_and_get_privacy(dc: SandboxDC, login_as, alice, bob) -> None:
    bob_client = await login_as(bob)
    other_device = await login_as(bob)
    pushed: list[types.UpdatePrivacy] = []
    other_device.add_event_handler(lambda update: pushed.append(update), events.Raw(types.UpdatePrivacy))
    everybody = [types.InputPrivacyValueAllowAll()]
    answer = await bob_client(functions.account.SetPrivacyRequest(types.InputPrivacyKeyPhoneNumber(), everybody))
    assert answer.rules == [types.PrivacyValueAllowAll()]
    got = await bob_client(functions.account.GetPrivacyRequest(types.InputPrivacyKeyPhoneNumber()))
    assert got.rules == [types.PrivacyValueAllowAll()]
    await wait_for(lambda: len(pushed) == 1)
    alice_client = await login_as(alice)
    [user] = (await alice_client(functions.contacts.ResolvePhoneRequest("+15550002"))).users
    assert user.phone == "15550002"  # shown to everybody now

    nobody = [types.InputPrivacyValueDisallowAll()]
    await bob_client(functions.account.SetPrivacyRequest(types.InputPrivacyKeyPhoneNumber(), nobody))
    await bob_client(functions.account.SetPrivacyRequest(types.InputPrivacyKeyAddedByPhone(), nobody))
    found_by = await bob_client(functions.account.GetPrivacyRequest(types.InputPrivacyKeyAddedByPhone()))
    assert found_by.rules == [types.PrivacyValueAllowContacts(), types.PrivacyValueDisallowAll()]
    with pytest.raises(errors.PhoneNotOccupiedError):
        await alice_client(functions.contacts.ResolvePhoneRequest("+15550002"))


async def test_update_username_with_telegrams_errors(dc: SandboxDC, login_as, alice, bob) -> None:
    dc.control.create_channel("News", username="newsroom")
    dc.control.create_user("15550003", "Carol", username="carol_c")
    client = await login_as(alice)
    for invalid in ("abc", "1alice", "alice_", "al__ice", "a" * 33, "al-ice"):
        with pytest.raises(errors.UsernameInvalidError):
            await client(functions.account.UpdateUsernameRequest(invalid))
    for taken in ("carol_c", "CAROL_C", "newsroom"):
        with pytest.raises(errors.UsernameOccupiedError):
            await client(functions.account.UpdateUsernameRequest(taken))
    assert await client(functions.account.CheckUsernameRequest("carol_c")) is False
    assert await client(functions.account.CheckUsernameRequest("alice_new")) is True
    await client(functions.account.UpdateUsernameRequest("alice_old"))
    with pytest.raises(errors.UsernameNotModifiedError):
        await client(functions.account.UpdateUsernameRequest("alice_old"))

    bob_client = await login_as(bob)
    await bob_client(functions.contacts.ImportContactsRequest([phone_contact("+15550001")]))
    renamed: list[types.UpdateUserName] = []
    bob_client.add_event_handler(lambda update: renamed.append(update), events.Raw(types.UpdateUserName))
    me = await client(functions.account.UpdateUsernameRequest("alice_new"))
    assert me.username == "alice_new"
    assert me.is_self
    await wait_for(lambda: len(renamed) == 1)  # Bob has Alice in his contacts
    assert [u.username for u in renamed[0].usernames] == ["alice_new"]
    assert (await bob_client(functions.contacts.ResolveUsernameRequest("alice_new"))).peer == types.PeerUser(alice.id)
    with pytest.raises(errors.UsernameNotOccupiedError):
        await bob_client(functions.contacts.ResolveUsernameRequest("alice_old"))
    cleared = await client(functions.account.UpdateUsernameRequest(""))
    assert cleared.username is None


async def test_update_profile_and_get_full_user(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    with pytest.raises(errors.FirstNameInvalidError):
        await client(functions.account.UpdateProfileRequest(first_name="  "))
    with pytest.raises(errors.AboutTooLongError):
        await client(functions.account.UpdateProfileRequest(about="x" * 71))
    me = await client(functions.account.UpdateProfileRequest(first_name="Alicia", last_name="Liddell", about="hi"))
    assert (me.first_name, me.last_name) == ("Alicia", "Liddell")

    bob_client = await login_as(bob)
    alice_input = (await bob_client(functions.contacts.ResolveUsernameRequest("alice"))).users[0]
    full = await bob_client(functions.users.GetFullUserRequest(alice_input))
    assert full.full_user.about == "hi"
    assert full.full_user.settings.add_contact  # a stranger's chat offers "add contact"
    assert (full.users[0].first_name, full.users[0].last_name) == ("Alicia", "Liddell")
    with pytest.raises(errors.UserIdInvalidError):
        await bob_client(functions.users.GetFullUserRequest(types.InputUser(alice.id, 0)))
