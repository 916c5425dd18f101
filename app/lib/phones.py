"""Phone numbers as the service names profiles: E.164 with a leading '+'."""

from __future__ import annotations

import re

from app.lib.errors import ValidationFailed

_SEPARATORS = re.compile(r"[\s().-]")
# ASCII digits only: `\d` also matches other scripts' digits (Arabic-Indic ones must not pass as a number).
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalize_phone(raw: str, *, source: str = "body", code: str = "PHONE_NUMBER_INVALID") -> str:
    """Spaces, dashes, dots and brackets are dropped; '00' becomes '+'; a missing '+' is added."""
    phone = _SEPARATORS.sub("", raw.strip())
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not phone.startswith("+"):
        phone = "+" + phone
    if not _E164.match(phone):
        raise ValidationFailed(
            "phone must be an international number in E.164 form, e.g. +15551234567",
            code=code,
            details=[{"field": "phone", "source": source}],
        )
    return phone
