"""Which proxy a profile connects through: given at bind/import or by PATCH, else TELEGRAM_PROXY, else PROXY_POOL.

The whole proxy (credentials, MTProxy secret) is encrypted at rest like a session; only type, host and port are
kept in clear to be shown. A proxy is checked before it is stored (422 `proxy_unreachable`); a profile whose
proxy later fails is `proxy_failed` and is not connected until its proxy is changed (never around it).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import TelegramProfile
from app.db.models.profile import ProxyColumns
from app.domain.profiles import proxy_pool
from app.domain.profiles.schemas import ProxyIn, ProxyOut
from app.lib.crypto import SecretBox
from app.lib.errors import ValidationFailed
from app.lib.proxies import InvalidProxy, ProxySpec
from app.telegram.connector import TelegramConnector
from app.telegram.proxy_check import reaches_telegram


def given(proxy: ProxyIn | None) -> ProxySpec | None:
    """The proxy a request named, checked beyond the schema (422 `invalid_proxy`)."""
    if proxy is None:
        return None
    try:
        secret = proxy.secret.lower() if proxy.secret is not None else None
        return ProxySpec(proxy.type, proxy.host, proxy.port, proxy.username, proxy.password, secret)
    except InvalidProxy as exc:
        raise ValidationFailed(str(exc), code="invalid_proxy", details=[{"field": "proxy"}]) from None


async def check(connector: TelegramConnector, proxy: ProxySpec | None) -> None:
    """422 `proxy_unreachable` unless Telegram answers through `proxy` (nothing to check without one)."""
    if proxy is not None and not await reaches_telegram(connector, proxy):
        raise ValidationFailed(
            f"Telegram could not be reached through the {proxy.kind} proxy {proxy.host}:{proxy.port}",
            code="proxy_unreachable",
            details=[{"field": "proxy"}],
        )


def effective(own: ProxySpec | None, settings: Settings | None) -> ProxySpec | None:
    """What a profile connects through: its own proxy, else TELEGRAM_PROXY (not stored: a change applies to all)."""
    return own if own is not None or settings is None else settings.telegram_proxy


async def for_binding(
    session: AsyncSession, settings: Settings, connector: TelegramConnector, named: ProxySpec | None
) -> tuple[ProxySpec | None, ProxySpec | None]:
    """The proxy a new profile keeps as its own and the one it connects through now, each checked first.

    The request's proxy is its own; else TELEGRAM_PROXY carries it (kept by none); else the PROXY_POOL entries are
    tried from the least used on, leaving out those the periodic pool check found unhealthy, and the first that
    reaches Telegram becomes its own (a dead entry is passed over); 422 `proxy_unreachable` when the chosen
    proxy, or every pool entry, fails.
    """
    if named is not None or settings.telegram_proxy is not None or not settings.proxy_pool:
        used = effective(named, settings)
        await check(connector, used)
        return named, used
    rows = await session.execute(
        select(TelegramProfile.proxy_host, TelegramProfile.proxy_port, func.count())
        .where(TelegramProfile.proxy_host.is_not(None))
        .group_by(TelegramProfile.proxy_host, TelegramProfile.proxy_port)
    )
    used_by = Counter({(host, port): count for host, port, count in rows})
    down = await proxy_pool.unhealthy(session)  # what the periodic pool check found dead is given to nobody
    candidates = [p for p in settings.proxy_pool if proxy_pool.address(p) not in down]
    for candidate in sorted(candidates, key=lambda p: used_by[(p.host, p.port)]):
        if await reaches_telegram(connector, candidate):
            return candidate, candidate
    raise ValidationFailed("no proxy of PROXY_POOL reaches Telegram", code="proxy_unreachable")


def store(row: ProxyColumns, box: SecretBox, proxy: ProxySpec | None) -> None:
    row.proxy_encrypted = box.encrypt(proxy.to_json()) if proxy is not None else None
    row.proxy_type = proxy.kind if proxy is not None else None
    row.proxy_host = proxy.host if proxy is not None else None
    row.proxy_port = proxy.port if proxy is not None else None


def proxy_of(row: ProxyColumns, box: SecretBox) -> ProxySpec | None:
    return ProxySpec.from_json(box.decrypt(row.proxy_encrypted)) if row.proxy_encrypted else None


def out(row: ProxyColumns) -> ProxyOut | None:
    if row.proxy_type is None or row.proxy_host is None or row.proxy_port is None:
        return None
    return ProxyOut(row.proxy_type, row.proxy_host, row.proxy_port)
