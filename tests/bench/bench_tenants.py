"""Issue 18 benchmark: another tenant stays fast while one tenant floods the embedded default.

`python -m app serve` (SQLite, the embedded default) runs in its own process against a sandbox DC process; tenant
A and tenant B each bind one profile. wrk measures B's latency on `GET /conversations` twice in the same run:
on the idle server, then while a second wrk floods the server as tenant A (sends to a contact, interleaved with
reads of A's conversations). Printed: B's p50/p99 idle and under the flood, their ratios, and A's own figures
(statuses included: a flood is answered 429/503 with Retry-After, which is the point). No Python load generator
produces a measured figure. This machine has 2 cores shared by the server, the sandbox and both wrk processes,
so the ratio includes CPU contention, not only the service's own queuing.

`.venv/bin/python -m tests.bench.bench_tenants`
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.bench.load import free_port
from tests.bench.sandbox_process import SandboxProcess, sandbox_process

MEASURE_S = 10
FLOOD_CONNECTIONS = 64  # tenant A: many clients at once
MEASURED_CONNECTIONS = 2  # tenant B: a couple of dashboard users
PASSWORD = "correct horse battery"

# Each wrk prints one JSON line at the end: latency percentiles (microseconds) and status counts.
REPORT_LUA = """
statuses = {}
threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("codes")
    for code, n in pairs(counted) do merged[tostring(code)] = (merged[tostring(code)] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(merged) do table.insert(parts, string.format('"%s":%d', code, n)) end
  io.write(string.format(
    'WRK {"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"statuses":{%s}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ",")))
end
"""

# Tenant A: a send, then a read, round robin per connection.
FLOOD_LUA = """
counter = 0
function request()
  counter = counter + 1
  if counter % 2 == 0 then
    return wrk.format("GET", "/conversations", {["Authorization"] = auth})
  end
  local body = string.format('{"phone":"%s","text":"flood %d","tg_receiver":"@demo_ada"}', phone, counter)
  return wrk.format("POST", "/messages/send",
    {["Authorization"] = auth, ["Content-Type"] = "application/json"}, body)
end
"""


def wrk_script(directory: Path, name: str, head: str, body: str = "") -> Path:
    path = directory / name
    path.write_text(head + body + REPORT_LUA)
    return path


def start_wrk(script: Path, url: str, connections: int, seconds: float) -> subprocess.Popen[str]:
    args = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s", "-s", str(script), url]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def report_of(process: subprocess.Popen[str]) -> dict:
    output, _ = process.communicate(timeout=300)
    for line in output.splitlines():
        if line.startswith("WRK "):
            return json.loads(line.removeprefix("WRK "))
    raise RuntimeError(f"wrk printed no report:\n{output}")


def server_env(data_dir: Path, port: int, sandbox: SandboxProcess) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "development",  # the embedded default: SQLite, everything in one process
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_SHIPPING": "off",
        "LOG_LEVEL": "warning",
        "TELEGRAM_MODE": "sandbox",
        "TELEGRAM_DC": f"{sandbox.data_center.host}:{sandbox.data_center.port}:{sandbox.data_center.dc_id}",
        "TELEGRAM_EXTRA_RSA_KEY": sandbox.public_key_pem,
        # The flood measures the server, not the send budgets (they would refuse most of it as 429s).
        "SEND_BUDGET_MESSAGES_PER_DAY": "0",
        "SEND_BUDGET_NEW_CHATS_PER_DAY": "0",
    }


@contextlib.contextmanager
def served(env: dict[str, str]) -> Iterator[str]:
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not become healthy")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def tenant(http: httpx.Client, email: str, phone: str) -> str:
    """Register, log in and bind one sandbox profile; returns the bearer token."""
    http.post("/auth/register", json={"email": email, "password": PASSWORD}).raise_for_status()
    token = http.post("/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    http.post("/profiles/start", json={"phone": phone, "label": "bench"}, headers=headers).raise_for_status()
    bound = http.post("/profiles/code", json={"phone": phone, "code": phone[6] * 5}, headers=headers)
    bound.raise_for_status()
    # The demo sandbox greets every new account; wait until B's inbox has it, so B's GET reads real rows.
    deadline = time.monotonic() + 60
    while not http.get("/conversations", headers=headers).json().get("items") and time.monotonic() < deadline:
        time.sleep(0.2)
    return token


def figures(label: str, report: dict) -> str:
    rate = report["requests"] / report["seconds"] if report["seconds"] else 0.0
    return (
        f"{label:<44} {rate:8.1f} req/s   p50 {report['p50_us'] / 1000:8.2f} ms   p99 {report['p99_us'] / 1000:8.2f} ms"
        f"   statuses {report['statuses']}   socket errors {report['socket_errors']}"
    )


def main() -> int:
    if shutil.which("wrk") is None:
        print(
            "bench_tenants: skipped: wrk is not installed (Debian: apt-get install wrk); the load must come from wrk,"
            " not from a Python client, so nothing is measured"
        )
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    with sandbox_process(demo=True) as sandbox, served(server_env(work / "data", free_port(), sandbox)) as base:
        with httpx.Client(base_url=base, timeout=60) as http:
            token_a = tenant(http, "a@example.com", "+9996610001")
            token_b = tenant(http, "b@example.com", "+9996620001")
        measured = wrk_script(work, "b.lua", f'wrk.headers["Authorization"] = "Bearer {token_b}"\n')
        flood = wrk_script(work, "a.lua", f'auth = "Bearer {token_a}"\nphone = "+9996610001"\n', FLOOD_LUA)

        report_of(start_wrk(measured, base + "/conversations", MEASURED_CONNECTIONS, 2))  # warm-up
        idle = report_of(start_wrk(measured, base + "/conversations", MEASURED_CONNECTIONS, MEASURE_S))

        flooding = start_wrk(flood, base + "/", FLOOD_CONNECTIONS, MEASURE_S + 4)
        time.sleep(2)  # the flood is at full pressure before B is measured, and lasts until after
        loaded = report_of(start_wrk(measured, base + "/conversations", MEASURED_CONNECTIONS, MEASURE_S))
        flood_report = report_of(flooding)

    print(f"server: python -m app serve (embedded default, SQLite); {os.cpu_count()} cores shared by everything")
    print(figures("B GET /conversations, idle server", idle))
    print(figures(f"B GET /conversations, A flooding ({FLOOD_CONNECTIONS} conn)", loaded))
    print(figures("A flood: POST /messages/send + GET /conversations", flood_report))
    p50 = loaded["p50_us"] / idle["p50_us"] if idle["p50_us"] else float("nan")
    p99 = loaded["p99_us"] / idle["p99_us"] if idle["p99_us"] else float("nan")
    print(f"B under A's flood vs idle: p50 x{p50:.2f}   p99 x{p99:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
