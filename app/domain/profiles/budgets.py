"""Send budgets: per profile, messages per day and new chats per day, refused (429) before Telegram is asked.

Telegram punishes an account that writes to too many people it never talked to, or too much (PEER_FLOOD, long
FLOOD_WAITs, then bans), and publishes no numbers; the defaults stay well below what is known to trigger it.
A budget is spent in the send's claim transaction (app.domain.messages.services), one conditional upsert per
send, so concurrent sends on any number of API replicas never overspend it. A FLOOD_WAIT or PEER_FLOOD answer to a
send halves both budgets for `SEND_BUDGET_PENALTY_S`.

Windows are UTC days: usage resets at midnight UTC (`resets_at`). A "new chat" is a private chat the profile has
no stored message in yet (neither sent nor received): writing first to a stranger is what Telegram watches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import TelegramProfile
from app.db.models.budgets import SendBudgetUsage
from app.domain.profiles.schemas import BudgetOut, LimitsOut
from app.lib.errors import TooManyRequests
from app.lib.logging import log_event

_USAGE = cast(Table, SendBudgetUsage.__table__)
WINDOW = timedelta(days=1)
# Telegram's answers to a send that mean "this account sends too much": both budgets are halved for a while.
PENALISED_CODES = frozenset({"FLOOD_WAIT", "FLOOD_PREMIUM_WAIT", "peer_flood"})


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """The instance's defaults (0: no limit) and how long a flood answer halves a profile's budgets."""

    messages_per_day: int = 1000
    new_chats_per_day: int = 20
    penalty_s: float = 86_400.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BudgetPolicy:
        return cls(
            settings.send_budget_messages_per_day,
            settings.send_budget_new_chats_per_day,
            settings.send_budget_penalty_s,
        )


@dataclass(frozen=True, slots=True)
class Limits:
    messages: int | None  # None: no limit
    new_chats: int | None
    reduced_until: datetime | None  # while set, both are halved


def window_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def limits_of(profile: TelegramProfile, policy: BudgetPolicy, now: datetime) -> Limits:
    """The profile's own limits (or the defaults), halved while a flood penalty runs."""
    reduced = profile.send_budget_reduced_until
    reduced = reduced if reduced is not None and reduced > now else None

    def effective(own: int | None, default: int) -> int | None:
        base = own if own is not None else default
        if base <= 0:
            return None
        return max(1, base // 2) if reduced is not None else base

    return Limits(
        effective(profile.send_messages_per_day, policy.messages_per_day),
        effective(profile.send_new_chats_per_day, policy.new_chats_per_day),
        reduced,
    )


def _upsert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_USAGE)


async def spend(session: AsyncSession, profile_id: UUID, policy: BudgetPolicy, *, new_chat: bool) -> None:
    """Count one send (and one new chat), or refuse it with 429 `send_budget_exhausted` when a budget is spent."""
    profile = await session.get_one(TelegramProfile, profile_id)
    now = datetime.now(UTC)
    limits = limits_of(profile, policy, now)
    start = window_start(now)
    chats = 1 if new_chat else 0
    conditions = []
    if limits.messages is not None:
        conditions.append(_USAGE.c.messages < limits.messages)
    if limits.new_chats is not None and new_chat:
        conditions.append(_USAGE.c.new_chats < limits.new_chats)
    statement = (
        _upsert(session)
        .values(profile_id=profile_id, window_start=start, messages=1, new_chats=chats, created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=[_USAGE.c.profile_id, _USAGE.c.window_start],
            set_={
                "messages": _USAGE.c.messages + 1,
                "new_chats": _USAGE.c.new_chats + chats,
                "updated_at": now,
            },
            where=_and(conditions),
        )
        .returning(_USAGE.c.id)
    )
    if (await session.execute(statement)).first() is not None:
        return
    await _refuse(session, profile, limits, start, now, new_chat=new_chat)


def _and(conditions: list[Any]) -> Any:
    if not conditions:
        return None
    clause = conditions[0]
    for condition in conditions[1:]:
        clause = clause & condition
    return clause


async def _refuse(
    session: AsyncSession, profile: TelegramProfile, limits: Limits, start: datetime, now: datetime, *, new_chat: bool
) -> None:
    used = await session.scalar(
        select(SendBudgetUsage).where(SendBudgetUsage.profile_id == profile.id, SendBudgetUsage.window_start == start)
    )
    messages_spent = limits.messages is not None and used is not None and used.messages >= limits.messages
    which = "messages_per_day" if messages_spent or not new_chat else "new_chats_per_day"
    limit = limits.messages if which == "messages_per_day" else limits.new_chats
    resets_at = start + WINDOW
    log_event(
        "warning",
        "profiles",
        "profile.send_budget_exhausted",
        f"send refused: the profile's {which} budget is spent",
        user_id=profile.owner_id,
        profile_id=profile.id,
        context={"budget": which, "limit": limit, "reduced": limits.reduced_until is not None},
    )
    raise TooManyRequests(
        f"this profile's {which.replace('_', ' ')} budget ({limit}) is spent until {resets_at.isoformat()}",
        retry_after=math.ceil((resets_at - now).total_seconds()),
        code="send_budget_exhausted",
        details={"budget": which, "limit": limit, "resets_at": resets_at.isoformat()},
    )


async def refund(session: AsyncSession, profile_id: UUID, *, new_chat: bool) -> None:
    """Give back a send that never reached Telegram (refused by the pacing limits)."""
    start = window_start(datetime.now(UTC))
    await session.execute(
        update(SendBudgetUsage)
        .where(SendBudgetUsage.profile_id == profile_id, SendBudgetUsage.window_start == start)
        .where(SendBudgetUsage.messages > 0)
        .values(
            messages=SendBudgetUsage.messages - 1,
            new_chats=SendBudgetUsage.new_chats - (1 if new_chat else 0),
        )
    )


async def penalise(session: AsyncSession, profile_id: UUID, policy: BudgetPolicy, code: str) -> None:
    """Telegram answered a send with a flood error: halve the profile's budgets for `penalty_s` from now."""
    if code not in PENALISED_CODES or policy.penalty_s <= 0:
        return
    profile = await session.get(TelegramProfile, profile_id)
    if profile is None:
        return
    profile.send_budget_reduced_until = datetime.now(UTC) + timedelta(seconds=policy.penalty_s)
    log_event(
        "warning",
        "profiles",
        "profile.send_budget_reduced",
        f"Telegram answered a send with {code}: send budgets halved",
        user_id=profile.owner_id,
        profile_id=profile.id,
        context={"error": code, "until": profile.send_budget_reduced_until.isoformat()},
    )


async def report(session: AsyncSession, profile: TelegramProfile, policy: BudgetPolicy) -> LimitsOut:
    """What `GET /profiles/{phone}/limits` shows: each budget's limit, what is used, and when it resets."""
    now = datetime.now(UTC)
    limits = limits_of(profile, policy, now)
    start = window_start(now)
    used = await session.scalar(
        select(SendBudgetUsage).where(SendBudgetUsage.profile_id == profile.id, SendBudgetUsage.window_start == start)
    )
    resets_at = start + WINDOW

    def budget(limit: int | None, spent: int) -> BudgetOut:
        remaining = None if limit is None else max(0, limit - spent)
        return BudgetOut(limit=limit, used=spent, remaining=remaining, resets_at=resets_at)

    return LimitsOut(
        phone=profile.phone,
        messages_per_day=budget(limits.messages, used.messages if used else 0),
        new_chats_per_day=budget(limits.new_chats, used.new_chats if used else 0),
        reduced_until=limits.reduced_until,
        window_start=start,
    )
