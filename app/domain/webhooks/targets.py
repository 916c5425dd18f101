"""Which URLs a webhook may point at: http(s) only, and, unless allowed, no loopback/private/link-local hosts.

The host is resolved and every address checked, at creation and again before each delivery (so a DNS answer
that changes to an internal address later is caught too).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.lib.errors import ValidationFailed


class TargetRefused(Exception):
    """The URL is not an acceptable webhook target; the message says why."""


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


def _is_internal(address: str) -> bool:
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


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise TargetRefused unless `url` is http(s) and (when required) resolves only to public addresses."""
    check_url_shape(url)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"host {host!r} does not resolve") from None
    if not infos or any(_is_internal(str(info[4][0])) for info in infos):
        raise TargetRefused("url resolves to a loopback, private or link-local address, which is not allowed")


async def validate_target(url: str, *, allow_private: bool) -> None:
    """`check_target` for request input: refusals become 422 on the `url` field."""
    try:
        await check_target(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise ValidationFailed(str(exc), code="invalid_webhook_url", details=[{"field": "url"}]) from None
