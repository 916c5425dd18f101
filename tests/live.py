"""Real servers on 127.0.0.1 for tests: any ASGI app under uvicorn in the test's event loop, and a webhook
receiver whose answers the test scripts (status codes, delays) and which records every request."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.fernet import Fernet


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, *, lifespan: str = "on", http: Any = "auto") -> AsyncIterator[str]:
    """Run `app` under uvicorn on a free port of 127.0.0.1; yields the base URL (`http://127.0.0.1:port`).

    `http` is uvicorn's HTTP protocol (a name or a class, e.g. the one `python -m app serve` uses).
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: uvicorn must not reconfigure logging in the test process (it would detach the JSON bridge).
    config = uvicorn.Config(
        app, lifespan=lifespan, log_config=None, log_level="warning", access_log=False, ws_ping_interval=None, http=http
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 15
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {task.exception() if task.done() else 'timeout'}")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
        sock.close()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP endpoint that records requests; `respond` decides each answer as (status, delay seconds)."""

    respond: Callable[[Received], Awaitable[tuple[int, float]] | tuple[int, float]] = lambda _: (200, 0.0)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Received({k.decode(): v.decode() for k, v in scope["headers"]}, body, time.monotonic())
        answer = self.respond(request)
        status, delay = await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[misc]
        if delay:
            await asyncio.sleep(delay)
        self.requests.append(request)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": f"status {status}".encode()})


@contextlib.asynccontextmanager
async def running_receiver(receiver: Receiver, path: str = "/hook") -> AsyncIterator[Receiver]:
    async with serve_asgi(receiver, lifespan="off") as base:
        receiver.url = base + path
        yield receiver


async def eventually(check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll `check` until it is true or `timeout` passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class AppProcess:
    """One `python -m app <role>` subprocess (serve, api or worker) with its own data folder and log file."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str, role: str = "serve") -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{name}.log"
        self.log = self.log_path.open("w")
        args = [sys.executable, "-m", "app", role] + ([] if role == "worker" else ["--port", str(self.port)])
        self.popen = subprocess.Popen(
            args,
            env={**env, "DATA_DIR": str(workdir / name), "PYTHONUNBUFFERED": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    async def ready(
        self, marker: str | None = None, timeout: float = 180, health: frozenset[int] = frozenset({200, 503})
    ) -> None:
        """Printed `marker` (workers), or `/health` answering one of `health` (by default any answer at all)."""

        async def up() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.output()[-3000:]}")
            if marker is not None:
                return marker in self.output()
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    return (await client.get(f"{self.base}/health")).status_code in health
            except httpx.HTTPError:
                return False

        await eventually(up, timeout=timeout)

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self.log.close()


def process_env(postgres_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    """Environment for `python -m app` subprocesses on one PostgreSQL and Redis (test secrets, fast hashing)."""
    return {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": "s" * 48,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_SHIPPING": "off",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        **overrides,
    }
