"""What handlers receive by injection: every domain's dependencies, built once from the AppContext.

Each domain declares the names and types its controllers take (`app/domain/<room>/deps.py`) and builds them
from narrow inputs; this module is where the process-wide `AppContext` is taken apart for them, and where the
rooms are connected to each other (`connect_rooms`) without importing one another.
"""

from __future__ import annotations

from litestar.di import Provide

from app.domain.accounts import deps as accounts
from app.domain.accounts.tokens import AccessRevoker
from app.domain.apikeys import deps as apikeys
from app.domain.archives import deps as archives
from app.domain.channels import deps as channels
from app.domain.channels.services import channel_counts
from app.domain.events import deps as events
from app.domain.logs import deps as logs
from app.domain.messages import deps as messages
from app.domain.messages.ingest import MessageIngest
from app.domain.profiles import deps as profiles
from app.domain.system import deps as system
from app.domain.webhooks import deps as webhooks
from app.domain.webhooks.services import WebhookPolicy
from app.server.context import AppContext


def app_dependencies(ctx: AppContext) -> dict[str, Provide]:
    """Every named dependency of the routes (`db_session` comes from the SQLAlchemy plugin, `channels` from
    the pub/sub plugin). `ctx.revocations` must be set (it needs the pub/sub plugin)."""
    settings, telegram = ctx.settings, ctx.telegram

    def current_ingest() -> MessageIngest | None:
        return ctx.ingest  # set while this process runs the inbox writer

    sign_ins = accounts.SignIns(
        hasher=ctx.hasher,
        token_policy=ctx.token_policy,
        registration=settings.registration,
        throttle=ctx.throttle,
        shown_users=ctx.shown_users,
        revoker=AccessRevoker(ctx.denylist, settings.access_token_ttl_s, ctx.revocations),
        sessionmaker=ctx.sessionmaker,
    )
    return {
        **accounts.dependencies(sign_ins),
        **apikeys.dependencies(
            apikeys.KeyIssuing(default_rate_per_minute=settings.api_key_rate_limit_per_minute, bearer=ctx.bearer)
        ),
        **profiles.dependencies(
            profiles.provide_profile_service(
                telegram=telegram,
                box=ctx.secret_box,
                code_sends=ctx.code_sends,
                channel_counts=channel_counts,  # profiles list how many channels each follows (channels' answer)
                settings=settings,
            )
        ),
        **channels.dependencies(sessionmaker=ctx.sessionmaker, commands=telegram.commands, settings=settings),
        **messages.dependencies(
            sessionmaker=ctx.sessionmaker,
            commands=telegram.commands,
            settings=settings,
            sqlite_writes=ctx.sqlite_writes,
            listings=ctx.conversations,
        ),
        **archives.dependencies(
            archives.ArchiveSetup(
                commands=telegram.commands,
                box=ctx.secret_box,
                local_root=settings.archive_local_root,
                targets=ctx.target_policy,
            )
        ),
        **webhooks.dependencies(
            webhooks.WebhookEndpoints(
                box=ctx.secret_box,
                policy=WebhookPolicy(
                    targets=ctx.target_policy, default_max_per_second=settings.webhook_default_max_per_second
                ),
            )
        ),
        **events.dependencies(
            events.EventStreams(
                codec=ctx.codec,
                denylist=ctx.denylist,
                revocations=ctx.revocations,
                sessionmaker=ctx.sessionmaker,
                replay_limit=settings.ws_replay_limit,
                heartbeat_s=settings.ws_heartbeat_s,
                authenticate=ctx.bearer.authenticate,
            )
        ),
        **logs.dependencies(logs.LogQueries(store=ctx.logs, timeout_s=settings.logs_query_timeout_s)),
        **system.dependencies(
            ctx.health,
            system.MetricSources(
                token=settings.metrics_token,
                aggregates=ctx.metrics_aggregates,
                runtime=telegram.runtime,
                logs=ctx.logs,
                http=ctx.http_metrics,
                ingest=current_ingest,
            ),
        ),
    }
