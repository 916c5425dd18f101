"""HTTP endpoints for a profile's contacts and for looking up whom a receiver names (`/profiles/{phone}/...`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.db.engine import DbSession
from app.domain.accounts.current_user import AuthRequest
from app.domain.messages.controllers import PeerParam, live_profile
from app.domain.messages.deps import LiveMessages
from app.domain.messages.schemas import AddContact, ContactsOut, LookupOut
from app.telegram.contacts import ContactInfo

PeerIdParam = Annotated[int, Parameter(ge=1, le=2**53, description="the contact's user id (peer.peer_id)")]


class ContactsController(Controller):
    path = "/profiles/{phone:str}"
    tags = ["contacts"]

    @get("/contacts")
    async def list_contacts(
        self, phone: str, request: AuthRequest, live_messages: NamedDependency[LiveMessages], db_session: DbSession
    ) -> ContactsOut:
        """The profile's Telegram contacts (numbers where Telegram shows them, and whether each is mutual)."""
        profile = await live_profile(db_session, request.user.id, phone)
        return ContactsOut(profile.phone, await live_messages.commands.contacts(profile.id))

    @post("/contacts", status_code=HTTP_201_CREATED)
    async def add_contact(
        self,
        phone: str,
        data: JSONBody[AddContact],
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> ContactInfo:
        """Save a phone number as a contact; 404 `peer_not_found` when Telegram does not reveal its account."""
        profile = await live_profile(db_session, request.user.id, phone)
        return await live_messages.commands.add_contact(profile.id, data.phone, data.first_name, data.last_name)

    @delete("/contacts/{peer_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def remove_contact(
        self,
        phone: str,
        peer_id: PeerIdParam,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> None:
        """Remove a user from the profile's contacts; 404 `contact_not_found` when not a contact."""
        profile = await live_profile(db_session, request.user.id, phone)
        await live_messages.commands.remove_contact(profile.id, peer_id)

    @get("/lookup")
    async def lookup(
        self,
        phone: str,
        peer: PeerParam,
        request: AuthRequest,
        live_messages: NamedDependency[LiveMessages],
        db_session: DbSession,
    ) -> LookupOut:
        """Whom a receiver (numeric id, @username, +phone, t.me link) names for this profile, without sending."""
        profile = await live_profile(db_session, request.user.id, phone)
        return LookupOut(profile.phone, await live_messages.commands.resolve_peer(profile.id, peer))
