"""Builds Telethon clients pointed at the configured data-center (real Telegram or the sandbox).

This is the only seam between the service and the sandbox: an address override and an extra trusted RSA key.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors, functions, types
from telethon.crypto import rsa
from telethon.network.connection import ConnectionTcpMTProxyRandomizedIntermediate
from telethon.sessions import StringSession

from app.lib.devices import DEFAULT_DEVICE_IDENTITIES, DeviceIdentity
from app.lib.proxies import ProxySpec
from app.telegram.errors import NoAnswer, account_refusal
from app.telegram.gaps import GapAwareClient
from app.telegram.peers import ProfileSession

SANDBOX_API_ID = 1
SANDBOX_API_HASH = "sandbox0000000000000000000000000"

# Telegram's production data-centers (core.telegram.org/api/datacenter; Telethon's DEFAULT_IPV4_IP is DC 2).
# A session names its DC by id; the address stored inside a session a user brings is never used, so an
# imported session cannot make the service connect anywhere else. Later moves come from Telegram's own config.
TELEGRAM_DCS: Mapping[int, tuple[str, int]] = {
    1: ("149.154.175.53", 443),
    2: ("149.154.167.51", 443),
    3: ("149.154.175.100", 443),
    4: ("149.154.167.91", 443),
    5: ("91.108.56.130", 443),
}


RefusalHook = Callable[[errors.RPCError], Awaitable[None]]


class ObservedClient(GapAwareClient):
    """A client (gap-aware, app.telegram.gaps) that shows every RPC error to `on_refusal` before raising it.

    Every call passes here, whoever makes it (a send, the update loop's getDifference, a health check), so an
    answer that says something about the account (401 banned or revoked, frozen, spam-limited) is acted on at
    the first call that gets it, not only where a caller thought of it.
    """

    on_refusal: RefusalHook | None = None
    # Telethon waits for an answer for ever; a data-center that keeps the connection open and never answers would
    # hold a user's request, a worker's loop or a shutdown with it. Past this, the call raises `NoAnswer`.
    request_timeout_s: float = 60.0
    # The last answer of this client that refused the account itself (banned, logged out).
    refused: errors.RPCError | None = None

    # Where each data-center is, by id (the connector's table): a PHONE_MIGRATE / USER_MIGRATE / file DC goes here.
    dc_addresses: Mapping[int, tuple[str, int]] = {}
    _own_config: Any = None

    async def _get_dc(self, dc_id: int, cdn: bool = False) -> Any:
        """Telethon's DC lookup for a migration, from the connector's table, else this client's own help.getConfig.

        (Telethon caches the config per class, so two Telegrams in one process, such as two sandboxes, would share
        one; this client asks its own.)
        """
        known = self.dc_addresses.get(dc_id)
        if known is not None and not cdn:
            return types.DcOption(id=dc_id, ip_address=known[0], port=known[1])
        if cdn:
            return await super()._get_dc(dc_id, cdn)
        if self._own_config is None:
            self._own_config = await self(functions.help.GetConfigRequest())
        options = [o for o in self._own_config.dc_options if o.id == dc_id and not o.cdn and not o.media_only]
        ipv4 = [o for o in options if not o.ipv6]
        if not options:
            raise ValueError(f"Telegram's config names no data-center {dc_id}")
        return (ipv4 or options)[0]

    async def _call(self, sender: Any, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None) -> Any:
        try:
            async with asyncio.timeout(self.request_timeout_s):
                return await super()._call(sender, request, ordered, flood_sleep_threshold)
        except TimeoutError:
            raise NoAnswer(
                f"Telegram did not answer {type(request).__name__} within {self.request_timeout_s:g} s"
            ) from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # this caller is being cancelled
            # Telethon cancels every request in flight when the client disconnects, for instance once another
            # call learnt that Telegram refused the account: that refusal is this call's answer too.
            if self.refused is not None:
                raise self.refused from None
            raise ConnectionError(f"disconnected before Telegram answered {type(request).__name__}") from None
        except errors.RPCError as exc:
            if account_refusal(exc) is not None:  # (a 2FA prompt is no refusal)
                self.refused = exc
            if self.on_refusal is not None:
                await self.on_refusal(exc)
            raise


@dataclass(frozen=True, slots=True)
class DataCenter:
    host: str
    port: int
    dc_id: int = 2

    @classmethod
    def parse_all(cls, value: str) -> tuple[DataCenter, ...]:
        """Parse `host:port[:dc_id][,host:port:dc_id...]`: the first is where new logins start."""
        found = tuple(cls.parse(part.strip()) for part in value.split(",") if part.strip())
        if not found:
            raise ValueError("TELEGRAM_DC names no data-center")
        if len({dc.dc_id for dc in found}) != len(found):
            raise ValueError("TELEGRAM_DC names one data-center id twice")
        return found

    @classmethod
    def parse(cls, value: str) -> DataCenter:
        """Parse `host:port[:dc_id]`."""
        parts = value.rsplit(":", 2) if value.count(":") >= 2 else value.rsplit(":", 1)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ValueError(f"TELEGRAM_DC must look like host:port[:dc_id], got {value!r}")
        dc_id = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 2
        # Sessions store the DC as an IP address (StringSession packs it), so a host name such as a compose
        # service (`sandbox:4430`) is resolved once, here.
        try:
            host = socket.gethostbyname(parts[0])
        except OSError:
            raise ValueError(f"TELEGRAM_DC host {parts[0]!r} does not resolve") from None
        return cls(host, int(parts[1]), dc_id)


def load_pem(value: str) -> str:
    """Accept the PEM text itself or a path to a file holding it."""
    if "BEGIN RSA PUBLIC KEY" in value:
        return value
    return Path(value).read_text(encoding="utf-8")


@dataclass(slots=True)
class TelegramConnector:
    """Knows where Telegram is and with which app credentials to talk to it."""

    default_api_id: int
    default_api_hash: str = field(repr=False)
    data_center: DataCenter | None = None
    # Every configured DC by id (TELEGRAM_DC's list, with `data_center` first): where a session of that DC connects.
    data_centers: dict[int, DataCenter] = field(default_factory=dict)
    dc_table: Mapping[int, tuple[str, int]] = field(default_factory=lambda: dict(TELEGRAM_DCS))
    flood_sleep_threshold: int = 0
    # Only for clients of no profile yet (a profile's credentials and a login flow carry their own identity).
    default_identity: DeviceIdentity = DEFAULT_DEVICE_IDENTITIES[0]
    # The local address to connect from (None: the OS picks). Telegram tells "places" apart by address, so
    # this is how tests make two runtimes on one machine look like two hosts.
    local_addr: str | None = None
    username_ttl_s: float = 86_400.0  # how long a resolved @username is trusted (see app.telegram.peers)
    request_timeout_s: float = 60.0  # see ObservedClient.request_timeout_s
    _trusted: set[str] = field(default_factory=set)

    def use_data_centers(self, data_centers: tuple[DataCenter, ...]) -> None:
        """Talk to these DCs instead of Telegram's (a sandbox); the first is where new logins start."""
        self.data_center = data_centers[0]
        self.data_centers = {dc.dc_id: dc for dc in data_centers}

    def addresses(self) -> dict[int, tuple[str, int]]:
        """Every DC's address by id: the configured ones, else Telegram's own."""
        if self.data_center is not None:
            return {dc_id: (dc.host, dc.port) for dc_id, dc in self.data_centers.items()} or {
                self.data_center.dc_id: (self.data_center.host, self.data_center.port)
            }
        return dict(self.dc_table)

    def trust_key(self, pem: str) -> None:
        if pem not in self._trusted:
            rsa.add_key(pem, old=False)
            self._trusted.add(pem)

    def client(
        self,
        session: str | None = None,
        *,
        api_id: int | None = None,
        api_hash: str | None = None,
        receive_updates: bool = True,
        catch_up: bool = False,
        connection_retries: int = 2,
        auto_reconnect: bool = True,
        identity: DeviceIdentity | None = None,
        proxy: ProxySpec | None = None,
    ) -> ObservedClient:
        """A disconnected client for a StringSession (new when None), pointed at the configured DC.

        Without a configured DC the session's DC id picks the address from `dc_table`, never from the session.
        `identity` is the device the client presents in every initConnection (the profile's own, so Telegram sees
        one device per session on every reconnect and from every worker). With `proxy` every connection of the
        client goes through it, never around it.
        """
        device = identity or self.default_identity
        string_session = ProfileSession(session, username_ttl_s=self.username_ttl_s)
        client = ObservedClient(
            string_session,
            api_id or self.default_api_id,
            api_hash or self.default_api_hash,
            receive_updates=receive_updates,
            catch_up=catch_up,
            flood_sleep_threshold=self.flood_sleep_threshold,
            device_model=device.device_model,
            system_version=device.system_version,
            app_version=device.app_version,
            lang_code=device.lang_code,
            system_lang_code=device.lang_code,
            connection_retries=connection_retries,
            retry_delay=1,
            request_retries=2,
            auto_reconnect=auto_reconnect,
            # One update at a time, in order: an edit or deletion never overtakes its message, and a full
            # ingest queue stalls dispatch (updates wait as compact TL objects, not as one task each).
            sequential_updates=True,
            entity_cache_limit=5000,
            local_addr=self.local_addr,
            **proxy_arguments(proxy),
        )
        client.request_timeout_s = self.request_timeout_s
        client.dc_addresses = self.addresses()
        if self.data_center is not None:
            dc_id = string_session.dc_id or self.data_center.dc_id
            target = self.data_centers.get(dc_id, self.data_center)
            client.session.set_dc(dc_id, target.host, target.port)
        elif string_session.dc_id:
            host, port = self.dc_table.get(string_session.dc_id) or self.dc_table[2]
            client.session.set_dc(string_session.dc_id, host, port)
        return client


def proxy_arguments(proxy: ProxySpec | None) -> dict[str, Any]:
    """Telethon's `connection`/`proxy` arguments for a proxy (nothing for none)."""
    if proxy is None:
        return {}
    if proxy.kind == "mtproxy":
        return {
            "connection": ConnectionTcpMTProxyRandomizedIntermediate,
            "proxy": (proxy.host, proxy.port, proxy.secret),
        }
    if importlib.util.find_spec("python_socks") is None:  # Telethon would warn and connect directly: never
        raise RuntimeError("python-socks is not installed: SOCKS5 and HTTP proxies cannot be used")
    return {
        "proxy": {
            "proxy_type": proxy.kind,
            "addr": proxy.host,
            "port": proxy.port,
            "username": proxy.username,
            "password": proxy.password,
            "rdns": True,
        }
    }


def session_string(client: TelegramClient) -> str:
    """Serialise the client's auth key and DC as a StringSession string."""
    return StringSession.save(client.session)
