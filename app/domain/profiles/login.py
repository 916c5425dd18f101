"""Binding a profile by phone -> code -> 2FA password, with the flow state kept server-side.

Each step opens a short-lived client from the flow's encrypted temporary session, so the steps survive an API
restart and may hit different replicas. A lease per flow keeps two concurrent steps from sharing the session.
The login code and the 2FA password are used once and never stored or logged.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import LoginFlow, TelegramProfile
from app.domain.profiles import devices, proxies, services
from app.domain.profiles.code_limits import CodeSendLimit
from app.domain.profiles.schemas import Device, ProxyIn
from app.lib.crypto import SecretBox
from app.lib.devices import DEFAULT_DEVICE_IDENTITIES, DeviceIdentity
from app.lib.errors import Conflict, Gone
from app.lib.logging import log_event
from app.lib.proxies import ProxySpec
from app.telegram.connector import TelegramConnector
from app.telegram.leases import LeaseStore
from app.telegram.login import LoginStep, PasswordNeeded, login_step
from app.telegram.records import AccountInfo

FLOW_TTL = timedelta(minutes=5)
EMAIL_CODE_STAGE = "email_code"  # a code step whose code Telegram emailed (signed in as email_verification)


@dataclass(frozen=True, slots=True)
class LoginDeps:
    connector: TelegramConnector
    leases: LeaseStore
    box: SecretBox
    default_api_id: int
    default_api_hash: str
    code_sends: CodeSendLimit
    identities: tuple[DeviceIdentity, ...] = DEFAULT_DEVICE_IDENTITIES  # DEVICE_IDENTITIES
    settings: Settings | None = None  # TELEGRAM_PROXY, PROXY_POOL


@dataclass(frozen=True, slots=True)
class CodeSent:
    phone: str
    code_type: str
    code_length: int | None
    timeout: int | None
    expires_at: datetime
    email_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class StepOutcome:
    profile: TelegramProfile | None
    password_hint: str | None = None


def _step(
    deps: LoginDeps,
    owner_id: UUID,
    phone: str,
    session: str | None,
    api_id: int,
    api_hash: str,
    identity: DeviceIdentity | None,
    proxy: ProxySpec | None,
) -> AbstractAsyncContextManager[LoginStep]:
    lease = f"login:{owner_id}:{phone}"
    return login_step(deps.connector, deps.leases, lease, session, api_id, api_hash, identity, proxy)


async def start(
    session: AsyncSession,
    deps: LoginDeps,
    *,
    owner_id: UUID,
    phone: str,
    label: str | None,
    api_id: int | None,
    api_hash: str | None,
    device: Device | None = None,
    proxy: ProxyIn | None = None,
) -> CodeSent:
    """Ask Telegram to send a login code; calling it again restarts the flow."""
    phone = services.normalize_phone(phone)
    await services.ensure_bindable(session, owner_id, phone)
    identity = await devices.for_binding(session, phone, device, deps.identities)  # before a code is spent
    named = proxies.given(proxy)
    if deps.settings is not None:
        own, used = await proxies.for_binding(session, deps.settings, deps.connector, named)
    else:
        own = used = named
        await proxies.check(deps.connector, used)
    await deps.code_sends.spend(owner_id, phone)
    api_id, api_hash = api_id or deps.default_api_id, api_hash or deps.default_api_hash
    await session.execute(delete(LoginFlow).where(LoginFlow.owner_id == owner_id, LoginFlow.phone == phone))
    async with _step(deps, owner_id, phone, None, api_id, api_hash, identity, used) as step:
        sent = await step.send_code(phone)
        temporary_session = step.session_string()
    expires_at = datetime.now(UTC) + FLOW_TTL
    flow = LoginFlow(
        owner_id=owner_id,
        phone=phone,
        label=label,
        api_id=api_id,
        api_hash_encrypted=deps.box.encrypt(api_hash),
        session_encrypted=deps.box.encrypt(temporary_session),
        phone_code_hash_encrypted=deps.box.encrypt(sent.phone_code_hash),
        expires_at=expires_at,
        stage=EMAIL_CODE_STAGE if sent.code_type == "email" else "code",
    )
    devices.store(flow, identity)
    proxies.store(flow, deps.box, own)
    session.add(flow)
    await session.flush()
    log_event(
        "info",
        "profiles",
        "login.code_sent",
        "login code requested",
        user_id=owner_id,
        context={"code_type": sent.code_type},
    )
    return CodeSent(phone, sent.code_type, sent.code_length, sent.timeout, expires_at, sent.email_pattern)


async def _flow(session: AsyncSession, owner_id: UUID, phone: str, *stages: str) -> LoginFlow:
    phone = services.normalize_phone(phone)
    flow = await session.scalar(select(LoginFlow).where(LoginFlow.owner_id == owner_id, LoginFlow.phone == phone))
    if flow is None:
        raise Conflict(
            "no login is in progress for this phone; call POST /profiles/start first", code="no_login_in_progress"
        )
    if flow.expires_at <= datetime.now(UTC):
        raise Gone("this login has expired; call POST /profiles/start again", code="login_expired")
    if flow.stage not in stages:
        wanted = "the 2FA password (POST /profiles/password)" if flow.stage == "password" else "the code"
        raise Conflict(f"this login is waiting for {wanted}", code="wrong_login_step")
    return flow


def _identity(deps: LoginDeps, flow: LoginFlow) -> DeviceIdentity:
    """The flow's device (a flow started before identities were stored gets the connector's default)."""
    return devices.identity_of(flow) or deps.connector.default_identity


async def _bind_from(
    session: AsyncSession, deps: LoginDeps, flow: LoginFlow, step: LoginStep, me: AccountInfo
) -> TelegramProfile:
    checkpoint = await step.checkpoint()
    profile = await services.bind(
        session,
        deps.box,
        owner_id=flow.owner_id,
        phone=flow.phone,
        label=flow.label,
        api_id=flow.api_id,
        api_hash=deps.box.decrypt(flow.api_hash_encrypted),
        session_string=step.session_string(),
        me=me,
        checkpoint=checkpoint,
        identity=_identity(deps, flow),
        proxy=proxies.proxy_of(flow, deps.box),
    )
    await session.delete(flow)
    await session.flush()
    return profile


async def submit_code(session: AsyncSession, deps: LoginDeps, *, owner_id: UUID, phone: str, code: str) -> StepOutcome:
    """Sign in with the code: binds the profile, or moves the flow to the 2FA password step."""
    flow = await _flow(session, owner_id, phone, "code", EMAIL_CODE_STAGE)
    api_hash = deps.box.decrypt(flow.api_hash_encrypted)
    temporary_session = deps.box.decrypt(flow.session_encrypted)
    proxy = proxies.effective(proxies.proxy_of(flow, deps.box), deps.settings)
    async with _step(
        deps, owner_id, flow.phone, temporary_session, flow.api_id, api_hash, _identity(deps, flow), proxy
    ) as step:
        signed_in = await step.sign_in_with_code(
            flow.phone,
            code.strip(),
            deps.box.decrypt(flow.phone_code_hash_encrypted),
            emailed=flow.stage == EMAIL_CODE_STAGE,
        )
        if isinstance(signed_in, PasswordNeeded):
            flow.stage = "password"
            flow.password_hint = signed_in.hint
            await session.flush()
            return StepOutcome(None, password_hint=signed_in.hint or "")
        return StepOutcome(await _bind_from(session, deps, flow, step, signed_in))


async def submit_password(
    session: AsyncSession, deps: LoginDeps, *, owner_id: UUID, phone: str, password: str
) -> StepOutcome:
    """Complete a 2FA login."""
    flow = await _flow(session, owner_id, phone, "password")
    api_hash = deps.box.decrypt(flow.api_hash_encrypted)
    temporary_session = deps.box.decrypt(flow.session_encrypted)
    proxy = proxies.effective(proxies.proxy_of(flow, deps.box), deps.settings)
    async with _step(
        deps, owner_id, flow.phone, temporary_session, flow.api_id, api_hash, _identity(deps, flow), proxy
    ) as step:
        me = await step.sign_in_with_password(password)
        return StepOutcome(await _bind_from(session, deps, flow, step, me))


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(LoginFlow).where(LoginFlow.expires_at <= datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)
