"""One typed, frozen settings object, read once from the environment (and `.env` when present).

Every variable is listed with its default and meaning in `config/env.example`. Loading fails fast with a
message naming the variable that is wrong. In the embedded default (`APP_ENV=development`) the JWT secret
and the encryption key are generated once into `DATA_DIR/secrets.json` (mode 0600) and reused; production
refuses to start without them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

from app.config_sources import (
    EnvReader,
    SettingsError,
    embedded_encryption_keys,
    embedded_secrets,
    read_dotenv,
    validate_fernet_keys,
)
from app.lib.devices import DEFAULT_DEVICE_IDENTITIES, DeviceIdentity, InvalidDeviceIdentity, parse_identities
from app.lib.proxies import InvalidProxy, ProxySpec, parse_pool

AppEnv = Literal["development", "test", "production"]
TelegramMode = Literal["sandbox", "telegram"]
LogShipping = Literal["embedded", "stdout", "off"]
RegistrationPolicy = Literal["open", "invite", "closed"]
LogFormat = Literal["console", "json"]


@dataclass(frozen=True, slots=True)
class Settings:
    app_env: AppEnv = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str | None = None
    db_pool_size: int = 10
    db_pool_timeout_s: float = 5.0

    jwt_secret: str = field(default="", repr=False)
    jwt_issuer: str = "tg-multiprofile"
    jwt_audience: str = "tg-multiprofile-api"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)

    password_min_length: int = 8
    password_max_length: int = 1024
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 2
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_throttle_window_s: int = 900
    login_throttle_max_s: int = 86400
    api_key_rate_limit_per_minute: int = 120  # a key's default requests per minute (each key may set its own)
    password_hash_concurrency: int = 4
    registration: RegistrationPolicy = "open"
    forwarded_allow_ips: tuple[str, ...] = ()
    profile_code_sends_per_phone: int = 5
    profile_code_sends_per_user: int = 100
    profile_code_window_s: int = 3600
    max_request_body_bytes: int = 2_000_000
    max_request_head_bytes: int = 65_536
    max_request_headers: int = 100

    telegram_mode: TelegramMode = "sandbox"
    telegram_api_id: int | None = None
    telegram_api_hash: str | None = field(default=None, repr=False)
    telegram_dc: str | None = None
    telegram_extra_rsa_key: str | None = None
    profile_lease_ttl_ms: int = 15_000
    worker_heartbeat_ttl_ms: int = 6_000
    profile_connect_concurrency: int = 20
    profile_health_interval_s: float = 60.0
    profile_limited_recheck_s: float = 86_400.0  # a spam limit is assumed lifted after this (0: only by a send)
    device_identities: tuple[DeviceIdentity, ...] = DEFAULT_DEVICE_IDENTITIES  # chosen from at bind/import
    telegram_proxy: ProxySpec | None = field(default=None, repr=False)  # for profiles without their own
    proxy_pool: tuple[ProxySpec, ...] = field(default=(), repr=False)  # else one of these, the least used
    proxy_pool_check_interval_s: float = 60.0  # how often each PROXY_POOL entry is checked
    command_timeout_s: float = 15.0
    sandbox_port: int = 0
    sandbox_traffic_interval_s: float = 0.0

    clickhouse_dsn: str | None = None
    metrics_token: str | None = field(default=None, repr=False)
    metrics_scrape_interval_s: float = 15.0
    health_cache_s: float = 1.0
    user_cache_ttl_s: float = 2.0
    conversations_cache_s: float = 2.0
    log_shipping: LogShipping = "embedded"
    log_level: str = "INFO"
    log_format: LogFormat = "json"
    log_retention_days: int = 30
    log_buffer_size: int = 10_000
    log_batch_size: int = 500
    log_flush_interval_s: float = 1.0
    logs_query_timeout_s: int = 10

    ingest_queue_size: int = 10_000
    ingest_batch_size: int = 200
    ingest_checkpoint_interval_s: float = 0.25
    reconcile_interval_s: float = 300.0
    reconcile_dialogs: int = 20
    reconcile_messages_per_chat: int = 100
    gap_recovery_limit: int = 1000
    gap_refresh_chats: int = 100
    gap_refresh_messages: int = 100
    username_cache_ttl_s: float = 86_400.0
    telegram_request_timeout_s: float = 60.0
    username_resolve_interval_s: float = 1.0
    send_chat_interval_s: float = 1.0
    send_group_per_minute: int = 20
    send_account_per_minute: int = 30
    send_max_wait_s: float = 10.0
    send_budget_messages_per_day: int = 1000  # per profile and UTC day; 0: no limit
    send_budget_new_chats_per_day: int = 20  # private chats a profile writes to first, per UTC day; 0: no limit
    send_budget_penalty_s: float = 86_400.0  # a FLOOD_WAIT or PEER_FLOOD halves both budgets this long
    unread_per_dialog: int = 20

    ws_heartbeat_s: float = 25.0
    ws_queue_size: int = 256
    ws_replay_limit: int = 1000
    events_retention_days: int = 30
    webhook_allow_private_targets: bool = True
    webhook_disable_after_failures: int = 20  # and at least this many consecutive failed attempts
    webhook_disable_after_s: float = 5 * 86400.0  # an endpoint is disabled after failing for this long
    webhook_retry_schedule_s: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200)
    webhook_concurrency: int = 32
    webhook_endpoint_concurrency: int = 2
    webhook_default_max_per_second: float = 10.0
    webhook_connect_timeout_s: float = 5.0
    webhook_read_timeout_s: float = 10.0
    webhook_claim_ttl_s: float = 60.0
    webhook_poll_interval_s: float = 1.0

    media_download_max_bytes: int = 2 * 1024**3  # the largest file the download endpoints stream
    archive_local_root: Path = Path("data/archives")
    archive_batch_size: int = 500
    archive_poll_interval_s: float = 5.0
    archive_claim_ttl_s: float = 60.0
    archive_concurrency: int = 4
    archive_retry_after_s: float = 60.0

    channel_backfill_limit: int = 100
    channel_catchup_limit: int = 1000
    channel_failover_interval_s: float = 2.0
    channel_retry_min_s: float = 60.0
    channel_retry_max_s: float = 21_600.0

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _forwarded_allow_ips(raw: str | None) -> tuple[str, ...]:
    """Addresses or networks of trusted proxies (`*` trusts every peer); empty trusts none."""
    entries = tuple(part.strip() for part in (raw or "").split(",") if part.strip())
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry)
        except ValueError:
            raise SettingsError(
                f"FORWARDED_ALLOW_IPS entries must be IP addresses, networks or *, got {entry!r}"
            ) from None
    return entries


def _device_identities(raw: str | None) -> tuple[DeviceIdentity, ...]:
    if raw is None:
        return DEFAULT_DEVICE_IDENTITIES
    try:
        return parse_identities(raw)
    except InvalidDeviceIdentity as exc:
        raise SettingsError(f"DEVICE_IDENTITIES: {exc}") from None


def _proxies(read: EnvReader) -> tuple[ProxySpec | None, tuple[ProxySpec, ...]]:
    try:
        default = read.text("TELEGRAM_PROXY")
        single = ProxySpec.parse(default) if default else None
    except InvalidProxy as exc:
        raise SettingsError(f"TELEGRAM_PROXY: {exc}") from None
    try:
        return single, parse_pool(read.text("PROXY_POOL"))
    except InvalidProxy as exc:
        raise SettingsError(f"PROXY_POOL: {exc}") from None


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
    """Build the settings from the environment; the process environment wins over `.env`."""
    merged: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
    merged.update(os.environ if environ is None else environ)
    read = EnvReader(merged)

    app_env = read.choice("APP_ENV", "development", ("development", "test", "production"))
    data_dir = Path(read.text("DATA_DIR", "data") or "data")
    database_url = read.text("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'app.db'}"
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError("DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")

    jwt_secret = read.text("JWT_SECRET")
    raw_keys = read.text("ENCRYPTION_KEYS")
    keys = tuple(k.strip() for k in raw_keys.split(",") if k.strip()) if raw_keys else ()
    if app_env == "production":
        if not jwt_secret:
            raise SettingsError("JWT_SECRET is required when APP_ENV=production")
        if not keys:
            raise SettingsError("ENCRYPTION_KEYS is required when APP_ENV=production")
    if not jwt_secret or not keys:
        generated = embedded_secrets(data_dir)
        jwt_secret = jwt_secret or generated["jwt_secret"]
        keys = keys or embedded_encryption_keys(generated)
    if len(jwt_secret) < 32:
        raise SettingsError("JWT_SECRET must be at least 32 characters")
    validate_fernet_keys(keys)

    api_id_raw = read.text("TELEGRAM_API_ID")
    api_id = read.integer("TELEGRAM_API_ID", 0, minimum=1) if api_id_raw else None
    api_hash = read.text("TELEGRAM_API_HASH")
    default_mode = "telegram" if api_id and api_hash else "sandbox"
    telegram_mode = read.choice("TELEGRAM_MODE", default_mode, ("sandbox", "telegram"))
    if telegram_mode == "telegram" and not (api_id and api_hash):
        raise SettingsError("TELEGRAM_API_ID and TELEGRAM_API_HASH are required when TELEGRAM_MODE=telegram")

    log_shipping = read.choice("LOG_SHIPPING", "embedded", ("embedded", "stdout", "off"))
    clickhouse_dsn = read.text("CLICKHOUSE_DSN")
    metrics_token = read.text("METRICS_TOKEN")
    if clickhouse_dsn is None and log_shipping == "embedded":
        clickhouse_dsn = f"chdb://{data_dir / 'clickhouse'}"

    telegram_proxy, proxy_pool = _proxies(read)
    return Settings(
        app_env=cast(AppEnv, app_env),
        host=read.text("HOST", "127.0.0.1") or "127.0.0.1",
        port=read.integer("PORT", 8000, minimum=0),
        data_dir=data_dir,
        database_url=database_url,
        redis_url=read.text("REDIS_URL"),
        db_pool_size=read.integer("DB_POOL_SIZE", 10, minimum=1),
        db_pool_timeout_s=read.number("DB_POOL_TIMEOUT_S", 5.0, minimum=0.1),
        jwt_secret=jwt_secret,
        jwt_issuer=read.text("JWT_ISSUER", "tg-multiprofile") or "tg-multiprofile",
        jwt_audience=read.text("JWT_AUDIENCE", "tg-multiprofile-api") or "tg-multiprofile-api",
        access_token_ttl_s=read.integer("ACCESS_TOKEN_TTL_S", 900, minimum=30),
        refresh_token_ttl_s=read.integer("REFRESH_TOKEN_TTL_S", 30 * 24 * 3600, minimum=60),
        encryption_keys=keys,
        password_min_length=read.integer("PASSWORD_MIN_LENGTH", 8, minimum=8),
        password_max_length=read.integer("PASSWORD_MAX_LENGTH", 1024, minimum=8),
        argon2_time_cost=read.integer("ARGON2_TIME_COST", 3, minimum=1),
        argon2_memory_cost_kib=read.integer("ARGON2_MEMORY_COST_KIB", 65536, minimum=8),
        argon2_parallelism=read.integer("ARGON2_PARALLELISM", 2, minimum=1),
        login_max_failures_per_account=read.integer("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, minimum=1),
        login_max_failures_per_ip=read.integer("LOGIN_MAX_FAILURES_PER_IP", 30, minimum=1),
        login_throttle_window_s=read.integer("LOGIN_THROTTLE_WINDOW_S", 900, minimum=1),
        login_throttle_max_s=read.integer("LOGIN_THROTTLE_MAX_S", 86400, minimum=1),
        api_key_rate_limit_per_minute=read.integer("API_KEY_RATE_LIMIT_PER_MINUTE", 120, minimum=1),
        password_hash_concurrency=read.integer("PASSWORD_HASH_CONCURRENCY", 4, minimum=1),
        registration=cast(
            RegistrationPolicy,
            read.choice("REGISTRATION", "invite" if app_env == "production" else "open", ("open", "invite", "closed")),
        ),
        forwarded_allow_ips=_forwarded_allow_ips(read.text("FORWARDED_ALLOW_IPS")),
        profile_code_sends_per_phone=read.integer("PROFILE_CODE_SENDS_PER_PHONE", 5, minimum=1),
        profile_code_sends_per_user=read.integer("PROFILE_CODE_SENDS_PER_USER", 100, minimum=1),
        profile_code_window_s=read.integer("PROFILE_CODE_WINDOW_S", 3600, minimum=1),
        max_request_body_bytes=read.integer("MAX_REQUEST_BODY_BYTES", 2_000_000, minimum=1024),
        max_request_head_bytes=read.integer("MAX_REQUEST_HEAD_BYTES", 65_536, minimum=4096),
        max_request_headers=read.integer("MAX_REQUEST_HEADERS", 100, minimum=16),
        telegram_mode=cast(TelegramMode, telegram_mode),
        telegram_api_id=api_id,
        telegram_api_hash=api_hash,
        telegram_dc=read.text("TELEGRAM_DC"),
        telegram_extra_rsa_key=read.text("TELEGRAM_EXTRA_RSA_KEY"),
        profile_lease_ttl_ms=read.integer("PROFILE_LEASE_TTL_MS", 15_000, minimum=1000),
        worker_heartbeat_ttl_ms=read.integer("WORKER_HEARTBEAT_TTL_MS", 6_000, minimum=1000),
        profile_connect_concurrency=read.integer("PROFILE_CONNECT_CONCURRENCY", 20, minimum=1),
        profile_health_interval_s=read.number("PROFILE_HEALTH_INTERVAL_S", 60.0, minimum=0.1),
        profile_limited_recheck_s=read.number("PROFILE_LIMITED_RECHECK_S", 86_400.0, minimum=0.0),
        device_identities=_device_identities(read.text("DEVICE_IDENTITIES")),
        telegram_proxy=telegram_proxy,
        proxy_pool=proxy_pool,
        proxy_pool_check_interval_s=read.number("PROXY_POOL_CHECK_INTERVAL_S", 60.0, minimum=0.1),
        command_timeout_s=read.number("COMMAND_TIMEOUT_S", 15.0, minimum=0.5),
        sandbox_port=read.integer("SANDBOX_PORT", 0, minimum=0),
        sandbox_traffic_interval_s=read.number("SANDBOX_TRAFFIC_INTERVAL_S", 0.0),
        clickhouse_dsn=clickhouse_dsn,
        metrics_token=metrics_token,
        metrics_scrape_interval_s=read.number("METRICS_SCRAPE_INTERVAL_S", 15.0),
        health_cache_s=read.number("HEALTH_CACHE_S", 1.0),
        user_cache_ttl_s=read.number("USER_CACHE_TTL_S", 2.0),
        conversations_cache_s=read.number("CONVERSATIONS_CACHE_S", 2.0),
        log_shipping=cast(LogShipping, log_shipping),
        log_level=read.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
        # Readable lines for a person in development; JSON wherever a machine (Vector, LOG_SHIPPING=stdout) reads them.
        log_format=cast(
            LogFormat,
            read.choice(
                "LOG_FORMAT",
                "console" if app_env == "development" and log_shipping != "stdout" else "json",
                ("console", "json"),
            ),
        ),
        log_retention_days=read.integer("LOG_RETENTION_DAYS", 30, minimum=1),
        log_buffer_size=read.integer("LOG_BUFFER_SIZE", 10_000, minimum=100),
        log_batch_size=read.integer("LOG_BATCH_SIZE", 500, minimum=1),
        log_flush_interval_s=read.number("LOG_FLUSH_INTERVAL_S", 1.0, minimum=0.05),
        logs_query_timeout_s=read.integer("LOGS_QUERY_TIMEOUT_S", 10, minimum=1),
        ingest_queue_size=read.integer("INGEST_QUEUE_SIZE", 10_000, minimum=10),
        ingest_batch_size=read.integer("INGEST_BATCH_SIZE", 200, minimum=1),
        ingest_checkpoint_interval_s=read.number("INGEST_CHECKPOINT_INTERVAL_S", 0.25, minimum=0.01),
        reconcile_interval_s=read.number("RECONCILE_INTERVAL_S", 300.0),
        reconcile_dialogs=read.integer("RECONCILE_DIALOGS", 20, minimum=1),
        reconcile_messages_per_chat=read.integer("RECONCILE_MESSAGES_PER_CHAT", 100, minimum=1),
        gap_recovery_limit=read.integer("GAP_RECOVERY_LIMIT", 1000, minimum=1),
        gap_refresh_chats=read.integer("GAP_REFRESH_CHATS", 100, minimum=0),
        gap_refresh_messages=read.integer("GAP_REFRESH_MESSAGES", 100, minimum=1),
        username_cache_ttl_s=read.number("USERNAME_CACHE_TTL_S", 86_400.0, minimum=0.0),
        telegram_request_timeout_s=read.number("TELEGRAM_REQUEST_TIMEOUT_S", 60.0, minimum=1.0),
        username_resolve_interval_s=read.number("USERNAME_RESOLVE_INTERVAL_S", 1.0, minimum=0.0),
        send_chat_interval_s=read.number("SEND_CHAT_INTERVAL_S", 1.0),
        send_group_per_minute=read.integer("SEND_GROUP_PER_MINUTE", 20, minimum=1),
        send_account_per_minute=read.integer("SEND_ACCOUNT_PER_MINUTE", 30, minimum=1),
        send_max_wait_s=read.number("SEND_MAX_WAIT_S", 10.0),
        send_budget_messages_per_day=read.integer("SEND_BUDGET_MESSAGES_PER_DAY", 1000, minimum=0),
        send_budget_new_chats_per_day=read.integer("SEND_BUDGET_NEW_CHATS_PER_DAY", 20, minimum=0),
        send_budget_penalty_s=read.number("SEND_BUDGET_PENALTY_S", 86_400.0, minimum=0.0),
        unread_per_dialog=read.integer("UNREAD_PER_DIALOG", 20, minimum=1),
        ws_heartbeat_s=read.number("WS_HEARTBEAT_S", 25.0, minimum=0.05),
        ws_queue_size=read.integer("WS_QUEUE_SIZE", 256, minimum=1),
        ws_replay_limit=read.integer("WS_REPLAY_LIMIT", 1000, minimum=1),
        events_retention_days=read.integer("EVENTS_RETENTION_DAYS", 30, minimum=1),
        webhook_allow_private_targets=read.boolean("WEBHOOK_ALLOW_PRIVATE_TARGETS", app_env != "production"),
        webhook_disable_after_failures=read.integer("WEBHOOK_DISABLE_AFTER_FAILURES", 20, minimum=1),
        webhook_disable_after_s=read.number("WEBHOOK_DISABLE_AFTER_S", 5 * 86400.0, minimum=0),
        webhook_retry_schedule_s=read.numbers(
            "WEBHOOK_RETRY_SCHEDULE_S", (5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200), minimum=0.01
        ),
        webhook_concurrency=read.integer("WEBHOOK_CONCURRENCY", 32, minimum=1),
        webhook_endpoint_concurrency=read.integer("WEBHOOK_ENDPOINT_CONCURRENCY", 2, minimum=1),
        webhook_default_max_per_second=read.number("WEBHOOK_DEFAULT_MAX_PER_SECOND", 10.0, minimum=0.01),
        webhook_connect_timeout_s=read.number("WEBHOOK_CONNECT_TIMEOUT_S", 5.0, minimum=0.05),
        webhook_read_timeout_s=read.number("WEBHOOK_READ_TIMEOUT_S", 10.0, minimum=0.05),
        webhook_claim_ttl_s=read.number("WEBHOOK_CLAIM_TTL_S", 60.0, minimum=1.0),
        webhook_poll_interval_s=read.number("WEBHOOK_POLL_INTERVAL_S", 1.0, minimum=0.01),
        media_download_max_bytes=read.integer("MEDIA_DOWNLOAD_MAX_BYTES", 2 * 1024**3, minimum=1),
        archive_local_root=Path(read.text("ARCHIVE_LOCAL_ROOT") or data_dir / "archives"),
        archive_batch_size=read.integer("ARCHIVE_BATCH_SIZE", 500, minimum=1),
        archive_poll_interval_s=read.number("ARCHIVE_POLL_INTERVAL_S", 5.0, minimum=0.01),
        archive_claim_ttl_s=read.number("ARCHIVE_CLAIM_TTL_S", 60.0, minimum=0.5),
        archive_concurrency=read.integer("ARCHIVE_CONCURRENCY", 4, minimum=1),
        archive_retry_after_s=read.number("ARCHIVE_RETRY_AFTER_S", 60.0, minimum=0.01),
        channel_backfill_limit=read.integer("CHANNEL_BACKFILL_LIMIT", 100, minimum=0),
        channel_catchup_limit=read.integer("CHANNEL_CATCHUP_LIMIT", 1000, minimum=1),
        channel_failover_interval_s=read.number("CHANNEL_FAILOVER_INTERVAL_S", 2.0, minimum=0.05),
        channel_retry_min_s=read.number("CHANNEL_RETRY_MIN_S", 60.0, minimum=0.05),
        channel_retry_max_s=read.number("CHANNEL_RETRY_MAX_S", 21_600.0, minimum=0.05),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load_settings()
