"""The access-token denylist: a revoked token or login family is refused on every request until it expires."""

from __future__ import annotations

import time
from dataclasses import dataclass

from litestar.stores.base import Store

from app.domain.accounts.revocations import LoginRevocations
from app.lib.security import TokenClaims


def denylist_key(jti: str) -> str:
    return f"revoked-access:{jti}"


def family_denylist_key(family_id: str) -> str:
    return f"revoked-family:{family_id}"


async def revoke_access_token(store: Store, claims: TokenClaims) -> None:
    """Deny the access token until it would have expired anyway."""
    ttl = max(1, claims.expires_at - int(time.time()) + 5)
    await store.set(denylist_key(claims.jti), "1", expires_in=ttl)


async def revoke_access_family(store: Store, family_id: str, access_ttl_s: int) -> None:
    """Deny every access token issued to a login family (they live at most `access_ttl_s`)."""
    await store.set(family_denylist_key(family_id), "1", expires_in=access_ttl_s + 5)


async def is_revoked(claims: TokenClaims, denylist: Store) -> bool:
    return await denylist.exists(denylist_key(claims.jti)) or await denylist.exists(family_denylist_key(claims.family))


@dataclass(frozen=True, slots=True)
class AccessRevoker:
    """Revokes access tokens: denylisted for every process, and announced so open event sockets close."""

    denylist: Store
    access_ttl_s: int
    revocations: LoginRevocations

    async def revoke_token(self, claims: TokenClaims) -> None:
        await revoke_access_token(self.denylist, claims)

    async def revoke_family(self, family_id: str) -> None:
        await revoke_access_family(self.denylist, family_id, self.access_ttl_s)
        self.revocations.announce(family_id)
