"""Issue 2 benchmark: authenticated GET /auth/me against a bare Litestar handler, and login latency.

Both servers run as uvicorn subprocesses and are loaded by the same client in the same run, so the ratio is
what matters (the Python load generator shares the 2 cores with the server). Target: ratio >= 0.5.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time

import httpx

from tests.bench.load import closed_loop, serve, summary_ms

SECONDS = 5.0
CONCURRENCY = 16


def _prepare(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)


async def main() -> None:
    data_dir = tempfile.mkdtemp(prefix="bench-auth-")
    env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": "off"}
    _prepare(env)
    with serve("tests.bench.bare_app:app", {}) as bare:
        baseline = await closed_loop(f"{bare}/auth/me", headers={}, seconds=SECONDS, concurrency=CONCURRENCY)
    with serve("app.server.app:create_app", env, factory=True) as base:
        credentials = {"email": "bench@example.com", "password": "correct horse battery"}
        login_ms: list[float] = []
        tokens: dict[str, str] = {}
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            (await http.post("/auth/register", json=credentials)).raise_for_status()
            for _ in range(20):
                started = time.perf_counter()
                response = await http.post("/auth/login", json=credentials)
                login_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                tokens = response.json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        ours = await closed_loop(f"{base}/auth/me", headers=headers, seconds=SECONDS, concurrency=CONCURRENCY)
    print(f"concurrency {CONCURRENCY}, {SECONDS:.0f} s per run, SQLite, in-process stores, log shipping off")
    print(baseline.line("bare Litestar handler (baseline)"))
    print(ours.line("authenticated GET /auth/me"))
    print(f"throughput ratio to baseline: {ours.rps / baseline.rps:.2f}  (target >= 0.50)")
    print(f"login latency (argon2id default cost, 20 sequential): {summary_ms(login_ms)}")


if __name__ == "__main__":
    asyncio.run(main())
