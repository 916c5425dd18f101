"""HTTP endpoints of Telegram profiles: bind by phone/code/2FA, import, list, update, delete."""

from __future__ import annotations

import functools
from typing import Annotated, Any, TypeAlias

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.after_commit import after_commit
from app.db.engine import DbSession
from app.domain.accounts import services as accounts
from app.domain.accounts.current_user import AuthRequest
from app.domain.profiles import budgets, devices, login, ownership, proxies, services
from app.domain.profiles.deps import ProfileService
from app.domain.profiles.schemas import (
    LABEL_MAX_LENGTH,
    ImportForm,
    ImportSession,
    LimitsOut,
    LoginResult,
    LoginStarted,
    ProfileOut,
    ProfileUpdate,
    StartLogin,
    SubmitCode,
    SubmitPassword,
    UtilsMe,
)
from app.lib.devices import choose_identity
from app.lib.errors import BadRequest, NotFound, ServiceUnavailable, ValidationFailed
from app.lib.logging import log_event
from app.telegram.errors import to_app_error
from app.telegram.sessions import (
    InvalidSession,
    string_session_from_file,
    validate_string_session,
    verify_session,
)

Profiles: TypeAlias = NamedDependency[ProfileService]


def _activate_after_commit(profiles: ProfileService, db_session: AsyncSession, profile_id: Any) -> None:
    """Connect the bound profile once the binding is committed (the runtime reads it from the database)."""
    after_commit(db_session, functools.partial(profiles.telegram.runtime.activate, profile_id))


def _bound(profiles: ProfileService, db_session: AsyncSession, outcome: login.StepOutcome) -> Response[LoginResult]:
    if outcome.profile is None:
        return Response(
            LoginResult(status="password_needed", hint=outcome.password_hint, next_step="POST /profiles/password"),
            status_code=HTTP_200_OK,
        )
    _activate_after_commit(profiles, db_session, outcome.profile.id)
    return Response(LoginResult(status="bound", profile=services.to_out(outcome.profile)), status_code=HTTP_201_CREATED)


class ProfilesController(Controller):
    path = "/profiles"
    tags = ["profiles"]

    @get("/")
    async def list_profiles(
        self, request: AuthRequest, profile_service: Profiles, db_session: DbSession
    ) -> list[ProfileOut]:
        """The caller's profiles with status, identity and last activity; for admins also who holds each
        connection (`connection`)."""
        profiles = await services.list_owned(db_session, request.user.id)
        counts = await profile_service.channel_counts(db_session, [p.id for p in profiles])
        listed = [services.to_out(p, counts.get(p.id, 0)) for p in profiles]
        if request.user.is_admin:
            held = await ownership.connections(profile_service.telegram.leases, profiles)
            for out in listed:
                out.connection = held[out.id]
        return listed

    @post("/start", status_code=HTTP_200_OK)
    async def start(
        self, data: JSONBody[StartLogin], request: AuthRequest, profile_service: Profiles, db_session: DbSession
    ) -> LoginStarted:
        """Send the login code to the phone; calling it again restarts the login."""
        sent = await login.start(
            db_session,
            profile_service.login,
            owner_id=request.user.id,
            phone=data.phone,
            label=data.label,
            api_id=data.api_id,
            api_hash=data.api_hash,
            device=data.device,
            proxy=data.proxy,
        )
        return LoginStarted(
            phone=sent.phone,
            status="code_sent",
            code_type=sent.code_type,
            code_length=sent.code_length,
            timeout=sent.timeout,
            expires_at=sent.expires_at,
            email_pattern=sent.email_pattern,
        )

    @post("/code")
    async def code(
        self, data: JSONBody[SubmitCode], request: AuthRequest, profile_service: Profiles, db_session: DbSession
    ) -> Response[LoginResult]:
        """Submit the login code: binds the profile (201) or asks for the 2FA password (200)."""
        outcome = await login.submit_code(
            db_session, profile_service.login, owner_id=request.user.id, phone=data.phone, code=data.code
        )
        return _bound(profile_service, db_session, outcome)

    @post("/password")
    async def password(
        self, data: JSONBody[SubmitPassword], request: AuthRequest, profile_service: Profiles, db_session: DbSession
    ) -> Response[LoginResult]:
        """Submit the 2FA password to complete the login."""
        outcome = await login.submit_password(
            db_session, profile_service.login, owner_id=request.user.id, phone=data.phone, password=data.password
        )
        return _bound(profile_service, db_session, outcome)

    @post("/import", status_code=HTTP_201_CREATED)
    async def import_session(
        self, request: AuthRequest, profile_service: Profiles, db_session: DbSession
    ) -> Response[ProfileOut]:
        """Import an existing session, verified against Telegram before it is stored.

        Send JSON `{session_string, label?, api_id?, api_hash?, device?, proxy?}` with a Telethon StringSession, or
        a multipart form with a Telethon `.session` file in the field `file` and the same optional fields (`device`
        and `proxy` as JSON objects).
        """
        content_type = request.headers.get("content-type", "")
        try:
            if content_type.startswith("multipart/form-data"):
                data = await _import_form(request)
            else:
                data = msgspec.convert(await request.json(), type=ImportSession)
                data.session_string = validate_string_session(data.session_string)
        except InvalidSession as exc:
            raise ValidationFailed(str(exc), code="invalid_session") from None
        except msgspec.ValidationError as exc:
            raise ValidationFailed(str(exc)) from None
        except msgspec.DecodeError:
            raise BadRequest("request body is not valid JSON", code="invalid_json") from None
        return await _import(profile_service, db_session, request.user.id, data)

    @patch("/{phone:str}")
    async def update(
        self,
        phone: str,
        data: JSONBody[ProfileUpdate],
        request: AuthRequest,
        profile_service: Profiles,
        db_session: DbSession,
    ) -> Response[ProfileOut]:
        """Change the label, the channel limit, the send budgets, or activate/deactivate the profile."""
        profile = await services.get_owned(db_session, request.user.id, phone)
        proxy_changed = not isinstance(data.proxy, msgspec.UnsetType)
        if not isinstance(data.proxy, msgspec.UnsetType):
            new_proxy = proxies.given(data.proxy)
            telegram, settings = profile_service.telegram, profile_service.login.settings
            await proxies.check(telegram.connector, proxies.effective(new_proxy, settings))
            services.change_proxy(profile, profile_service.box, new_proxy)
        activity_changed = services.apply_update(profile, data)
        await db_session.flush()
        if proxy_changed and not activity_changed and profile.is_active:
            # One live connection per session: the old one ends before the new proxy is dialled.
            after_commit(db_session, functools.partial(profile_service.telegram.reconnect, profile.id))
        if activity_changed:
            runtime = profile_service.telegram.runtime
            profile_id = profile.id

            async def follow() -> None:
                if profile.is_active:
                    runtime.activate(profile_id)
                else:
                    await runtime.deactivate(profile_id)

            after_commit(db_session, follow)
        counts = await profile_service.channel_counts(db_session, [profile.id])
        return Response(services.to_out(profile, counts.get(profile.id, 0)))

    @get("/{phone:str}/limits")
    async def limits(
        self, phone: str, request: AuthRequest, profile_service: Profiles, db_session: DbSession
    ) -> LimitsOut:
        """The profile's send budgets today (UTC): limit, used, remaining and when each resets."""
        profile = await services.get_owned(db_session, request.user.id, phone)
        return await budgets.report(db_session, profile, profile_service.budget)

    @delete("/{phone:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove(
        self,
        phone: str,
        request: AuthRequest,
        profile_service: Profiles,
        db_session: DbSession,
        keep_history: Annotated[bool, Parameter(query="keep_history")] = False,
    ) -> None:
        """Log the session out at Telegram and delete the profile (`?keep_history=true` keeps stored messages)."""
        profile = await services.get_owned(db_session, request.user.id, phone)
        settings = profile_service.login.settings
        default_proxy = settings.telegram_proxy if settings is not None else None
        credentials = services.credentials_of(profile, profile_service.box, default_proxy)
        try:
            await profile_service.telegram.log_out(credentials)
        except TimeoutError:
            raise ServiceUnavailable("the profile is busy in another process; retry", code="profile_busy") from None
        except Exception as exc:
            raise to_app_error(exc) from None
        await services.delete(db_session, profile, keep_history=keep_history)
        log_event(
            "info",
            "profiles",
            "profile.deleted",
            "profile logged out and deleted",
            user_id=request.user.id,
            profile_id=profile.id,
            context={"keep_history": keep_history},
        )


FORM_JSON_FIELDS = ("device", "proxy")


async def _import_form(request: AuthRequest) -> ImportSession:
    """A multipart import: its fields checked as the JSON body's are (before the file is parsed), then the file."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("multipart field 'file' with a .session file is required", code="invalid_session")
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name == "file" or value == "":
            continue
        where = [{"field": name, "source": "body"}]
        if not isinstance(value, str):
            raise ValidationFailed(f"multipart field {name!r} must be text", details=where)
        if name == "label" and len(value) > LABEL_MAX_LENGTH:
            raise ValidationFailed(f"label must be at most {LABEL_MAX_LENGTH} characters", details=where)
        try:
            fields[name] = msgspec.json.decode(value) if name in FORM_JSON_FIELDS else value
        except msgspec.DecodeError:
            raise ValidationFailed(f"multipart field {name!r} must be a JSON object", details=where) from None
    options = msgspec.convert(fields, type=ImportForm, strict=False)  # "12345" is an api_id in a form
    devices.given(options.device)  # a bad device or proxy is refused before the file is parsed, as in JSON
    proxies.given(options.proxy)
    return ImportSession(
        session_string=await string_session_from_file(await upload.read()),
        label=options.label or None,
        api_id=options.api_id,
        api_hash=options.api_hash,
        device=options.device,
        proxy=options.proxy,
    )


async def _import(
    profiles: ProfileService, db_session: DbSession, owner_id: Any, data: ImportSession
) -> Response[ProfileOut]:
    telegram = profiles.telegram
    api_id = data.api_id or telegram.default_api_id
    api_hash = data.api_hash or telegram.default_api_hash
    session_value, label = data.session_string, data.label
    identity = devices.given(data.device) or choose_identity(profiles.login.identities)
    named = proxies.given(data.proxy)
    settings = profiles.login.settings
    if settings is not None:
        proxy, used = await proxies.for_binding(db_session, settings, telegram.connector, named)
    else:
        proxy = used = named
        await proxies.check(telegram.connector, used)
    verified = await verify_session(telegram.connector, session_value, api_id, api_hash, identity, used)
    me = verified.me
    if not me.phone:
        raise ValidationFailed("Telegram did not disclose the account's phone number", code="invalid_session")
    profile = await services.bind(
        db_session,
        profiles.box,
        owner_id=owner_id,
        phone=services.normalize_phone(me.phone),
        label=label,
        api_id=api_id,
        api_hash=api_hash,
        session_string=session_value,
        me=me,
        checkpoint=verified.checkpoint,
        identity=identity,
        proxy=proxy,
    )
    _activate_after_commit(profiles, db_session, profile.id)
    return Response(services.to_out(profile), status_code=HTTP_201_CREATED)


class UtilsController(Controller):
    tags = ["profiles"]

    @get("/utils/me")
    async def me(self, request: AuthRequest, profile_service: Profiles, db_session: DbSession) -> UtilsMe:
        """The application user and the Telegram identity of each of their profiles."""
        user = await accounts.get_user(db_session, request.user.id)
        if user is None:
            raise NotFound("user not found")
        profiles = await services.list_owned(db_session, user.id)
        counts = await profile_service.channel_counts(db_session, [p.id for p in profiles])
        return UtilsMe(
            id=user.id,
            email=user.email,
            role=user.role,
            profiles=[services.to_out(p, counts.get(p.id, 0)) for p in profiles],
        )
