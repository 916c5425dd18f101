"""What the profiles endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain.profiles.budgets import BudgetPolicy
from app.domain.profiles.code_limits import CodeSendLimit
from app.domain.profiles.login import LoginDeps
from app.lib.crypto import SecretBox
from app.lib.devices import DEFAULT_DEVICE_IDENTITIES
from app.lib.di import provide_value
from app.telegram.service import TelegramService


class ChannelCounts(Protocol):
    """How many monitored channels each profile listens to: the channels room answers (wired at start-up)."""

    async def __call__(self, session: AsyncSession, profile_ids: Sequence[UUID], /) -> dict[UUID, int]: ...


@dataclass(frozen=True, slots=True)
class ProfileService:
    """Binding, importing, listing and removing profiles: Telegram, the box sessions are sealed in, the login."""

    telegram: TelegramService
    box: SecretBox
    login: LoginDeps
    channel_counts: ChannelCounts
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)  # SEND_BUDGET_* (GET /profiles/{phone}/limits)


def provide_profile_service(
    *,
    telegram: TelegramService,
    box: SecretBox,
    code_sends: CodeSendLimit,
    channel_counts: ChannelCounts,
    settings: Settings | None = None,
) -> ProfileService:
    login = LoginDeps(
        connector=telegram.connector,
        leases=telegram.leases,
        box=box,
        default_api_id=telegram.default_api_id,
        default_api_hash=telegram.default_api_hash,
        code_sends=code_sends,
        identities=settings.device_identities if settings is not None else DEFAULT_DEVICE_IDENTITIES,
        settings=settings,  # TELEGRAM_PROXY, PROXY_POOL
    )
    budget = BudgetPolicy.from_settings(settings) if settings is not None else BudgetPolicy()
    return ProfileService(telegram=telegram, box=box, login=login, channel_counts=channel_counts, budget=budget)


def dependencies(service: ProfileService) -> dict[str, Provide]:
    return {"profile_service": provide_value(service)}
