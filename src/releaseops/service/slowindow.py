"""SLO windows: per route, the requests, 5xx answers and latencies logged in a time window.

A `Window` is an observer of the log engine (logscan): it sees every conforming request line
once, keeps the ones whose timestamp falls in [start, end), and keeps per route a count, a 5xx
count and a fixed-size latency sample, so its memory does not grow with the log. A route is
"METHOD rule" when the line names its method, else the rule alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from releaseops.service.slostats import Reservoir, quantile

TIMESTAMP_KEYS = ("timestamp", "@timestamp", "time", "ts")
SAMPLE_SIZE = 2000
MAX_ROUTES = 200
OTHER_ROUTES = "(other routes)"
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def parse_time(value: Any) -> datetime | None:
    """A log line's timestamp: ISO 8601 text or Unix seconds (or milliseconds); naive is UTC."""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    elif type(value) in (int, float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            when = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def line_time(data: dict[str, Any]) -> datetime | None:
    """The timestamp of a parsed log line, from its first timestamp key."""
    for key in TIMESTAMP_KEYS:
        if key in data:
            return parse_time(data[key])
    return None


def route_key(data: dict[str, Any]) -> str:
    """The route as "GET /api/retrieval/search", or the rule alone when there is no method."""
    method = data.get("method")
    return f"{method} {data['route']}" if isinstance(method, str) and method else data["route"]


@dataclass
class RouteSample:
    """One route in one window: requests, 5xx answers and a sample of latencies (ms)."""

    route: str
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        """5xx answers / requests (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0

    def percentiles(self) -> dict[str, float | None]:
        """p50, p95 and p99 of the latency sample, in milliseconds."""
        ordered = sorted(self.latencies)
        return {name: quantile(ordered, q) for name, q in QUANTILES.items()}

    def summary(self) -> dict[str, Any]:
        """Counts, rate and percentiles (not the sample), for evidence and reports."""
        shown = {k: None if v is None else round(v, 3) for k, v in self.percentiles().items()}
        return {
            "requests": self.requests,
            "errors_5xx": self.errors,
            "error_rate": round(self.error_rate, 6),
            **shown,
        }

    def as_dict(self) -> dict[str, Any]:
        """Everything, the latency sample included (what the baseline file stores)."""
        return {**self.summary(), "route": self.route, "latencies": self.latencies}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouteSample:
        """The inverse of as_dict()."""
        return cls(
            str(data["route"]),
            int(data["requests"]),
            int(data["errors_5xx"]),
            [float(v) for v in data["latencies"]],
        )


class Window:
    """A log engine observer collecting per-route samples of the lines in [start, end)."""

    def __init__(self, start: datetime | None = None, end: datetime | None = None) -> None:
        self.start = start
        self.end = end
        self.untimed = 0
        self.outside = 0
        self.first_seen: datetime | None = None
        self.last_seen: datetime | None = None
        self._counts: dict[str, list[int]] = {}
        self._samples: dict[str, Reservoir] = {}

    def __call__(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Take a block's conforming request lines (the logscan Observer protocol)."""
        timed = self.start is not None or self.end is not None
        for _, data in batch:
            if timed:
                when = line_time(data)
                if when is None:
                    self.untimed += 1
                    continue
                if (self.start and when < self.start) or (self.end and when >= self.end):
                    self.outside += 1
                    continue
                self._seen(when)
            self._add(route_key(data), data["status"], data["latency"])

    def _seen(self, when: datetime) -> None:
        if self.first_seen is None or when < self.first_seen:
            self.first_seen = when
        if self.last_seen is None or when > self.last_seen:
            self.last_seen = when

    def _add(self, route: str, status: int, latency: float) -> None:
        counts = self._counts.get(route)
        if counts is None:
            if len(self._counts) >= MAX_ROUTES:
                route = OTHER_ROUTES
            counts = self._counts.setdefault(route, [0, 0])
            self._samples.setdefault(route, Reservoir(SAMPLE_SIZE, seed=len(self._samples)))
        counts[0] += 1
        if status >= 500:
            counts[1] += 1
        self._samples[route].add(float(latency))

    def routes(self) -> dict[str, RouteSample]:
        """Route -> its sample, busiest route first."""
        samples = {
            route: RouteSample(route, counts[0], counts[1], list(self._samples[route].values))
            for route, counts in self._counts.items()
        }
        return dict(sorted(samples.items(), key=lambda item: (-item[1].requests, item[0])))

    @property
    def requests(self) -> int:
        """Request lines inside the window."""
        return sum(counts[0] for counts in self._counts.values())
