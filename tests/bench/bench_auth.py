"""Issue 2 benchmark: login latency (argon2id at its default cost).

The throughput of authenticated `GET /auth/me` against a bare Litestar handler is measured by bench_http with
wrk: the Python load generator this benchmark used shared the two cores with the server and measured itself.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time

import httpx

from tests.bench.load import serve, summary_ms

LOGINS = 20


async def main() -> None:
    data_dir = tempfile.mkdtemp(prefix="bench-auth-")
    env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": "off"}
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    with serve("app.server.app:create_app", env, factory=True) as base:
        credentials = {"email": "bench@example.com", "password": "correct horse battery"}
        login_ms: list[float] = []
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            (await http.post("/auth/register", json=credentials)).raise_for_status()
            for _ in range(LOGINS):
                started = time.perf_counter()
                response = await http.post("/auth/login", json=credentials)
                login_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
    print(f"login latency (argon2id default cost, {LOGINS} sequential): {summary_ms(login_ms)}")
    print("authenticated GET /auth/me throughput: see bench_http (wrk, beside the bare handler)")


if __name__ == "__main__":
    asyncio.run(main())
