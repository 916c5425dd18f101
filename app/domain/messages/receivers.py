"""Sending to a receiver as the API names it, including an account known only by its phone number.

A `+phone` receiver resolves through `contacts.resolvePhone` (app.telegram.contacts), which adds nobody to the
profile's contacts: Telegram reveals the account only when its privacy lets this profile find it, else the send
is 404 `peer_not_found` before anything is stored or any budget spent. The send then goes through the budgets
like any other (a first message to that account spends the new-chats budget). With `save_contact` the number is
saved as a contact (`contacts.importContacts`) after the message is sent, never for a refused send.
"""

from __future__ import annotations

import msgspec

from app.db.models import TelegramProfile
from app.domain.messages.deps import LiveMessages
from app.domain.messages.schemas import SendResult
from app.domain.messages.services import Outgoing
from app.lib.errors import ValidationFailed
from app.telegram.commands import parse_receiver


def phone_receiver(receiver: str | int) -> str | None:
    """The '+digits' of a phone receiver (+phone or t.me/+phone), else None."""
    target = parse_receiver(receiver)
    return target if isinstance(target, str) and target.startswith("+") else None


async def send(
    live: LiveMessages, profile: TelegramProfile, receiver: str | int, outgoing: Outgoing, *, save_contact: bool
) -> tuple[SendResult, bool]:
    """Resolve `receiver` for the profile and send; (the result, whether it replays an earlier send)."""
    phone = phone_receiver(receiver)
    if save_contact and phone is None:
        raise ValidationFailed(
            "save_contact needs a phone number receiver (+digits or t.me/+digits)", details=[{"field": "save_contact"}]
        )
    peer = await live.commands.resolve_peer(profile.id, receiver)
    result, replayed = await live.sender.send(profile, peer, outgoing)
    if save_contact and phone is not None and result.status == "sent" and not replayed:
        contact = await live.commands.add_contact(profile.id, phone, peer.title or phone)
        result = msgspec.structs.replace(result, contact=contact)
    return result, replayed
