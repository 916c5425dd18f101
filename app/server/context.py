"""The process-wide objects a request needs, built once at start-up and injected as `ctx`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from litestar.stores.base import Store
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.accounts.revocations import LoginRevocations
from app.domain.accounts.services import TokenPolicy
from app.domain.accounts.shown_users import ShownUsers
from app.domain.accounts.throttle import LoginThrottle
from app.domain.apikeys.authentication import BearerAuthenticator
from app.domain.logs.store import LogStore
from app.domain.messages.ingest import MessageIngest
from app.domain.messages.listing_cache import ConversationListings
from app.domain.profiles.code_limits import CodeSendLimit
from app.domain.system.health import HealthCheck, HealthReporter
from app.domain.system.metrics import DatabaseAggregates
from app.lib.crypto import SecretBox
from app.lib.metrics import HttpMetrics
from app.lib.security import PasswordHasher, TokenCodec
from app.lib.targets import Resolver, TargetPolicy, system_resolver
from app.telegram.service import TelegramService


@dataclass(slots=True)
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    token_policy: TokenPolicy
    hasher: PasswordHasher
    secret_box: SecretBox
    denylist: Store
    throttle: LoginThrottle
    logs: LogStore
    code_sends: CodeSendLimit
    health_checks: list[HealthCheck] = field(default_factory=list)
    shown_users: ShownUsers = field(init=False)  # what GET /auth/me shows, kept for USER_CACHE_TTL_S
    health: HealthReporter = field(init=False)  # answers GET /health from `health_checks`
    conversations: ConversationListings = field(init=False)  # GET /conversations, kept until the inbox changes
    metrics_aggregates: DatabaseAggregates = field(init=False)  # the database-wide figures of GET /metrics
    http_metrics: HttpMetrics = field(default_factory=HttpMetrics)
    telegram: TelegramService = field(init=False)
    revocations: LoginRevocations = field(init=False)  # needs the channels plugin, built with the app
    bearer: BearerAuthenticator = field(init=False)  # access tokens and API keys (app/domain/apikeys)
    ingest: MessageIngest | None = None  # set while this process runs the inbox writer
    # SQLite has one writer at a time: request-path writers (sends) take turns here instead of each holding a
    # pooled connection while it waits for the file lock. None on PostgreSQL.
    sqlite_writes: asyncio.Lock | None = None
    resolver: Resolver = system_resolver  # how outbound target names resolve (tests inject their own)

    @property
    def codec(self) -> TokenCodec:
        return self.token_policy.codec

    @property
    def target_policy(self) -> TargetPolicy:
        """The private-target policy of every URL a user names (webhooks, S3 endpoints)."""
        return TargetPolicy(allow_private=self.settings.webhook_allow_private_targets, resolver=self.resolver)
