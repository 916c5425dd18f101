"""What the sandbox counts and the failures tests inject: request counters, errors and held calls."""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field

from telethon.tl.tlobject import TLObject

from .rpc import RpcError, request_name

log = logging.getLogger(__name__)


@dataclass
class Counters:
    """What the sandbox has seen since it started."""

    connections: int = 0
    handshakes: int = 0
    auth_key_duplicated: int = 0  # keys killed for use from two places at once
    concurrent_key_use: int = 0  # one key live on two connections at once (allowed from one place)
    requests: collections.Counter[str] = field(default_factory=collections.Counter)

    def count_request(self, name: str) -> None:
        self.requests[name] += 1


@dataclass
class InjectedError:
    name: str
    code: int
    message: str
    remaining: int
    user_id: int | None


def _normalise_name(value: type[TLObject] | str) -> str:
    name = value if isinstance(value, str) else request_name(value)
    return name.removesuffix("Request").lower()


@dataclass
class HeldCall:
    name: str
    remaining: int
    user_id: int | None


class ErrorInjector:
    """`fail_next` rules: the next N calls of a method (optionally by one user) answer an error.

    `hold_next` rules: the next N calls get no answer at all (the connection stays open) until released, as from a
    data-center in trouble.
    """

    def __init__(self) -> None:
        self.rules: list[InjectedError] = []
        self.holds: list[HeldCall] = []
        self._gate = asyncio.Event()  # every held call waits at it until `release`

    def hold(self, request: type[TLObject] | str, times: int, user_id: int | None) -> None:
        self.holds.append(HeldCall(_normalise_name(request), times, user_id))

    def release(self) -> None:
        self._gate.set()
        self._gate = asyncio.Event()
        self.holds.clear()

    def held(self, name: str, user_id: int | None) -> asyncio.Event | None:
        """The gate a call of `name` waits at before it is answered, if a hold rule takes it."""
        wanted = _normalise_name(name)
        bare = wanted.rsplit(".", 1)[-1]
        for held in self.holds:
            if held.name not in (wanted, bare) or (held.user_id is not None and held.user_id != user_id):
                continue
            held.remaining -= 1
            if held.remaining <= 0:
                self.holds.remove(held)
            return self._gate
        return None

    def add(self, request: type[TLObject] | str, code: int, message: str, times: int, user_id: int | None) -> None:
        self.rules.append(InjectedError(_normalise_name(request), code, message, times, user_id))

    def take(self, name: str, user_id: int | None) -> RpcError | None:
        wanted = _normalise_name(name)
        bare = wanted.rsplit(".", 1)[-1]
        for rule in self.rules:
            if rule.name not in (wanted, bare) or (rule.user_id is not None and rule.user_id != user_id):
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self.rules.remove(rule)
            log.info("injecting %d %s into %s", rule.code, rule.message, name)
            return RpcError(rule.code, rule.message)
        return None
