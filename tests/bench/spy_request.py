"""Where a real server spends an authenticated `GET /auth/me` under `wrk`, sampled by py-spy (not run by `make bench`).

`.venv/bin/python -m tests.bench.spy_request [path]` starts `python -m app serve` on the embedded defaults
(SQLite, in-process stores, LOG_SHIPPING=off, request logging on, its lines to /dev/null), signs in, loads it with
`wrk -t2 -c32` for SECONDS and meanwhile samples the server's event-loop thread with `py-spy record --format raw`
(install: `.tools/bin/uv pip install --python .venv/bin/python py-spy`). Each sample is put in the first part
whose frame it shows, searched from the innermost frame out, so a part's share is its own time (what it calls
that has a part of its own counts there). Printed: the share of each part and wrk's figures.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_http import app_process, sign_in
from tests.bench.wrk import run_wrk, wrk_missing_reason

SECONDS = 10
RATE = 250  # samples per second

# (part, substrings of a frame "function (file:line)"), most specific first: a sample goes to the innermost match.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("request log line (JSON encode + write)", ("app/lib/logging.py",)),
    ("request metrics (histogram)", ("app/lib/metrics.py",)),
    ("token check + denylist (auth middleware)", ("app/server/auth.py", "app/domain/accounts/")),
    ("request log middleware (id, timing)", ("app/server/request_log.py",)),
    ("input guard middleware", ("app/server/input_guard.py",)),
    ("response: serialisation and headers", ("litestar/response/", "litestar/serialization/", "msgspec")),
    ("handler: signature, dependencies", ("litestar/_kwargs/", "litestar/_signature/", "litestar/di.py")),
    (
        "Litestar routing and request objects",
        ("litestar/_asgi/", "litestar/routes/", "litestar/connection/", "litestar/datastructures/"),
    ),
    ("Litestar middleware layers", ("litestar/middleware/",)),
    ("Litestar app and handler glue", ("litestar/",)),
    ("uvicorn: HTTP parsing and socket writes", ("uvicorn/", "app/server/http_limits.py")),
    ("database (the kept user's refresh)", ("sqlalchemy/", "aiosqlite/", "app/db/")),
    ("asyncio event loop (selector, callbacks)", ("asyncio/",)),
)


def classify(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for part, needles in PARTS:
            if any(needle in frame for needle in needles):
                return part
    return "other (interpreter, GC)"


def main() -> int:
    if reason := wrk_missing_reason():
        print(f"skipped: {reason}")
        return 0
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("skipped: py-spy is not installed (.tools/bin/uv pip install --python .venv/bin/python py-spy)")
        return 0
    path = sys.argv[1] if len(sys.argv) > 1 else "/auth/me"
    data_dir = tempfile.mkdtemp(prefix="spy-request-")
    env = {**os.environ, "DATA_DIR": data_dir, "LOG_SHIPPING": "off", "APP_ENV": "development"}
    for name in ("DATABASE_URL", "REDIS_URL", "CLICKHOUSE_DSN", "LOG_FORMAT"):
        env.pop(name, None)
    out = Path(data_dir) / "samples.txt"
    with app_process(env) as base:
        token, _ = sign_in(base)
        headers = {"Authorization": f"Bearer {token}"}
        run_wrk(base + path, seconds=2, headers=headers)  # warm-up
        pid = _server_pid(base)
        recorder = subprocess.Popen(
            [spy, "record", "--format", "raw", "-r", str(RATE), "-d", str(SECONDS), "-o", str(out), "-p", str(pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        result = run_wrk(base + path, seconds=SECONDS - 1, headers=headers)
        recorder.wait(timeout=60)
    counts: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack.startswith("_run_module_as_main"):  # the event loop's thread (not the SQLite driver's, idle)
            counts[classify(stack)] += int(n)
    total = sum(counts.values())
    print(f"GET {path} under wrk -t2 -c32 for {SECONDS - 1} s: {result.line('')}")
    print(f"py-spy {total} samples of the server thread at {RATE}/s; own time per part:")
    for part, n in counts.most_common():
        print(f"  {part:<48} {100 * n / total:5.1f} %")
    return 0


def _server_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    listing = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(listing.split("pid=", 1)[1].split(",", 1)[0])


if __name__ == "__main__":
    raise SystemExit(main())
