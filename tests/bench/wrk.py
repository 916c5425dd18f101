"""Drives Debian's `wrk` (a compiled HTTP load generator) and reads its figures.

A Python load generator on the same two cores measures itself more than the server; wrk's C event loop does not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

THREADS = 2
CONNECTIONS = 32

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True, slots=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    unexpected: int  # non-2xx/3xx answers (wrk counts them; a 404 benchmark expects them all) and socket errors

    def line(self, label: str, baseline: WrkResult | None = None) -> str:
        ratio = f"   ratio {self.rps / baseline.rps:5.3f}" if baseline is not None and baseline.rps else ""
        return (
            f"{label:<40} {self.rps:9.1f} req/s   p50 {self.p50_ms:7.2f} ms   p99 {self.p99_ms:7.2f} ms"
            f"   non-2xx/errors {self.unexpected}{ratio}"
        )


def wrk_missing_reason() -> str | None:
    """Why the HTTP benchmarks cannot run here, or None when wrk is installed."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (`make bench` installs Debian's wrk when run as root: see .ci/install-wrk)"
    return None


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse(output: str) -> WrkResult:
    """The figures of `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, flags=re.MULTILINE))
    unexpected = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        unexpected += int(non_2xx.group(1))
    if socket_errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        unexpected += sum(int(n) for n in socket_errors.groups())
    return WrkResult(rps, _milliseconds(percentiles["50"]), _milliseconds(percentiles["99"]), requests, unexpected)


def run_wrk(url: str, *, seconds: float, headers: Mapping[str, str] | None = None) -> WrkResult:
    """`wrk -t2 -c32 -d<seconds>s --latency` against `url`."""
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    completed = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    try:
        return parse(completed.stdout)
    except (AttributeError, KeyError, ValueError):
        raise RuntimeError(f"unexpected wrk output for {url}:\n{completed.stdout}{completed.stderr}") from None
