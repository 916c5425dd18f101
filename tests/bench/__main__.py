"""`make bench`: runs every benchmark module in this folder, one process each, and prints their figures.

A benchmark that embeds the service in its own process (bench_webhooks, bench_archives) also gets the service's
JSON log lines on its stdout: they are written (printing them is part of what is measured) but not shown here;
each benchmark ends with how many were left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec

SERVICE_LINE_KINDS = {"request", "event"}


def is_service_log_line(line: str) -> bool:
    """A request or event line of app.lib.logging, as opposed to a benchmark's own figures."""
    if not line.startswith('{"kind":'):
        return False
    try:
        row = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return isinstance(row, dict) and row.get("kind") in SERVICE_LINE_KINDS


def run(name: str) -> int:
    """Run one benchmark, passing its figures through and leaving out the service's log lines."""
    # JSON lines (the production format) are recognisable; a benchmark that chooses another format says so
    env = {"LOG_FORMAT": "json", **os.environ}
    process = subprocess.Popen(
        [sys.executable, "-m", f"tests.bench.{name}"], stdout=subprocess.PIPE, text=True, bufsize=1, env=env
    )
    assert process.stdout is not None
    left_out = 0
    for line in process.stdout:
        if is_service_log_line(line):
            left_out += 1
        else:
            print(line, end="", flush=True)
    if left_out:
        print(f"({left_out} service log lines left out)", flush=True)
    return process.wait()


def main() -> int:
    selected = set(sys.argv[1:])
    failures = 0
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = path.stem
        if selected and name not in selected and name.removeprefix("bench_") not in selected:
            continue
        print(f"\n=== {name} ===", flush=True)
        failures += run(name) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
