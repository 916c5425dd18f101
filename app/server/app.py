"""Builds the Litestar application: plugins, routes, middleware, lifespan. Nothing else imports this module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.response_cache import ResponseCacheConfig
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.config import Settings, get_settings
from app.db.engine import create_engine, create_sessionmaker, sqlalchemy_config
from app.db.write_watch import watch_writes
from app.domain.accounts.controllers import AccountsController, InvitationsController
from app.domain.accounts.registration import announce_setup_token
from app.domain.accounts.revocations import LoginRevocations
from app.domain.accounts.services import TokenPolicy
from app.domain.accounts.shown_users import ShownUsers
from app.domain.accounts.throttle import LoginThrottle
from app.domain.apikeys.authentication import BearerAuthenticator
from app.domain.apikeys.controllers import ApiKeysController
from app.domain.archives.controllers import ArchivesController, ProfileChannelsController
from app.domain.channels.controllers import ChannelsController
from app.domain.events.controllers import events_socket
from app.domain.events.pubsub import create_channels_plugin
from app.domain.logs.controllers import LogsController
from app.domain.logs.store import LogStore
from app.domain.messages.contacts import ContactsController
from app.domain.messages.controllers import ConversationsController, MessagesController
from app.domain.messages.listing_cache import INBOX_TABLES, ConversationListings
from app.domain.profiles.code_limits import CodeSendLimit
from app.domain.profiles.controllers import ProfilesController, UtilsController
from app.domain.profiles.pool_controllers import ProxyPoolController
from app.domain.profiles.source import DatabaseProfileSource
from app.domain.system.controllers import SystemController
from app.domain.system.health import HealthCheck, HealthReporter
from app.domain.system.metrics import DatabaseAggregates
from app.domain.webhooks.controllers import WebhooksController
from app.lib.counters import create_attempt_counter
from app.lib.crypto import SecretBox
from app.lib.logging import configure_logging, log_event
from app.lib.metrics import HttpMetrics
from app.lib.security import PasswordHasher, TokenCodec
from app.lib.targets import Resolver
from app.server.auth import JWTAuthMiddleware
from app.server.context import AppContext
from app.server.dashboard import dashboard_environment, dashboard_router, redirect_to_dashboard
from app.server.deps import app_dependencies
from app.server.docs import API_DESCRIPTION, docs_assets_router, openapi_config
from app.server.errors import EXCEPTION_HANDLERS
from app.server.input_guard import CheckedRequest, NulInUrlGuard
from app.server.mcp import McpMount
from app.server.openapi_contract import complete_before_docs
from app.server.preflight import default_password_warnings
from app.server.request_log import RequestLogMiddleware
from app.server.rooms import connect_rooms
from app.server.runtime import BackgroundRuntime, Role
from app.server.stores import create_redis, create_store
from app.telegram.service import build_telegram


class Service(Litestar):
    """Litestar with the request-log layer outermost, so even unrouted requests (404, 405) are logged.

    Outside even that, forwarded headers are applied, and only from `FORWARDED_ALLOW_IPS`: the client address
    that throttling and the request log see is the proxy's word only when the proxy is trusted.
    """

    def __init__(
        self, *args: Any, http_metrics: HttpMetrics, forwarded_allow_ips: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        # both are read by _create_asgi_handler, which Litestar's __init__ calls
        self.http_metrics = http_metrics
        self.forwarded_allow_ips = forwarded_allow_ips
        super().__init__(*args, **kwargs)

    def _create_asgi_handler(self) -> ASGIApp:
        handler: ASGIApp = RequestLogMiddleware(super()._create_asgi_handler(), self.http_metrics)
        if self.forwarded_allow_ips:
            handler = cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, handler), list(self.forwarded_allow_ips)))
        return handler


def build_context(settings: Settings, *, resolver: Resolver | None = None) -> AppContext:
    engine = create_engine(settings)
    redis = create_redis(settings)
    context = AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        redis=redis,
        token_policy=TokenPolicy(
            codec=TokenCodec(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience),
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            password_min_length=settings.password_min_length,
            password_max_length=settings.password_max_length,
        ),
        hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost_kib=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.password_hash_concurrency,
        ),
        secret_box=SecretBox(settings.encryption_keys),
        denylist=create_store(redis, "denylist"),
        throttle=LoginThrottle(
            create_attempt_counter(redis, "throttle"),
            per_account=settings.login_max_failures_per_account,
            per_ip=settings.login_max_failures_per_ip,
            window_s=settings.login_throttle_window_s,
            max_s=settings.login_throttle_max_s,
        ),
        logs=LogStore(settings),
        code_sends=CodeSendLimit(
            create_attempt_counter(redis, "code-sends"),
            per_phone=settings.profile_code_sends_per_phone,
            per_user=settings.profile_code_sends_per_user,
            window_s=settings.profile_code_window_s,
        ),
    )
    if resolver is not None:
        context.resolver = resolver
    if settings.sqlite:
        context.sqlite_writes = asyncio.Lock()
    source = DatabaseProfileSource(
        context.sessionmaker, context.secret_box, settings.device_identities, settings.telegram_proxy
    )
    context.telegram = build_telegram(settings, redis, source)
    context.health_checks.extend(_core_health_checks(context))
    context.bearer = BearerAuthenticator(
        codec=context.codec,
        denylist=context.denylist,
        sessionmaker=context.sessionmaker,
        counter=create_attempt_counter(redis, "api-keys"),
    )
    context.shown_users = ShownUsers(context.sessionmaker, settings.user_cache_ttl_s)
    context.conversations = ConversationListings(settings.conversations_cache_s, redis)
    watch_writes(engine, INBOX_TABLES, context.conversations.changed)
    context.health = HealthReporter(context.health_checks, settings.health_cache_s)
    context.metrics_aggregates = DatabaseAggregates(
        context.sessionmaker, context.telegram.leases, settings.metrics_scrape_interval_s
    )
    return context


def _core_health_checks(ctx: AppContext) -> list[HealthCheck]:
    async def database() -> None:
        async with ctx.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def store() -> None:
        await ctx.denylist.exists("health-probe")

    checks = [HealthCheck("database", database), HealthCheck("store", store)]
    if ctx.redis is not None:
        redis = ctx.redis

        async def redis_ping() -> None:
            await redis.ping()

        checks.append(HealthCheck("redis", redis_ping))
    if ctx.logs.queryable:
        logs = ctx.logs

        async def clickhouse() -> None:
            await asyncio.to_thread(logs.ping)

        # Not critical: requests are served (and lines printed) while the log store is away.
        checks.append(HealthCheck("clickhouse", clickhouse, critical=False, details=logs.details))
    return checks


def create_app(
    settings: Settings | None = None,
    *,
    run_background: bool = True,
    resolver: Resolver | None = None,
    role: Role | None = None,
) -> Litestar:
    """The application of a process in `role` (`serve` by default; `run_background=False` means `api`).

    The role decides which background services run (`app.server.runtime`). `resolver` replaces the system
    resolver for outbound targets (tests control what names answer).
    """
    role = role or ("serve" if run_background else "api")
    settings = settings or get_settings()
    # Idempotent: one stdlib bridge however many apps are built.
    configure_logging(settings.log_level, console=settings.log_format == "console")
    for warning in default_password_warnings(settings):
        log_event("warning", "server", "config.default_password", warning)
    connect_rooms()  # before anything runs domain code: profiles and messages reach channels through it
    ctx = build_context(settings, resolver=resolver)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        """The process's resources, entered first and left last (the services run inside, see BackgroundRuntime)."""
        try:
            if settings.registration != "open":
                await announce_setup_token(ctx.sessionmaker)
            yield
        finally:
            if ctx.redis is not None:
                await ctx.redis.aclose()
            await ctx.engine.dispose()

    channels = create_channels_plugin(ctx.redis, queue_size=settings.ws_queue_size)
    ctx.revocations = LoginRevocations(channels)
    ctx.bearer.revocations = ctx.revocations  # a revoked key's open sockets close like a logout's
    runtime = BackgroundRuntime(ctx, channels, role)
    mcp = McpMount()

    app = Service(
        http_metrics=ctx.http_metrics,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        route_handlers=[
            AccountsController,
            ApiKeysController,
            InvitationsController,
            ArchivesController,
            ChannelsController,
            ContactsController,
            ConversationsController,
            LogsController,
            MessagesController,
            ProfileChannelsController,
            ProfilesController,
            ProxyPoolController,
            SystemController,
            UtilsController,
            WebhooksController,
            events_socket,
            mcp.handler(),
            dashboard_router(),
            dashboard_environment,
            docs_assets_router(),
            redirect_to_dashboard,
        ],
        plugins=[
            SQLAlchemyPlugin(config=sqlalchemy_config(settings, ctx.engine)),
            channels,
            ctx.revocations,
            runtime,  # after pub/sub: its services publish through it (app.server.runtime)
        ],
        dependencies=app_dependencies(ctx),
        middleware=[NulInUrlGuard, DefineMiddleware(JWTAuthMiddleware, exclude=["^/schema"])],
        request_class=CheckedRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # app.lib.logging owns the root logger; Litestar's config would replace its bridge
        lifespan=[lifespan, mcp.lifespan],
        before_request=complete_before_docs,
        request_max_body_size=settings.max_request_body_bytes,
        response_cache_config=ResponseCacheConfig(),
        openapi_config=openapi_config(title="Telegram Multi-Profile API", version="0.1.0", description=API_DESCRIPTION),
        debug=False,
    )
    app.state.ctx = ctx
    mcp.bind(app)
    return app


def create_api_app() -> Litestar:
    """`python -m app api`: HTTP and WebSocket only; Telegram work happens in worker processes."""
    return create_app(role="api")
