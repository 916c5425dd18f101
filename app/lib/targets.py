"""Outbound targets a user names (webhook URLs, S3 endpoints): which addresses the service may connect to, and
connecting to exactly the address that was checked.

A check that resolves a name and a connection that resolves it again can see two different answers (DNS
rebinding: public for the check, 127.0.0.1 for the connection). So a host is resolved once, every address is
checked, and the connection is made to a checked address through `PinnedNetworkBackend` (httpx, async) or
`PinnedSyncBackend` (httpcore's blocking pool, for boto3's threads); the URL, the Host header and the TLS server
name keep the original host name.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""(host, port) -> IP addresses; injectable so tests control what a name answers."""


class TargetRefused(Exception):
    """The URL is not an acceptable target; the message says why."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Whether private addresses are allowed, and how names are resolved."""

    allow_private: bool
    resolver: Resolver = system_resolver


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def private(self) -> bool:
        return any(is_internal(address) for address in self.addresses)


def check_url_shape(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise TargetRefused("url must start with http:// or https://")
    if not parts.hostname:
        raise TargetRefused("url must name a host")
    try:
        _ = parts.port
    except ValueError:
        raise TargetRefused("url has an invalid port") from None


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, reserved or otherwise not a public address (IPv4-mapped IPv6 included)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _literal(host: str) -> str | None:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    return None


async def resolve_target(url: str, policy: TargetPolicy) -> CheckedTarget:
    """Resolve the URL's host once; raise TargetRefused unless (when required) every address is public."""
    check_url_shape(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        addresses: Sequence[str] = [literal]
    else:
        try:
            addresses = await policy.resolver(host, port)
        except (OSError, UnicodeError):
            raise TargetRefused(f"host {host!r} does not resolve") from None
    if not addresses:
        raise TargetRefused(f"host {host!r} does not resolve")
    checked = CheckedTarget(host=host, port=port, addresses=tuple(addresses))
    if not policy.allow_private and checked.private:
        raise TargetRefused("url resolves to a loopback, private or link-local address, which is not allowed")
    return checked


_pinned: contextvars.ContextVar[CheckedTarget | None] = contextvars.ContextVar("pinned_target", default=None)


@contextlib.contextmanager
def pinned(target: CheckedTarget) -> Iterator[None]:
    """Connections opened inside this block (in this task) go to `target`'s checked addresses only."""
    token = _pinned.set(target)
    try:
        yield
    finally:
        _pinned.reset(token)


def _checked_addresses(target: CheckedTarget | None, host: str, port: int) -> tuple[str, ...]:
    """The checked addresses for a connection to host:port; ConnectError unless that is the checked target."""
    # httpcore may hand over an IPv6 literal in brackets; the check saw it without them.
    if target is None or target.host.lower().strip("[]") != host.lower().strip("[]") or target.port != port:
        raise httpcore.ConnectError("refused to connect to an address that was not checked")
    return target.addresses


class PinnedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to the addresses of the target pinned for the current attempt.

    httpcore opens a connection in the task of the request that needs it, so the context variable set by
    `pinned()` is visible here. TLS is started afterwards by httpcore with the URL's host as server name.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in _checked_addresses(_pinned.get(), host, port):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not a target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedSyncBackend(httpcore.NetworkBackend):
    """The blocking twin of `PinnedNetworkBackend`, bound to one checked target for its whole life.

    For clients that run in worker threads (boto3): a pool built on it connects only to `target`'s checked
    addresses, and TLS is started by httpcore with the URL's host as server name.
    """

    def __init__(self, target: CheckedTarget, inner: httpcore.NetworkBackend | None = None) -> None:
        self._target = target
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in _checked_addresses(self._target, host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not a target")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def pinned_pool(
    target: CheckedTarget, *, ssl_context: ssl.SSLContext | None = None, max_connections: int = 10
) -> httpcore.ConnectionPool:
    """A blocking connection pool whose connections go only to `target`'s checked addresses."""
    return httpcore.ConnectionPool(
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        network_backend=PinnedSyncBackend(target),
    )


def pinned_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go only to pinned addresses (see `pinned()`)."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx does not take a network backend; the pool it builds is replaced by the same pool with ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PinnedNetworkBackend(),
    )
    return transport


def peer_is_internal(response: httpx.Response) -> bool:
    """Whether the connection that carried `response` ends at an internal address (unknown counts as internal)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return True
    try:
        return is_internal(str(peer[0]))
    except ValueError:
        return True
