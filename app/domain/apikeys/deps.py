"""What the `/api-keys` endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import Provide

from app.domain.apikeys.authentication import BearerAuthenticator
from app.lib.di import provide_value


@dataclass(frozen=True, slots=True)
class KeyIssuing:
    """The default rate of a new key, and where a revocation is announced (denylist and open sockets)."""

    default_rate_per_minute: int  # API_KEY_RATE_LIMIT_PER_MINUTE
    bearer: BearerAuthenticator


def dependencies(issuing: KeyIssuing) -> dict[str, Provide]:
    return {"key_issuing": provide_value(issuing)}
