"""HTTP endpoints of API keys: create (the secret shown once), list, show, revoke.

Only a signed-in user (an access token) manages keys: no key can mint or revoke keys (app/domain/apikeys/scopes.py
lists no `/api-keys` route).
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.db.after_commit import after_commit
from app.db.engine import DbSession
from app.db.models import ApiKey
from app.domain.accounts.current_user import AuthRequest
from app.domain.apikeys import services
from app.domain.apikeys.deps import KeyIssuing
from app.domain.apikeys.schemas import ApiKeyCreate, ApiKeyOut, ApiKeyWithSecret
from app.lib.logging import log_event


def _fields(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "profiles": list(key.profiles),
        "chats": [str(c) for c in key.chats],
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "send_requires_approval": key.send_requires_approval,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "created_at": key.created_at,
    }


class ApiKeysController(Controller):
    path = "/api-keys"
    tags = ["api keys"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self,
        data: JSONBody[ApiKeyCreate],
        request: AuthRequest,
        key_issuing: NamedDependency[KeyIssuing],
        db_session: DbSession,
    ) -> ApiKeyWithSecret:
        """Create a key; the response carries its secret (`tgmp_…`), shown this once and stored only as a digest.

        `scopes` open routes (a route outside them answers 403 naming the missing scope); `profiles` and `chats`,
        when given, restrict the key to those phones and chats; `expires_at` ends it.
        """
        key, secret = await services.create_key(
            db_session, request.user.id, data, default_rate_per_minute=key_issuing.default_rate_per_minute
        )
        log_event(
            "info",
            "apikeys",
            "api_key.created",
            "api key created",
            user_id=request.user.id,
            context={"key_id": str(key.id), "key_name": key.name, "scopes": list(key.scopes)},
        )
        return ApiKeyWithSecret(**_fields(key), secret=secret)  # type: ignore[arg-type]

    @get("/")
    async def list_all(self, request: AuthRequest, db_session: DbSession) -> list[ApiKeyOut]:
        """The caller's keys, revoked ones included (never their secrets)."""
        return [ApiKeyOut(**_fields(k)) for k in await services.list_keys(db_session, request.user.id)]  # type: ignore[arg-type]

    @get("/{key_id:uuid}")
    async def show(self, key_id: UUID, request: AuthRequest, db_session: DbSession) -> ApiKeyOut:
        return ApiKeyOut(**_fields(await services.get_key(db_session, request.user.id, key_id)))  # type: ignore[arg-type]

    @delete("/{key_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self,
        key_id: UUID,
        request: AuthRequest,
        key_issuing: NamedDependency[KeyIssuing],
        db_session: DbSession,
    ) -> None:
        """Revoke the key at once: its next request is 401 and its open `WS /events` sockets close (4401)."""
        key = await services.revoke_key(db_session, request.user.id, key_id)
        after_commit(db_session, lambda: key_issuing.bearer.announce_revoked(key.id))
        log_event(
            "info",
            "apikeys",
            "api_key.revoked",
            "api key revoked",
            user_id=request.user.id,
            context={"key_id": str(key.id), "key_name": key.name},
        )
