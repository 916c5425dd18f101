"""Completes the generated OpenAPI document with what the server really does, so clients and fuzzers see it.

Litestar derives paths, parameters and schemas from the handlers; this adds, in one place, what it cannot know:
a summary and description for every operation, request-body examples, and the error responses each operation
really answers with, all in the one error shape `{"error": {"code", "message", "details"}}` (Litestar would
advertise only its own 400 body, which this service never sends).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar._openapi.plugin import OpenAPIPlugin  # Litestar's own plugin; no public hook completes its document
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Operation, Reference, RequestBody, Schema

from app.domain.profiles.schemas import LABEL_MAX_LENGTH, ImportSession
from app.server.openapi_constraints import (
    PHONE_PATTERN,
    body_types,
    constrain_bodies,
    constrain_phones,
    push_down_parameter_bounds,
    schema_of,
)
from app.server.openapi_keys import KEY_OPERATIONS

ERROR_SCHEMA = Schema(
    type="object",  # type: ignore[arg-type]
    required=["error"],
    properties={
        "error": Schema(
            type="object",  # type: ignore[arg-type]
            required=["code", "message", "details"],
            properties={
                "code": Schema(type="string", description="stable machine-readable code, e.g. `validation_error`"),  # type: ignore[arg-type]
                "message": Schema(type="string", description="what went wrong, in words"),  # type: ignore[arg-type]
                "details": Schema(description="more about the error (e.g. the fields that failed), or null"),
            },
        )
    },
    examples=[{"error": {"code": "not_found", "message": "profile not found", "details": None}}],
)

ERRORS: dict[int, str] = {
    400: "Malformed request: the body is not valid JSON, filters that do not fit together, or a request Telegram "
    "refused as malformed (e.g. a wrong login code).",
    401: "Missing, invalid, expired or revoked bearer token.",
    402: "Telegram sends this number a login code only after a purchase in an official Telegram app.",
    403: "The caller may not do this (administrators only, an API key without the scope named), or Telegram "
    "refuses it for this profile "
    "(writing forbidden, frozen or spam-limited account, the recipient's privacy).",
    404: "Not found, or it belongs to another user.",
    409: "Conflicts with the current state (already exists, already bound, in flight).",
    410: "Expired (a login code or login, an invite link): start again.",
    422: "A parameter or a body field fails validation; `details` names the fields.",
    429: "Rate-limited (login throttling, an API key's rate, Telegram flood wait); see `Retry-After`.",
    503: "A service the operation needs is unavailable (Telegram, a worker, the log store).",
    504: "The log query took longer than LOGS_QUERY_TIMEOUT_S.",
}

_PUBLIC = {"/auth/login", "/auth/register", "/refresh", "/auth/refresh", "/health", "/metrics"}
_TELEGRAM_PREFIXES = ("/messages", "/conversations", "/profiles", "/channels")

# (method, path) -> (summary, description, extra error statuses, request-body example)
_Doc = tuple[str, str, tuple[int, ...], dict[str, Any] | None]
_UPLOAD_EXAMPLE = {"file": "<the .session file>", "label": "imported"}
_CREDENTIALS = {"email": "ada@example.com", "password": "correct horse"}
OPERATIONS: dict[tuple[str, str], _Doc] = {
    ("POST", "/auth/register"): (
        "Create an account",
        "Registers an application user as REGISTRATION allows (under `open` the first one is admin).",
        (403, 409),
        _CREDENTIALS,
    ),
    ("POST", "/auth/login"): (
        "Sign in",
        "Exchanges email and password for an access and a refresh token.",
        (401, 429, 503),
        _CREDENTIALS,
    ),
    ("POST", "/refresh"): (
        "Rotate the token pair",
        "Presents a refresh token once; a reused one revokes the login.",
        (401,),
        {"refresh_token": "<refresh token>"},
    ),
    ("POST", "/auth/refresh"): (
        "Rotate the token pair",
        "Alias of `POST /refresh`.",
        (401,),
        {"refresh_token": "<refresh token>"},
    ),
    ("POST", "/logout"): ("Sign out", "Revokes the access token and its login's refresh tokens.", (), {}),
    ("POST", "/auth/logout"): ("Sign out", "Alias of `POST /logout`.", (), {}),
    ("POST", "/invitations"): (
        "Invite someone (admins)",
        "Issues a single-use invitation; its token is shown in this answer only.",
        (403,),
        {"email": "new.colleague@example.com", "expires_in_s": 604800},
    ),
    ("GET", "/invitations"): ("List invitations (admins)", "Invitations with their status, no tokens.", (403,), None),
    ("DELETE", "/invitations/{invitation_id}"): (
        "Revoke an invitation (admins)",
        "Revokes an unused invitation.",
        (403, 409),
        None,
    ),
    ("GET", "/auth/me"): ("The signed-in user", "Id, email and role of the token's user.", (), None),
    ("GET", "/utils/me"): ("The signed-in user", "Alias of `GET /auth/me`.", (), None),
    ("GET", "/profiles"): ("List profiles", "The caller's Telegram profiles with their live status.", (), None),
    ("POST", "/profiles/start"): (
        "Start binding a profile",
        "Sends a login code to the phone (sandbox: +99966XYYYY, code XXXXX; +9996629999 has the 2FA password "
        "sandbox-2fa). `code_type` says how Telegram sent it (app, sms, email with `email_pattern`, ...).",
        (402, 409, 429),
        {"phone": "+9996621234", "label": "support"},
    ),
    ("POST", "/profiles/code"): (
        "Submit the login code",
        "Completes the login, or answers that a 2FA password is needed.",
        (409, 410, 429),
        {"phone": "+9996621234", "code": "22222"},
    ),
    ("POST", "/profiles/password"): (
        "Submit the 2FA password",
        "Completes a login that needs the two-step verification password.",
        (409, 410, 429),
        {"phone": "+9996629999", "password": "sandbox-2fa"},
    ),
    ("POST", "/profiles/import"): (
        "Import a session",
        "Binds a profile from an existing Telethon session string or `.session` file, with its device and proxy.",
        (409,),
        {"session_string": "1BVtsOKABu...", "label": "imported"},
    ),
    ("PATCH", "/profiles/{phone}"): (
        "Change a profile",
        "Label, activation and channel capacity of a profile.",
        (),
        {"label": "sales", "is_active": True},
    ),
    ("DELETE", "/profiles/{phone}"): (
        "Remove a profile",
        "Logs the session out of Telegram and deletes the profile.",
        (),
        None,
    ),
    ("GET", "/profiles/{phone}/channels"): (
        "Channels of a profile",
        "The monitored channels this profile is assigned to.",
        (),
        None,
    ),
    ("GET", "/messages/dialogs"): ("List dialogs", "The profile's recent dialogs from Telegram.", (429,), None),
    ("POST", "/messages/dialogs"): (
        "List dialogs",
        "Same as GET, with the query in a JSON body.",
        (429,),
        {"phone": "+9996621234", "limit": 20},
    ),
    ("GET", "/messages/history"): ("Message history", "Messages of one chat, newest first.", (429,), None),
    ("GET", "/messages/unread"): ("Unread messages", "Unread incoming messages, per dialog.", (429,), None),
    ("POST", "/messages/unread"): (
        "Unread messages",
        "Same as GET, with the query in a JSON body.",
        (429,),
        {"phone": "+9996621234"},
    ),
    ("POST", "/messages/read"): (
        "Mark as read",
        "Marks a chat read up to a message (default: all).",
        (429,),
        {"phone": "+9996621234", "peer": "@demo_ada"},
    ),
    ("POST", "/messages/send"): (
        "Send a message",
        "Sends as the profile; `Idempotency-Key` makes a retry send once.",
        (409, 429),
        {
            "phone": "+9996621234",
            "tg_receiver": "@demo_ada",
            "text": "Hello",
            "entities": [{"type": "bold", "offset": 0, "length": 5}],
        },
    ),
    ("GET", "/profiles/{phone}/contacts"): (
        "List contacts",
        "The profile's Telegram contacts, with numbers where Telegram shows them.",
        (409,),
        None,
    ),
    ("POST", "/profiles/{phone}/contacts"): (
        "Add a contact",
        "Saves a phone number as a contact; 404 when Telegram does not reveal its account.",
        (409, 429),
        {"phone": "+9996631234", "first_name": "Ada", "last_name": "Lovelace"},
    ),
    ("DELETE", "/profiles/{phone}/contacts/{peer_id}"): (
        "Remove a contact",
        "Removes a user from the profile's contacts.",
        (409,),
        None,
    ),
    ("GET", "/profiles/{phone}/lookup"): (
        "Look up a receiver",
        "Whom an id, @username, +phone or t.me link names for the profile, without sending.",
        (409, 429),
        None,
    ),
    ("PATCH", "/conversations/{conversation_id}/messages/{message_id}"): (
        "Edit a sent message",
        "Edits one of the profile's messages at Telegram; stored with its previous text.",
        (403, 409, 429),
        {"text": "Hello, corrected"},
    ),
    ("DELETE", "/conversations/{conversation_id}/messages/{message_id}"): (
        "Delete a sent message",
        "Deletes a message at Telegram (`revoke`: for everyone); kept here as deleted.",
        (403, 409, 429),
        None,
    ),
    ("GET", "/conversations"): ("Inbox", "Stored conversations grouped by profile, with unread counts.", (), None),
    ("GET", "/conversations/{conversation_id}/messages"): (
        "Messages of a conversation",
        "Stored messages, newest first, with edits and deletions.",
        (),
        None,
    ),
    ("POST", "/conversations/{conversation_id}/reply"): (
        "Reply in a conversation",
        "Sends as the conversation's profile.",
        (409, 429),
        {"text": "Thanks!"},
    ),
    ("GET", "/channels"): (
        "List monitored channels",
        "The caller's monitored channels with counts and assignment.",
        (),
        None,
    ),
    ("POST", "/channels"): (
        "Monitor a channel",
        "A profile with capacity joins it (200 when already joined).",
        (409, 410, 429),
        {"channel": "@sandbox_news"},
    ),
    ("GET", "/channels/{channel_id}"): ("A monitored channel", "One channel with its assignment history.", (), None),
    ("DELETE", "/channels/{channel_id}"): ("Stop monitoring", "The assigned profile leaves the channel.", (), None),
    ("GET", "/channels/{channel_id}/messages"): (
        "Channel posts",
        "Stored posts, newest first, deleted ones marked.",
        (),
        None,
    ),
    ("GET", "/archives"): ("List archives", "The caller's chat archive jobs.", (), None),
    ("POST", "/archives"): (
        "Archive a chat",
        "Schedules an export of a chat's messages for a time window.",
        (409,),
        {"channel": "@sandbox_news", "target": {"type": "local", "path": "news/2026"}},
    ),
    ("GET", "/archives/{archive_id}"): ("An archive", "Status and location of one archive job.", (), None),
    ("DELETE", "/archives/{archive_id}"): (
        "Cancel an archive",
        "Cancels a pending or running archive job.",
        (409,),
        None,
    ),
    ("GET", "/webhooks"): ("List webhooks", "The caller's webhook endpoints.", (), None),
    ("POST", "/webhooks"): (
        "Create a webhook",
        "The signing secret is returned once, in this answer only.",
        (),
        {"url": "https://example.com/hooks/telegram", "event_types": ["message.received"]},
    ),
    ("GET", "/webhooks/{webhook_id}"): ("A webhook", "One endpoint with its delivery counters.", (), None),
    ("PATCH", "/webhooks/{webhook_id}"): (
        "Change a webhook",
        "URL, events, description, enabled, rate.",
        (),
        {"description": "ops pager", "enabled": True},
    ),
    ("DELETE", "/webhooks/{webhook_id}"): (
        "Delete a webhook",
        "Deletes the endpoint and its pending deliveries.",
        (),
        None,
    ),
    ("POST", "/webhooks/{webhook_id}/rotate-secret"): (
        "Rotate the secret",
        "A new signing secret, returned once.",
        (),
        None,
    ),
    ("POST", "/webhooks/{webhook_id}/test"): ("Send a test event", "Queues a `webhook.test` delivery.", (409,), None),
    ("GET", "/webhooks/{webhook_id}/deliveries"): (
        "Deliveries of a webhook",
        "Recent deliveries, newest first.",
        (),
        None,
    ),
    ("GET", "/webhooks/{webhook_id}/deliveries/{delivery_id}"): (
        "A delivery",
        "One delivery with its attempts.",
        (),
        None,
    ),
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): (
        "Retry a delivery",
        "Queues the delivery again now.",
        (409,),
        None,
    ),
    ("GET", "/logs"): (
        "Query logs",
        "Request (default) or event log rows from ClickHouse, newest first.",
        (400, 504),
        None,
    ),
    ("GET", "/admin/proxy-pool"): (
        "Proxy pool health (admins)",
        "Every PROXY_POOL entry with its last periodic check and how many profiles use it; no credentials.",
        (403,),
        None,
    ),
    ("GET", "/health"): ("Health", "200 when every critical component is up, 503 otherwise.", (), None),
    ("GET", "/metrics"): (
        "Prometheus metrics",
        "Aggregates only; with METRICS_TOKEN it needs that bearer token.",
        (401,),
        None,
    ),
    **KEY_OPERATIONS,
}


def _error_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={"application/json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Error"))},
    )


def _statuses(method: str, path: str, operation: Operation, extra: tuple[int, ...]) -> set[int]:
    statuses = set(extra)
    if path not in _PUBLIC:
        statuses.add(401)
    if "{" in path:
        statuses.add(404)
    if operation.parameters or operation.request_body is not None or "{" in path:
        statuses.add(422)
    if operation.request_body is not None:
        statuses.add(400)
    if path.startswith(_TELEGRAM_PREFIXES) and not (method == "GET" and path in {"/profiles", "/conversations"}):
        statuses |= {400, 403, 503}  # Telegram's own 400/403 refusals are passed through (app.telegram.errors)
    if path in {"/logs", "/health"}:
        statuses.add(503)
    return statuses


def _operations(openapi: OpenAPI) -> dict[tuple[str, str], Operation]:
    return {
        (method.upper(), path): operation
        for path, item in (openapi.paths or {}).items()
        for method in ("get", "post", "put", "patch", "delete")
        if (operation := getattr(item, method, None)) is not None
    }


def complete_contract(openapi: OpenAPI, app: Litestar | None = None) -> OpenAPI:
    """Add summaries, descriptions, examples, the real error responses and the real request bounds (in place).

    With the app, request bodies get every bound their msgspec types enforce (`openapi_constraints`), the
    session-import body (read by hand, so Litestar cannot see it) is described, and the registration
    password carries the configured PASSWORD_MIN_LENGTH / PASSWORD_MAX_LENGTH.
    """
    components = openapi.components
    components.schemas = {**(components.schemas or {}), "Error": ERROR_SCHEMA}
    by_key = _operations(openapi)
    if app is not None:
        _describe_import_body(openapi, app, by_key.get(("POST", "/profiles/import")))
    for (method, path), operation in by_key.items():
        summary, description, extra, example = OPERATIONS.get((method, path), (operation.summary or "", "", (), None))
        operation.summary = summary
        operation.description = operation.description or description  # the handler's docstring, when it has one
        if example is not None and isinstance(operation.request_body, RequestBody):
            for media_type, media in operation.request_body.content.items():
                media.example = example if media_type == "application/json" else _UPLOAD_EXAMPLE
        responses = dict(operation.responses or {})
        responses.pop("400", None)  # Litestar's ValidationException body: replaced by the service's shape
        for status in sorted(_statuses(method, path, operation, extra)):
            responses[str(status)] = _error_response(ERRORS.get(status, "Error"))
        operation.responses = responses
    push_down_parameter_bounds(by_key)
    if app is not None:
        constrain_bodies(openapi, by_key, body_types(app))
        _password_policy(openapi, app)
    constrain_phones(openapi, list(by_key.values()))
    return openapi


def _describe_import_body(openapi: OpenAPI, app: Litestar, operation: Operation | None) -> None:
    if operation is None or operation.request_body is not None:
        return
    upload = Schema(
        type="object",  # type: ignore[arg-type]
        required=["file"],
        properties={
            "file": Schema(type="string", format="binary", description="a Telethon .session file, at most 1 MB"),  # type: ignore[arg-type]
            "label": Schema(type="string", max_length=LABEL_MAX_LENGTH),  # type: ignore[arg-type]
            "api_id": Schema(type="string", max_length=10, description="as in the JSON body"),  # type: ignore[arg-type]
            "api_hash": Schema(type="string", max_length=64, description="as in the JSON body"),  # type: ignore[arg-type]
            "device": Schema(type="string", max_length=1024, description="the JSON `device` object, as text"),  # type: ignore[arg-type]
            "proxy": Schema(type="string", max_length=2048, description="the JSON `proxy` object, as text"),  # type: ignore[arg-type]
        },
    )
    operation.request_body = RequestBody(
        required=True,
        content={
            "application/json": OpenAPIMediaType(schema=schema_of(openapi, app, ImportSession)),
            "multipart/form-data": OpenAPIMediaType(schema=upload),
        },
    )
    constrain_bodies(openapi, {("POST", "/profiles/import"): operation}, {("POST", "/profiles/import"): ImportSession})


def _password_policy(openapi: OpenAPI, app: Litestar) -> None:
    """Registration checks the configured password policy (login accepts any stored password's length)."""
    settings = app.state.ctx.settings
    registration = (openapi.components.schemas or {}).get("Registration")
    password = registration.properties.get("password") if registration and registration.properties else None
    if isinstance(password, Schema):
        password.min_length = settings.password_min_length
        password.max_length = settings.password_max_length


def openapi_document(app: Litestar) -> OpenAPI:
    """The application's completed OpenAPI document (built and completed once, on first use)."""
    openapi = app.plugins.get(OpenAPIPlugin).provide_openapi()
    if "Error" not in (openapi.components.schemas or {}):
        complete_contract(openapi, app)
    return openapi


async def complete_before_docs(request: Request) -> None:
    """`before_request` hook: complete the document before `/schema` serves it (not at every app start-up)."""
    if request.scope["path"].startswith("/schema"):
        openapi_document(request.app)


__all__ = ["ERRORS", "OPERATIONS", "PHONE_PATTERN", "complete_before_docs", "complete_contract", "openapi_document"]
