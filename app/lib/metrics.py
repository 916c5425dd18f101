"""A small in-process metrics registry and the Prometheus text exposition format (version 0.0.4).

Only aggregate numbers with bounded labels (method, route template, status class): never a user, phone or
path with ids in it, so `/metrics` can be scraped without seeing any tenant's data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

# Seconds; Prometheus' own default buckets, which fit an HTTP API.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    total: int = 0
    sum: float = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for index, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                self.counts[index] += 1


class HttpMetrics:
    """Requests served by this process, by method, route template and status class."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.durations: dict[tuple[str, str], _Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        route = route or "unmatched"  # 404s have no template; their paths would be unbounded labels
        key = (method, route, f"{status // 100}xx")
        self.requests[key] = self.requests.get(key, 0) + 1
        self.durations.setdefault((method, route), _Histogram()).observe(seconds)

    def lines(self) -> Iterable[str]:
        yield "# HELP tgmp_http_requests_total HTTP requests served by this process."
        yield "# TYPE tgmp_http_requests_total counter"
        for (method, route, status), count in sorted(self.requests.items()):
            yield f"tgmp_http_requests_total{labels(method=method, route=route, status=status)} {count}"
        yield "# HELP tgmp_http_request_duration_seconds Time to answer an HTTP request."
        yield "# TYPE tgmp_http_request_duration_seconds histogram"
        for (method, route), histogram in sorted(self.durations.items()):
            for bound, count in zip(DURATION_BUCKETS, histogram.counts, strict=True):
                bucket = labels(method=method, route=route, le=_number(bound))
                yield f"tgmp_http_request_duration_seconds_bucket{bucket} {count}"
            every = labels(method=method, route=route, le="+Inf")
            yield f"tgmp_http_request_duration_seconds_bucket{every} {histogram.total}"
            yield f"tgmp_http_request_duration_seconds_sum{labels(method=method, route=route)} {histogram.sum:.6f}"
            yield f"tgmp_http_request_duration_seconds_count{labels(method=method, route=route)} {histogram.total}"


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of a gauge or counter, with its labels."""

    value: float
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str  # gauge | counter
    help: str
    samples: tuple[Sample, ...]

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for sample in self.samples:
            yield f"{self.name}{labels(**sample.labels)} {_number(sample.value)}"


def labels(**values: str) -> str:
    if not values:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in values.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(http: HttpMetrics, families: Iterable[Family]) -> str:
    lines = [*http.lines()]
    for family in families:
        lines.extend(family.lines())
    return "\n".join(lines) + "\n"
