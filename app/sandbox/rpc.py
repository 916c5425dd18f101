"""RPC plumbing: the handler registry, typed RPC errors, and hand-written TL results (Vector, Bool)."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from telethon.tl.tlobject import TLObject, TLRequest

if TYPE_CHECKING:
    from .server import SandboxDC
    from .session import Connection
    from .state import AuthKeyRecord, Authorization, User

VECTOR_ID = 0x1CB5C415
BOOL_TRUE = struct.pack("<I", 0x997275B5)
BOOL_FALSE = struct.pack("<I", 0xBC799737)


class RpcError(Exception):
    """An `rpc_error` answer: Telethon maps it by message (and falls back to the code)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


class Raw(bytes):
    """An already-serialised result (Vector<T>, Bool, ...)."""


def vector(items: Iterable[TLObject]) -> Raw:
    """Serialise `Vector<T>` of boxed TL objects."""
    parts = [bytes(item) for item in items]
    return Raw(struct.pack("<Ii", VECTOR_ID, len(parts)) + b"".join(parts))


def vector_long(items: Iterable[int]) -> Raw:
    values = list(items)
    return Raw(struct.pack("<Ii", VECTOR_ID, len(values)) + b"".join(struct.pack("<q", v) for v in values))


def vector_int(items: Iterable[int]) -> Raw:
    values = list(items)
    return Raw(struct.pack("<Ii", VECTOR_ID, len(values)) + b"".join(struct.pack("<i", v) for v in values))


def boolean(value: bool) -> Raw:
    return Raw(BOOL_TRUE if value else BOOL_FALSE)


Result: TypeAlias = TLObject | Raw | bool


@dataclass
class RpcContext:
    """Everything a handler may need about the caller."""

    dc: SandboxDC
    conn: Connection
    auth_key: AuthKeyRecord
    msg_id: int

    @property
    def authorization(self) -> Authorization | None:
        return self.auth_key.authorization

    @property
    def user(self) -> User:
        """The logged-in user; the auth guard guarantees it exists for `auth=True` handlers."""
        auth = self.auth_key.authorization
        assert auth is not None
        return self.dc.state.users[auth.user_id]


Handler = Callable[[RpcContext, Any], Awaitable[Result]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    needs_auth: bool
    name: str


ROUTES: dict[int, Route] = {}


def rpc(*request_types: type[TLRequest], auth: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler for one or more request types; `auth=False` lets logged-out keys call it."""

    def register(handler: Handler) -> Handler:
        for request_type in request_types:
            ROUTES[request_type.CONSTRUCTOR_ID] = Route(handler, auth, request_name(request_type))
        return handler

    return register


def request_name(request: type[TLObject] | TLObject) -> str:
    """`messages.SendMessageRequest` style name, used by counters and error injection."""
    cls = request if isinstance(request, type) else type(request)
    module = cls.__module__.rsplit(".", 1)[-1]
    return cls.__name__ if module == "functions" else f"{module}.{cls.__name__}"


def not_implemented(request: TLObject) -> RpcError:
    name = type(request).__name__.removesuffix("Request")
    return RpcError(400, f"FAKEDC_NOT_IMPLEMENTED_{name}")
