"""Proxies a profile connects to Telegram through: SOCKS5, HTTP CONNECT, or MTProxy (with its secret).

A proxy is written as a URL: `socks5://[user:password@]host:port`, `http://[user:password@]host:port`, or
`mtproxy://<secret>@host:port` with a 16-byte hex secret (optionally `dd`-prefixed: random padding). Fake-TLS
secrets (`ee...`) are refused: the client library cannot speak that transport.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

ProxyKind = Literal["socks5", "http", "mtproxy"]
KINDS: tuple[ProxyKind, ...] = ("socks5", "http", "mtproxy")
_SECRET = re.compile(r"^(dd)?[0-9a-f]{32}$")


class InvalidProxy(ValueError):
    """A proxy URL or field that cannot be used (the message names what is wrong, never a credential)."""


@dataclass(frozen=True, slots=True)
class ProxySpec:
    kind: ProxyKind
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)  # MTProxy only, lowercase hex

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidProxy(f"proxy type must be one of {', '.join(KINDS)}")
        if not self.host or len(self.host) > 255 or any(c.isspace() or c in "/@?#" for c in self.host):
            raise InvalidProxy("proxy host must be a host name or an IP address")
        if not 1 <= self.port <= 65535:
            raise InvalidProxy("proxy port must be 1 to 65535")
        if self.kind == "mtproxy":
            if self.secret is None or not _SECRET.match(self.secret):
                raise InvalidProxy("an MTProxy secret is 32 hex digits, optionally prefixed with dd")
        elif self.secret is not None:
            raise InvalidProxy("only an MTProxy has a secret")
        for value in (self.username, self.password):
            if value is not None and (len(value) > 255 or not value):
                raise InvalidProxy("proxy credentials must be 1 to 255 characters")

    @classmethod
    def parse(cls, url: str) -> ProxySpec:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        kind = {"socks5": "socks5", "socks5h": "socks5", "http": "http", "mtproxy": "mtproxy"}.get(scheme)
        if kind is None:
            raise InvalidProxy("a proxy URL starts with socks5://, http:// or mtproxy://")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise InvalidProxy("a proxy URL names host and port")
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if kind == "mtproxy":
            return cls("mtproxy", parts.hostname, port, secret=(user or "").lower() or None)
        return cls(kind, parts.hostname, port, user, password)  # type: ignore[arg-type]

    def public(self) -> dict[str, Any]:
        """What may be shown: never the credentials or the secret."""
        return {"type": self.kind, "host": self.host, "port": self.port}

    def to_json(self) -> str:
        values = {"kind": self.kind, "host": self.host, "port": self.port}
        values |= {k: v for k, v in (("username", self.username), ("password", self.password)) if v is not None}
        if self.secret is not None:
            values["secret"] = self.secret
        return json.dumps(values, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ProxySpec:
        values = json.loads(text)
        return cls(
            values["kind"],
            values["host"],
            int(values["port"]),
            values.get("username"),
            values.get("password"),
            values.get("secret"),
        )

    def __repr__(self) -> str:
        return f"ProxySpec({self.kind}://{self.host}:{self.port})"


def parse_pool(text: str | None) -> tuple[ProxySpec, ...]:
    """Comma-separated proxy URLs (none: empty)."""
    return tuple(ProxySpec.parse(part) for part in (text or "").split(",") if part.strip())
