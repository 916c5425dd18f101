"""The RPC pipeline: unwrap invokeWith*, count, detect duplicate live connections, inject errors, guard auth,
then run the registered handler and serialise its result."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from telethon.tl import TLObject, functions
from telethon.tl.tlobject import TLRequest

from . import handlers, schema  # noqa: F401  (importing handlers registers every handler)
from .dcs import require_user_home
from .rpc import ROUTES, Raw, RpcContext, RpcError, boolean, not_implemented, request_name
from .state import ClientInit

if TYPE_CHECKING:
    from .session import Connection

log = logging.getLogger(__name__)

# A client that reconnects closes its old socket first; give the server this long to notice before calling the
# two connections concurrent.
DUPLICATE_GRACE_SECONDS = 0.5

# What a frozen account may still call: reads, update state, config and logging out.
FROZEN_ALLOWED_NAMESPACES = ("help", "updates", "auth")
FROZEN_ALLOWED_PREFIXES = ("Get", "Search", "Check", "Resolve")

_PASS_THROUGH = tuple(
    cls
    for name, cls in vars(functions).items()
    if name.startswith("Invoke") and isinstance(cls, type) and name != "InvokeWithLayerRequest"
)


def unwrap(conn: Connection, request: TLObject) -> TLObject:
    """Strip invokeWithLayer / initConnection / invokeWithoutUpdates / invokeAfterMsg... wrappers."""
    while True:
        if isinstance(request, functions.InvokeWithLayerRequest):
            request = request.query
        elif isinstance(request, functions.InitConnectionRequest):
            conn.client_info = f"api_id={request.api_id} {request.device_model} {request.app_version}".strip()
            conn.api_id = request.api_id
            _record_init(conn, request)
            request = request.query
        elif isinstance(request, functions.InvokeWithoutUpdatesRequest):
            conn.receive_updates = False
            request = request.query
        elif isinstance(request, _PASS_THROUGH):
            request = request.query  # type: ignore[attr-defined]
        else:
            return request


def _record_init(conn: Connection, request: functions.InitConnectionRequest) -> None:
    init = ClientInit(
        api_id=request.api_id,
        device_model=request.device_model,
        system_version=request.system_version,
        app_version=request.app_version,
        lang_code=request.lang_code,
        system_lang_code=request.system_lang_code,
    )
    conn.init = init
    if conn.auth_key is not None:
        conn.dc.client_inits.append((conn.auth_key.key_id, init))
        if conn.auth_key.authorization is not None:
            conn.auth_key.authorization.describe(init)
            conn.dc.mark_dirty()


async def call(conn: Connection, msg_id: int, wrapped: TLRequest) -> bytes:
    dc = conn.dc
    assert conn.auth_key is not None
    request = unwrap(conn, wrapped)
    name = request_name(request)
    dc.counters.count_request(name)
    await _reject_duplicate(conn)
    route = ROUTES.get(request.CONSTRUCTOR_ID)
    ctx = RpcContext(dc=dc, conn=conn, auth_key=conn.auth_key, msg_id=msg_id)
    auth = conn.auth_key.authorization
    if auth is not None and conn.user_id is None:
        _attach_if_usable(ctx)
    injected = dc.injector.take(name, auth.user_id if auth else None)
    if injected is not None:
        raise injected
    gate = dc.injector.held(name, auth.user_id if auth else None)
    if gate is not None:
        await gate.wait()
    if route is None:
        log.error("FAKEDC NOT IMPLEMENTED: %s (answering 400)", name)
        raise not_implemented(request)
    if route.needs_auth:
        _guard(ctx)
        require_user_home(ctx, name)
        _refuse_if_frozen(ctx, name)
    result = await route.handler(ctx, request)
    data = _serialise(result)
    # Every answer must be of the method's declared type (a lenient answer would let a client bug pass here and
    # fail on Telegram); a wrong one is a sandbox bug, answered loudly instead of sent.
    wrong = schema.mismatch(request, result if isinstance(result, TLObject) else data)
    if wrong is not None:
        log.error("FAKEDC WRONG RESULT TYPE for %s: %s", name, wrong)
        raise RpcError(400, f"FAKEDC_WRONG_RESULT_TYPE_{type(request).__name__.removesuffix('Request')}")
    return data


def _attach_if_usable(ctx: RpcContext) -> None:
    """A logged-in key starts receiving updates on its first request of any kind (even help.getConfig)."""
    with contextlib.suppress(RpcError):
        _guard(ctx)


def _guard(ctx: RpcContext) -> None:
    auth = ctx.auth_key.authorization
    if auth is None:
        raise RpcError(401, "AUTH_KEY_UNREGISTERED")
    user = ctx.dc.state.users.get(auth.user_id)
    if user is None or user.deleted:
        raise RpcError(401, "USER_DEACTIVATED")
    if user.banned:
        raise RpcError(401, "USER_DEACTIVATED_BAN")
    if auth.password_pending:
        raise RpcError(401, "SESSION_PASSWORD_NEEDED")
    ctx.dc.attach_user(ctx.conn, user.id, catch_up=True)


def _refuse_if_frozen(ctx: RpcContext, name: str) -> None:
    """A frozen account may read, not write (Telegram answers 420 FROZEN_METHOD_INVALID)."""
    if not ctx.user.frozen_since:
        return
    namespace, _, method = name.rpartition(".")
    if namespace in FROZEN_ALLOWED_NAMESPACES or method.startswith(FROZEN_ALLOWED_PREFIXES):
        return
    raise RpcError(420, "FROZEN_METHOD_INVALID")


async def _reject_duplicate(conn: Connection) -> None:
    """Telegram's AUTH_KEY_DUPLICATED rule (406): one auth key may carry several sessions at once, and may move
    from place to place over time, but used concurrently from two places (client IP addresses) it is killed:
    every later request on it, from either place, answers 406 and the login is gone."""
    dc, record = conn.dc, conn.auth_key
    assert record is not None
    if record.duplicated:
        raise RpcError(406, "AUTH_KEY_DUPLICATED")
    others = dc.older_live_connections(conn)
    if not others or conn in dc.concurrency_examined:
        if any(other.place != conn.place for other in others):
            _kill(conn, others)
        return
    if all(other.place == conn.place for other in others):
        # Allowed, so not delayed; only counted (below) if it lasts past the grace period.
        dc.concurrency_examined.add(conn)
        dc.run_in_background(_count_concurrent_use(conn))
        return
    others = await _open_after_grace(conn)
    if others:
        dc.concurrency_examined.add(conn)
        dc.counters.concurrent_key_use += 1
        if any(other.place != conn.place for other in others):
            _kill(conn, others)


async def _open_after_grace(conn: Connection) -> list[Connection]:
    """The older connections on conn's key still open after the grace period: a client that moves (reconnects,
    changes network) closes its old socket first, so only these are concurrent use."""
    waits = [asyncio.create_task(other.closed.wait()) for other in conn.dc.older_live_connections(conn)]
    if not waits:
        return []
    _, pending = await asyncio.wait(waits, timeout=DUPLICATE_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    return conn.dc.older_live_connections(conn)


async def _count_concurrent_use(conn: Connection) -> None:
    # What two hosts sharing a session would be killed for; the service's one-owner tests watch this counter,
    # since all their processes share 127.0.0.1.
    if await _open_after_grace(conn):
        conn.dc.counters.concurrent_key_use += 1


def _kill(conn: Connection, others: list[Connection]) -> None:
    record = conn.auth_key
    assert record is not None
    record.duplicated = True
    record.authorization = None
    conn.dc.mark_dirty()
    conn.dc.counters.auth_key_duplicated += 1
    elsewhere = next(other.place for other in others if other.place != conn.place)
    log.warning("AUTH_KEY_DUPLICATED: key %x used from %s and %s at once", record.key_id, conn.place, elsewhere)
    raise RpcError(406, "AUTH_KEY_DUPLICATED")


def _serialise(result: TLObject | Raw | bool) -> bytes:
    if isinstance(result, Raw):
        return bytes(result)
    if isinstance(result, bool):
        return bytes(boolean(result))
    return bytes(result)
