"""Phone-number privacy as Telegram applies it: who sees an account's number, and who finds the account by it.

Two of Telegram's privacy keys: `privacyKeyPhoneNumber` ("who can see my phone number": everybody, my contacts
or nobody; the default here is my contacts) and `privacyKeyAddedByPhone` ("who can find me by my number":
everybody or my contacts; it only matters while the number is not shown to everybody). "My contacts" are the
people in the account's own contact list. Someone who saved the account by its number sees that number anyway,
as on Telegram ("people who already have your number saved will still see it").
"""

from __future__ import annotations

from telethon.tl import TLObject, types

from .rpc import RpcError
from .state import User

EVERYBODY, CONTACTS, NOBODY = "everybody", "contacts", "nobody"

PHONE_NUMBER = "phone_number"
ADDED_BY_PHONE = "added_by_phone"
_KEYS: dict[type[TLObject], str] = {
    types.InputPrivacyKeyPhoneNumber: PHONE_NUMBER,
    types.InputPrivacyKeyAddedByPhone: ADDED_BY_PHONE,
}


def allows(owner: User, rule: str, viewer_id: int) -> bool:
    return viewer_id == owner.id or rule == EVERYBODY or (rule == CONTACTS and viewer_id in owner.contacts)


def phone_visible(target: User, viewer: User) -> bool:
    """Whether `viewer` gets `target.phone` in the users it is sent."""
    return target.id in viewer.contacts or allows(target, target.phone_visible_to, viewer.id)


def findable_by_phone(target: User, viewer: User) -> bool:
    """Whether importContacts / resolvePhone by `target`'s number reveal `target` to `viewer`."""
    if target.deleted:
        return False
    return allows(target, target.phone_visible_to, viewer.id) or allows(target, target.found_by_phone, viewer.id)


def key_of(key: TLObject) -> str:
    """The stored name of an InputPrivacyKey; the sandbox keeps only the phone-number keys."""
    name = _KEYS.get(type(key))
    if name is None:
        raise RpcError(400, f"FAKEDC_NOT_IMPLEMENTED_privacy_{type(key).__name__}")
    return name


def rule_of(key: str, rules: list[TLObject]) -> str:
    """Read Telegram's rule list (the first allow-all / allow-contacts / disallow-all wins, as clients send it)."""
    for rule in rules:
        if isinstance(rule, types.InputPrivacyValueAllowAll):
            return EVERYBODY
        if isinstance(rule, types.InputPrivacyValueAllowContacts):
            return CONTACTS
        if isinstance(rule, types.InputPrivacyValueDisallowAll):
            # "Who can find me by my number" offers everybody or my contacts only.
            return CONTACTS if key == ADDED_BY_PHONE else NOBODY
    raise RpcError(400, "PRIVACY_VALUE_INVALID")


def current(user: User, key: str) -> str:
    return user.phone_visible_to if key == PHONE_NUMBER else user.found_by_phone


def store(user: User, key: str, rule: str) -> None:
    if key == PHONE_NUMBER:
        user.phone_visible_to = rule
    else:
        user.found_by_phone = rule


def rendered(rule: str) -> list[types.TypePrivacyRule]:
    if rule == EVERYBODY:
        return [types.PrivacyValueAllowAll()]
    if rule == CONTACTS:
        return [types.PrivacyValueAllowContacts(), types.PrivacyValueDisallowAll()]
    return [types.PrivacyValueDisallowAll()]


def rendered_key(key: str) -> types.TypePrivacyKey:
    return types.PrivacyKeyPhoneNumber() if key == PHONE_NUMBER else types.PrivacyKeyAddedByPhone()
