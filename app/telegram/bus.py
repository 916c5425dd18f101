"""Request/response between processes over Redis pub/sub, with correlation ids and timeouts.

An API-only process asks the worker that owns a profile to act for it (send a message, join a channel, log
out) and waits for the answer; a worker that does not answer in time turns into a 503, never a hung request.
Errors raised by the worker travel back with their status, code and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from app.lib.errors import AppError, ServiceUnavailable
from app.lib.logging import log_event

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class _Envelope(msgspec.Struct, omit_defaults=True):
    id: str
    method: str | None = None
    payload: dict[str, Any] | None = None
    reply_to: str | None = None
    result: Any = None
    error: dict[str, Any] | None = None


class CommandBus:
    def __init__(self, redis: Redis, instance_id: str, *, prefix: str = "tgmp") -> None:
        self._redis = redis
        self.instance_id = instance_id
        self._prefix = prefix
        self._handlers: dict[str, Handler] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    def command_channel(self, instance_id: str) -> str:
        return f"{self._prefix}:cmd:{instance_id}"

    @property
    def reply_channel(self) -> str:
        return f"{self._prefix}:reply:{self.instance_id}"

    def handle(self, method: str, handler: Handler) -> None:
        """Serve `method` for other processes (workers register what they can do)."""
        self._handlers[method] = handler

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self.command_channel(self.instance_id), self.reply_channel)
        self._reader = asyncio.create_task(self._read(), name="command-bus")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for task in list(self._running):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        for future in self._pending.values():
            future.cancel()

    async def call(self, target: str, method: str, payload: dict[str, Any], *, timeout_s: float) -> Any:
        """Ask process `target` to run `method`; its result, its error re-raised, or 503 after `timeout_s`."""
        envelope = _Envelope(id=uuid.uuid4().hex, method=method, payload=payload, reply_to=self.reply_channel)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            receivers = await self._redis.publish(self.command_channel(target), msgspec.json.encode(envelope))
            if not receivers:
                raise ServiceUnavailable(
                    "the worker that owns this profile is not reachable; retry shortly", code="worker_unavailable"
                )
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise ServiceUnavailable(
                f"the worker that owns this profile did not answer within {timeout_s:g} s", code="worker_timeout"
            ) from None
        finally:
            self._pending.pop(envelope.id, None)

    async def _read(self) -> None:
        assert self._pubsub is not None
        async for message in self._pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                envelope = msgspec.json.decode(message["data"], type=_Envelope)
            except msgspec.DecodeError:
                continue
            if envelope.method is None:
                self._resolve(envelope)
            else:
                task = asyncio.create_task(self._serve(envelope))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    def _resolve(self, envelope: _Envelope) -> None:
        future = self._pending.get(envelope.id)
        if future is None or future.done():
            return
        if envelope.error is not None:
            error = envelope.error
            future.set_exception(
                AppError(
                    str(error.get("message", "worker error")),
                    code=str(error.get("code", "error")),
                    details=error.get("details"),
                    headers=error.get("headers") or None,
                    status=int(error.get("status", 502)),
                )
            )
        else:
            future.set_result(envelope.result)

    async def _serve(self, envelope: _Envelope) -> None:
        handler = self._handlers.get(envelope.method or "")
        reply = _Envelope(id=envelope.id)
        try:
            if handler is None:
                raise AppError(f"this process cannot run {envelope.method}", code="unknown_command", status=501)
            reply.result = msgspec.to_builtins(await handler(envelope.payload or {}))
        except AppError as exc:
            reply.error = {
                "status": exc.status,
                "code": exc.error_code,
                "message": exc.message,
                "details": exc.details,
                "headers": exc.headers,
            }
        except Exception as exc:
            log_event("error", "telegram.bus", "command.failed", f"{envelope.method} failed: {type(exc).__name__}")
            reply.error = {"status": 502, "code": "worker_error", "message": f"the worker failed: {type(exc).__name__}"}
        if envelope.reply_to:
            await self._redis.publish(envelope.reply_to, msgspec.json.encode(reply))
