"""Several data-centers sharing one world: every account has a home DC, auth keys belong to the DC that made them.

Telegram (core.telegram.org/api/datacenter): `auth.sendCode` / `signIn` on a DC that is not the number's home
answer 303 PHONE_MIGRATE_X; a key authorised on another DC (through `auth.importAuthorization`) may download
files and read the config there, anything else answers 303 USER_MIGRATE_X. Test numbers follow Telegram's
test-DC convention: `99966XYYYY` lives on DC X (when the sandbox serves DC X, else on its first DC).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .rpc import RpcContext, RpcError
from .state import normalize_phone

if TYPE_CHECKING:
    from .server import SandboxDC
    from .state import AuthKeyRecord, User

# What a key may call on a DC that is not its account's home.
OFF_HOME_NAMESPACES = ("help", "upload", "auth")
EXPORT_TTL_SECONDS = 300


def known_dc(dc: SandboxDC, dc_id: int) -> int:
    """`dc_id` when the sandbox serves it, else its first DC (0 and unknown ids are the first DC)."""
    return dc_id if dc_id in dc.dc_ids else dc.dc_id


def home_dc(dc: SandboxDC, user: User) -> int:
    return known_dc(dc, user.dc_id)


def key_dc(dc: SandboxDC, record: AuthKeyRecord) -> int:
    return known_dc(dc, record.dc_id)


def phone_home_dc(dc: SandboxDC, phone: str) -> int:
    """Where a number lives: its account's home, or where it would register (99966X... on DC X)."""
    user = dc.state.user_by_phone(phone)
    if user is not None:
        return home_dc(dc, user)
    digits = normalize_phone(phone)
    if len(digits) == 10 and digits.startswith("99966"):
        return known_dc(dc, int(digits[5]))
    return dc.dc_id


def require_phone_home(ctx: RpcContext, phone: str) -> None:
    home = phone_home_dc(ctx.dc, phone)
    if home != ctx.conn.dc_id:
        raise RpcError(303, f"PHONE_MIGRATE_{home}")


def require_user_home(ctx: RpcContext, name: str) -> None:
    """USER_MIGRATE_X for an authorised key on a DC that is not its account's home (file and config calls pass)."""
    home = home_dc(ctx.dc, ctx.user)
    if home != ctx.conn.dc_id and name.partition(".")[0] not in OFF_HOME_NAMESPACES:
        raise RpcError(303, f"USER_MIGRATE_{home}")


@dataclass(frozen=True)
class ExportedAuthorization:
    user_id: int
    dc_id: int  # the DC it may be imported on
    expires: float


class Transfers:
    """auth.exportAuthorization tokens, valid once, on one DC, for a few minutes (not persisted)."""

    def __init__(self) -> None:
        self._tokens: dict[bytes, ExportedAuthorization] = {}

    def export(self, user_id: int, dc_id: int) -> bytes:
        now = time.monotonic()
        self._tokens = {k: v for k, v in self._tokens.items() if v.expires > now}
        token = os.urandom(128)
        self._tokens[token] = ExportedAuthorization(user_id, dc_id, now + EXPORT_TTL_SECONDS)
        return token

    def take(self, user_id: int, token: bytes, dc_id: int) -> bool:
        exported = self._tokens.get(token)
        if exported is None or exported.user_id != user_id or exported.dc_id != dc_id:
            return False
        del self._tokens[token]
        return exported.expires > time.monotonic()
