"""What the accounts endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import RegistrationPolicy
from app.domain.accounts.services import TokenPolicy
from app.domain.accounts.shown_users import ShownUsers
from app.domain.accounts.throttle import LoginThrottle
from app.domain.accounts.tokens import AccessRevoker
from app.lib.di import provide_value
from app.lib.security import PasswordHasher


@dataclass(frozen=True, slots=True)
class SignIns:
    """What registering, signing in, refreshing and signing out use besides the request's session."""

    hasher: PasswordHasher
    token_policy: TokenPolicy
    registration: RegistrationPolicy  # REGISTRATION
    throttle: LoginThrottle
    shown_users: ShownUsers  # what `GET /auth/me` shows
    revoker: AccessRevoker
    sessionmaker: async_sessionmaker[AsyncSession]  # a unit of work of its own (a revocation despite the 401)


def dependencies(sign_ins: SignIns) -> dict[str, Provide]:
    # One frozen dataclass: msgspec passes it to the handler as is (a plain class costs a validation hook call).
    return {"sign_ins": provide_value(sign_ins)}
