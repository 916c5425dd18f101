"""Contacts and phone numbers: whom a profile has saved, and reaching an account known only by its number.

Telegram reveals an account by its number only when that account's privacy allows it ("who can find me by my
number": everybody, or only its own contacts); otherwise `contacts.resolvePhone` answers PHONE_NOT_OCCUPIED, the
same as for a number with no account, and `contacts.importContacts` leaves the number out. A send to a
`+phone` resolves it with `contacts.resolvePhone`, which adds nobody to the profile's contacts; saving the contact
is a separate, explicit step (`add_contact`, `contacts.importContacts`).

Telegram asks clients to call `contacts.resolvePhone` at most once every 3 seconds: lookups are serialised per
profile with that interval between them, and an answer is kept for a day (the peer's own record keeps its hash).
"""

from __future__ import annotations

import asyncio
import secrets
from uuid import UUID

import msgspec
from telethon import TelegramClient, functions, types, utils

from app.lib.errors import NotFound
from app.telegram.errors import send_error
from app.telegram.lookups import PacedLookups
from app.telegram.operations import routed_operation
from app.telegram.peers import PeerRecord, ProfileSession
from app.telegram.records import PeerInfo, peer_info

PHONE_RESOLVE_INTERVAL_S = 3.0  # Telegram: "at most 1 call every 3 seconds" (contacts.resolvePhone)
PHONE_ANSWER_TTL_S = 86_400.0


class ContactInfo(msgspec.Struct, frozen=True):
    """A user in the profile's contacts, as Telegram shows it to that profile."""

    peer: PeerInfo
    phone: str | None  # "+digits", when Telegram shows the number to this profile
    first_name: str | None
    last_name: str | None
    mutual: bool  # they have the profile in their contacts too


def contact_info(user: types.User) -> ContactInfo:
    return ContactInfo(
        peer=peer_info(user),
        phone=f"+{user.phone}" if user.phone else None,
        first_name=user.first_name,
        last_name=user.last_name,
        mutual=bool(user.mutual_contact),
    )


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


class PhoneLookups(PacedLookups):
    """`contacts.resolvePhone` per profile: paced, and each answer kept for `ttl_s`."""

    what = "resolving phone numbers"

    def __init__(self, interval_s: float = PHONE_RESOLVE_INTERVAL_S, ttl_s: float = PHONE_ANSWER_TTL_S) -> None:
        super().__init__(interval_s)
        self.ttl_s = ttl_s
        self._answers: dict[tuple[UUID, str], tuple[float, int]] = {}  # (profile, digits) -> (when, peer id)

    async def resolve(self, profile_id: UUID, client: TelegramClient, phone: str) -> PeerRecord:
        """The user with this number for this profile; raises PhoneNotOccupiedError when Telegram will not say."""
        session = client.session
        if not isinstance(session, ProfileSession):
            raise TypeError("clients of the runtime use a ProfileSession")
        digits = _digits(phone)
        async with self._locks.setdefault(profile_id, asyncio.Lock()):
            known = self._known(profile_id, session, digits)
            if known is not None:
                return known
            resolved = await self._paced(profile_id, client, functions.contacts.ResolvePhoneRequest(f"+{digits}"))
            peer_id = utils.get_peer_id(resolved.peer)
            record = session.peers.get(peer_id)
            if record is None:  # Telegram sent no usable entity
                raise NotFound("receiver not found", code="peer_not_found")
            self._answers[(profile_id, digits)] = (asyncio.get_running_loop().time(), peer_id)
            return record

    def _known(self, profile_id: UUID, session: ProfileSession, digits: str) -> PeerRecord | None:
        row = session.get_entity_rows_by_phone(digits)  # a user whose number the profile sees (a contact)
        if row is not None and row[0] in session.peers:
            return session.peers[row[0]]
        answer = self._answers.get((profile_id, digits))
        loop = asyncio.get_running_loop()
        if answer is not None and loop.time() - answer[0] < self.ttl_s:
            return session.peers.get(answer[1])
        return None


class ContactCommands:
    """The contact operations of `ProfileCommands` (mixed in; `_client` is ProfileCommands' own)."""

    phones: PhoneLookups

    async def _client(self, profile_id: UUID) -> TelegramClient:  # pragma: no cover - provided by ProfileCommands
        raise NotImplementedError

    @routed_operation
    async def contacts(self, profile_id: UUID) -> list[ContactInfo]:
        """The profile's contacts, as Telegram lists them."""
        client = await self._client(profile_id)
        try:
            listed = await client(functions.contacts.GetContactsRequest(hash=0))
        except Exception as exc:
            raise send_error(exc) from None
        users = [u for u in getattr(listed, "users", []) if isinstance(u, types.User)]
        return [contact_info(u) for u in users]

    @routed_operation
    async def add_contact(self, profile_id: UUID, phone: str, first_name: str, last_name: str = "") -> ContactInfo:
        """Save a number as a contact (contacts.importContacts); 404 when Telegram does not reveal its account."""
        client = await self._client(profile_id)
        contact = types.InputPhoneContact(secrets.randbits(62), f"+{_digits(phone)}", first_name, last_name)
        try:
            imported = await client(functions.contacts.ImportContactsRequest([contact]))
        except Exception as exc:
            raise send_error(exc) from None
        ids = {item.user_id for item in imported.imported}
        users = [u for u in imported.users if isinstance(u, types.User) and u.id in ids]
        if not users:
            raise NotFound(
                "Telegram does not reveal an account with this phone number to this profile: there is none, or its "
                "privacy lets only its own contacts find it",
                code="peer_not_found",
            )
        return contact_info(users[0])

    @routed_operation
    async def remove_contact(self, profile_id: UUID, peer_id: int) -> None:
        """Remove a user from the profile's contacts (contacts.deleteContacts); 404 when not a contact."""
        listed = await self.contacts(profile_id)
        if not any(c.peer.peer_id == peer_id for c in listed):
            raise NotFound("no such contact", code="contact_not_found")
        client = await self._client(profile_id)
        try:
            target = await client.get_input_entity(peer_id)
            await client(functions.contacts.DeleteContactsRequest([utils.get_input_user(target)]))
        except Exception as exc:
            raise send_error(exc) from None
