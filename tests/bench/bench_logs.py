"""Issue 8 benchmark: authenticated GET /auth/me with embedded log shipping (chdb) on and off, same run.

Both servers are uvicorn subprocesses (stdout to /dev/null in both, so printing costs the same) loaded by the
same client; the ratio is what matters. Target: shipping on costs at most 10% of the throughput.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile

import httpx

from tests.bench.load import LoadResult, closed_loop, serve

SECONDS = 5.0
CONCURRENCY = 16
ROUNDS = 2  # alternate off/on to even out drift of a shared machine


def _prepare(shipping: str) -> dict[str, str]:
    data_dir = tempfile.mkdtemp(prefix=f"bench-logs-{shipping}-")
    env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": shipping}
    env.pop("CLICKHOUSE_DSN", None)  # embedded: the chdb engine in DATA_DIR/clickhouse
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    return env


async def _measure(shipping: str) -> tuple[LoadResult, dict[str, object]]:
    env = _prepare(shipping)
    with serve("app.server.app:create_app", env, factory=True) as base:
        credentials = {"email": "bench@example.com", "password": "correct horse battery"}
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            (await http.post("/auth/register", json=credentials)).raise_for_status()
            response = await http.post("/auth/login", json=credentials)
            response.raise_for_status()
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            result = await closed_loop(f"{base}/auth/me", headers=headers, seconds=SECONDS, concurrency=CONCURRENCY)
            await asyncio.sleep(1.5)  # let the shipper's interval flush land before reading its counters
            health = (await http.get("/health")).json()
    details = next((c["details"] for c in health["components"] if c["name"] == "clickhouse"), None) or {}
    return result, details


async def main() -> None:
    off: list[LoadResult] = []
    on: list[LoadResult] = []
    shipper: dict[str, object] = {}
    for _ in range(ROUNDS):
        off.append((await _measure("off"))[0])
        result, details = await _measure("embedded")
        on.append(result)
        shipper = dict(details.get("shipper", {}))  # type: ignore[call-overload]
    best_off = max(off, key=lambda r: r.rps)
    best_on = max(on, key=lambda r: r.rps)
    print(f"concurrency {CONCURRENCY}, {SECONDS:.0f} s per run, best of {ROUNDS}, SQLite, in-process stores")
    print(best_off.line("GET /auth/me, LOG_SHIPPING=off"))
    print(best_on.line("GET /auth/me, LOG_SHIPPING=embedded"))
    ratio = best_on.rps / best_off.rps
    print(f"throughput with shipping / without: {ratio:.2f}  (target >= 0.90)")
    print(f"shipper counters after the last embedded run: {shipper}")


if __name__ == "__main__":
    asyncio.run(main())
