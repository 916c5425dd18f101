"""JWT access/refresh tokens and password hashing; framework-free."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import anyio.to_thread
import jwt
from passlib.context import CryptContext

from app.lib.errors import ServiceUnavailable

TokenType = Literal["access", "refresh"]
_T = TypeVar("_T")
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]


class InvalidToken(Exception):
    """The token is malformed, expired, forged, or of the wrong type; the message says which."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    token_type: TokenType
    jti: str
    family: str
    role: str
    issued_at: int
    expires_at: int


LEEWAY_S = 5
VERIFIED_TOKENS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class TokenCodec:
    """Signs and verifies tokens with one secret, issuer and audience.

    A token whose signature and claims were verified once is remembered (by its exact text, bounded), so a
    client calling with the same access token is not verified again on every request: PyJWT's decode is
    about a quarter of an authenticated request. Its expiry is still checked on every use; whether it was
    revoked is the caller's check (accounts' `authenticate_token`), made on every request.
    """

    secret: str
    issuer: str
    audience: str
    _verified: dict[str, TokenClaims] = field(default_factory=dict, compare=False, repr=False)

    def encode(
        self,
        *,
        subject: str,
        token_type: TokenType,
        ttl_s: int,
        family: str,
        role: str,
        jti: str | None = None,
    ) -> tuple[str, TokenClaims]:
        now = int(time.time())
        claims = TokenClaims(
            subject=subject,
            token_type=token_type,
            jti=jti or uuid.uuid4().hex,
            family=family,
            role=role,
            issued_at=now,
            expires_at=now + ttl_s,
        )
        payload: dict[str, Any] = {
            "sub": subject,
            "typ": token_type,
            "jti": claims.jti,
            "fam": family,
            "role": role,
            "iat": now,
            "exp": claims.expires_at,
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(payload, self.secret, algorithm=ALGORITHM), claims

    def decode(self, token: str, *, expected_type: TokenType) -> TokenClaims:
        known = self._verified.get(token)
        if known is None:
            known = self._verify(token, expected_type)
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = known
        elif time.time() > known.expires_at + LEEWAY_S:
            del self._verified[token]
            raise InvalidToken("token has expired")
        if known.token_type != expected_type:
            raise InvalidToken(f"expected an {expected_type} token")
        return known

    def _verify(self, token: str, expected_type: TokenType) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": _REQUIRED_CLAIMS},
                leeway=LEEWAY_S,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        if payload.get("typ") != expected_type:
            raise InvalidToken(f"expected an {expected_type} token")
        if not isinstance(payload.get("fam"), str) or not isinstance(payload.get("sub"), str):
            raise InvalidToken("invalid token: malformed claims")
        return TokenClaims(
            subject=payload["sub"],
            token_type=expected_type,
            jti=str(payload["jti"]),
            family=payload["fam"],
            role=str(payload.get("role", "user")),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )


def hash_token(token: str) -> str:
    """Digest under which a refresh token is stored (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class PasswordHasher:
    """argon2id through passlib's CryptContext, in worker threads, at most `concurrency` at a time.

    Each hash holds `memory_cost_kib` of memory, so parallel sign-ins are bounded: up to `concurrency` run,
    up to `_WAITING_PER_SLOT` times as many wait their turn, and any further request is refused at once with
    503 `auth_busy` + Retry-After instead of queueing without limit.
    """

    _WAITING_PER_SLOT = 8

    def __init__(self, *, time_cost: int, memory_cost_kib: int, parallelism: int, concurrency: int = 4) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost_kib,
            argon2__parallelism=parallelism,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = concurrency * self._WAITING_PER_SLOT
        self._waiting = 0
        self.running = 0
        self.peak_running = 0  # observed by tests and metrics: never above `concurrency`
        # A fixed hash to verify against when the account does not exist, so timing does not reveal it.
        self._dummy_hash = self._context.hash(secrets.token_hex(16))

    async def _in_slot(self, work: Callable[..., _T], *args: str) -> _T:
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise ServiceUnavailable(
                "too many sign-ins at once; retry in a moment", code="auth_busy", headers={"Retry-After": "1"}
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.running += 1
        self.peak_running = max(self.peak_running, self.running)
        try:
            return await anyio.to_thread.run_sync(work, *args)
        finally:
            self.running -= 1
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._in_slot(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Return (valid, replacement hash when the stored parameters are outdated)."""
        target = password_hash or self._dummy_hash
        valid, new_hash = await self._in_slot(self._context.verify_and_update, password, target)
        if password_hash is None:
            return False, None
        return bool(valid), new_hash
