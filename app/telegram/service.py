"""Everything Telegram-facing a process holds: the connector, the leases, the runtime, the embedded sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from app.config import Settings
from app.sandbox import SandboxDC
from app.telegram.commands import ProfileCommands
from app.telegram.connector import SANDBOX_API_HASH, SANDBOX_API_ID, DataCenter, TelegramConnector, load_pem
from app.telegram.leases import LeaseStore, MemoryLeaseStore, RedisLeaseStore
from app.telegram.pacing import PacingLimits, SendGovernor
from app.telegram.runtime import ProfileRuntime, ProfileSource


@dataclass(slots=True)
class TelegramService:
    connector: TelegramConnector
    leases: LeaseStore
    runtime: ProfileRuntime
    settings: Settings
    sandbox: SandboxDC | None = field(default=None)
    commands: ProfileCommands = field(init=False)  # every Telegram action on a profile

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
        port = await dc.start("127.0.0.1", self.settings.sandbox_port)
        self.connector.trust_key(dc.public_key_pem)
        self.connector.data_center = DataCenter("127.0.0.1", port, dc.dc_id)
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
    if settings.telegram_dc:
        connector.data_center = DataCenter.parse(settings.telegram_dc)
    if settings.telegram_extra_rsa_key:
        connector.trust_key(load_pem(settings.telegram_extra_rsa_key))
    return connector


def build_commands(settings: Settings, runtime: ProfileRuntime) -> ProfileCommands:
    """Telegram actions on the profiles this process keeps connected, paced per profile."""
    limits = PacingLimits(
        per_chat_interval_s=settings.send_chat_interval_s,
        per_group_per_minute=settings.send_group_per_minute,
        per_account_per_minute=settings.send_account_per_minute,
        max_wait_s=settings.send_max_wait_s,
    )
    return ProfileCommands(runtime, SendGovernor(limits))


def build_telegram(settings: Settings, redis: Redis | None, source: ProfileSource) -> TelegramService:
    connector = build_connector(settings)
    leases: LeaseStore = RedisLeaseStore(redis) if redis is not None else MemoryLeaseStore()
    runtime = ProfileRuntime(connector=connector, source=source, leases=leases)
    service = TelegramService(connector=connector, leases=leases, runtime=runtime, settings=settings)
    service.commands = build_commands(settings, runtime)
    return service
