"""Everything Telegram-facing a process holds: the connector, the leases, the runtime, the embedded sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from redis.asyncio import Redis

from app.config import Settings
from app.lib.errors import Conflict
from app.sandbox import SandboxDC
from app.telegram.bus import CommandBus
from app.telegram.commands import ProfileCommands
from app.telegram.connector import SANDBOX_API_HASH, SANDBOX_API_ID, DataCenter, TelegramConnector, load_pem
from app.telegram.leases import LeaseStore, MemoryLeaseStore, RedisLeaseStore
from app.telegram.lookups import UsernameLookups
from app.telegram.membership import Membership, RedisMembership, SingleProcessMembership
from app.telegram.pacing import PacingLimits, SendGovernor
from app.telegram.routed import RoutedProfileCommands
from app.telegram.runtime import ProfileRuntime
from app.telegram.runtime_contract import ProfileCredentials, ProfileSource, lease_name


@dataclass(slots=True)
class TelegramService:
    connector: TelegramConnector
    leases: LeaseStore
    runtime: ProfileRuntime
    settings: Settings
    bus: CommandBus | None = None
    sandbox: SandboxDC | None = field(default=None)
    commands: ProfileCommands = field(init=False)  # every Telegram action on a profile

    async def start(self, *, run_runtime: bool) -> None:
        """Start what this process owns: the sandbox (embedded), the command bus, the runtime (workers)."""
        await self.start_sandbox_if_embedded()
        if self.bus is not None:
            if run_runtime:
                self.bus.handle("runtime.log_out", self._serve_log_out)
                self.bus.handle("runtime.reconnect", self._serve_reconnect)
                if isinstance(self.commands, RoutedProfileCommands):
                    self.commands.serve()
            await self.bus.start()
        if run_runtime:
            await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()
        if self.bus is not None:
            await self.bus.stop()
        await self.stop_sandbox()

    async def log_out(self, credentials: ProfileCredentials) -> None:
        """Log a profile out at Telegram from whichever process owns its connection."""
        if self.bus is not None:
            holder = await self.leases.holder(lease_name(credentials.profile_id))
            if holder is not None and holder != self.runtime.instance_id:
                await self.bus.call(
                    holder,
                    "runtime.log_out",
                    {"profile_id": str(credentials.profile_id)},
                    timeout_s=self.settings.command_timeout_s,
                )
                return
        await self.runtime.log_out(credentials)

    async def reconnect(self, profile_id: UUID) -> None:
        """Reconnect a profile where its connection lives (after its proxy changed): the old one ends first."""
        if self.bus is not None:
            holder = await self.leases.holder(lease_name(profile_id))
            if holder is not None and holder != self.runtime.instance_id:
                await self.bus.call(
                    holder,
                    "runtime.reconnect",
                    {"profile_id": str(profile_id)},
                    timeout_s=self.settings.command_timeout_s,
                )
                return
        await self.runtime.restart(profile_id)

    async def _serve_reconnect(self, payload: dict[str, Any]) -> None:
        await self.runtime.restart(UUID(str(payload["profile_id"])))

    async def _serve_log_out(self, payload: dict[str, Any]) -> None:
        profile_id = UUID(str(payload["profile_id"]))
        credentials = await self.runtime.source.credentials(profile_id)
        if credentials is None:
            raise Conflict("the profile is not connected here", code="profile_not_connected")
        await self.runtime.log_out(credentials)

    @property
    def default_api_id(self) -> int:
        return self.connector.default_api_id

    @property
    def default_api_hash(self) -> str:
        return self.connector.default_api_hash

    async def start_sandbox_if_embedded(self) -> None:
        """In sandbox mode without TELEGRAM_DC, run the offline data-center in this process."""
        if self.settings.telegram_mode != "sandbox" or self.connector.data_center is not None:
            return
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        dc = SandboxDC(self.settings.data_dir / "sandbox.db", seed_demo=True)
        await dc.start("127.0.0.1", self.settings.sandbox_port)
        self.connector.trust_key(dc.public_key_pem)
        self.connector.use_data_centers(tuple(DataCenter(h, p, i) for i, (h, p) in dc.listeners.items()))
        if self.settings.sandbox_traffic_interval_s > 0:
            dc.start_demo_traffic(self.settings.sandbox_traffic_interval_s)
        self.sandbox = dc

    async def stop_sandbox(self) -> None:
        if self.sandbox is not None:
            await self.sandbox.stop()
            self.sandbox = None


def build_connector(settings: Settings) -> TelegramConnector:
    if settings.telegram_mode == "telegram":
        assert settings.telegram_api_id is not None  # enforced by load_settings
        assert settings.telegram_api_hash is not None
        connector = TelegramConnector(settings.telegram_api_id, settings.telegram_api_hash)
    else:
        connector = TelegramConnector(SANDBOX_API_ID, SANDBOX_API_HASH)
    connector.default_identity = settings.device_identities[0]
    connector.username_ttl_s = settings.username_cache_ttl_s
    connector.request_timeout_s = settings.telegram_request_timeout_s
    if settings.telegram_dc:
        connector.use_data_centers(DataCenter.parse_all(settings.telegram_dc))
    if settings.telegram_extra_rsa_key:
        connector.trust_key(load_pem(settings.telegram_extra_rsa_key))
    return connector


def build_commands(
    settings: Settings, runtime: ProfileRuntime, bus: CommandBus | None = None, leases: LeaseStore | None = None
) -> ProfileCommands:
    """Telegram actions on profiles, paced per profile; with a command bus they work from any process."""
    limits = PacingLimits(
        per_chat_interval_s=settings.send_chat_interval_s,
        per_group_per_minute=settings.send_group_per_minute,
        per_account_per_minute=settings.send_account_per_minute,
        max_wait_s=settings.send_max_wait_s,
    )
    lookups = UsernameLookups(settings.username_resolve_interval_s)
    if bus is not None and leases is not None:
        return RoutedProfileCommands(
            runtime, SendGovernor(limits), bus=bus, leases=leases, timeout_s=settings.command_timeout_s, lookups=lookups
        )
    return ProfileCommands(runtime, SendGovernor(limits), lookups=lookups)


def build_telegram(settings: Settings, redis: Redis | None, source: ProfileSource) -> TelegramService:
    connector = build_connector(settings)
    if redis is None:
        leases: LeaseStore = MemoryLeaseStore()
        membership: Membership = SingleProcessMembership()
    else:
        leases = RedisLeaseStore(redis)
        membership = RedisMembership(redis, ttl_ms=settings.worker_heartbeat_ttl_ms)
    runtime = ProfileRuntime(
        connector=connector,
        source=source,
        leases=leases,
        membership=membership,
        lease_ttl_ms=settings.profile_lease_ttl_ms,
        # Each connecting profile holds one database connection at a time; the rest of the pool stays free.
        connect_concurrency=min(settings.profile_connect_concurrency, settings.db_pool_size),
        limited_recheck_s=settings.profile_limited_recheck_s,
    )
    bus = CommandBus(redis, runtime.instance_id) if redis is not None else None
    service = TelegramService(connector=connector, leases=leases, runtime=runtime, settings=settings, bus=bus)
    service.commands = build_commands(settings, runtime, bus, leases)
    return service
