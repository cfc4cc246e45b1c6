"""A bounded traffic generator for the SLO windows of a rehearsal: loopback only, reads only.

The SLO gate compares the service's request log before and after the deploy; on a rehearsal
nobody else sends requests, so the gate sends its own. Only to a service on a loopback address
(127.0.0.0/8 or ::1, never a name), only GET requests (the known queries and the read-only
smoke paths), at most `count` requests and `seconds` seconds, one at a time so that the
generator itself does not slow the service down. Both windows get the same mix. Once per cycle
the generator runs the SLO gate's load probe (sloload), which tells host load from a slow
release.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from releaseops.errors import TrafficRefused
from releaseops.service import http
from releaseops.service.sloload import LoadProbe
from releaseops.service.smoke import MANAGE, KnownQuery

HEALTH = "/health"
SEARCH = "/api/retrieval/search"
PAGE = "/manage"
# One cycle of the plan: half searches (the known queries in turn), then each read-only path.
CYCLE = ("search", "search", "search", "search", "health", "list", "question", "page")


@dataclass
class TrafficReport:
    """What the generator sent: counts per path and per status, and how long it took."""

    base_url: str
    sent: int = 0
    seconds: float = 0.0
    by_path: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0
    stopped_by: str = "count"
    # Sampled once per cycle: how busy the host was while this traffic ran (sloload).
    probe: LoadProbe = field(default_factory=LoadProbe)

    @property
    def load_factor(self) -> float | None:
        """The load probe's factor over this traffic (None when nothing was sent)."""
        return self.probe.factor

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence."""
        return {
            "base_url": self.base_url,
            "sent": self.sent,
            "seconds": round(self.seconds, 2),
            "by_path": dict(sorted(self.by_path.items())),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "connection_failures": self.failures,
            "stopped_by": self.stopped_by,
            "load_probe_factor": _round(self.load_factor),
        }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def send(
    base_url: str,
    queries: Sequence[KnownQuery],
    *,
    token: str | None,
    count: int,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> TrafficReport:
    """Send at most `count` GET requests within `seconds` to a loopback service.

    TrafficRefused when `base_url` is not on a loopback address. Requests that fail to connect
    are counted, not raised: the SLO windows judge what the service logged.
    """
    if not http.is_loopback(base_url):
        raise TrafficRefused(
            f"refusing to send generated traffic to {http.redact(base_url)}: the SLO traffic "
            f"generator only talks to a service on a loopback address (127.0.0.1 or ::1); "
            f"against a real environment the SLO windows use the traffic the service serves",
            url=base_url,
        )
    if count < 0 or seconds < 0:
        raise ValueError(f"count and seconds must be >= 0, got {count} and {seconds}")
    report = TrafficReport(base_url)
    started = clock()
    with http.session(token, timeout=10) as client:
        paths = _Paths(base_url.rstrip("/"), queries, token, client)
        while report.sent < count:
            if clock() - started >= seconds:
                report.stopped_by = "time"
                break
            kind = CYCLE[report.sent % len(CYCLE)]
            path, params = paths.next(kind)
            if report.sent % len(CYCLE) == 0:
                report.probe.sample()
            report.sent += 1
            report.by_path[path] += 1
            try:
                response = client.get(f"{paths.base}{path}", params=params, timeout=10)
            except requests.RequestException:
                report.failures += 1
                continue
            report.statuses[response.status_code] += 1
            paths.learn(kind, response)
    report.seconds = clock() - started
    return report


class _Paths:
    """The next request of each kind; question ids are learnt from the list responses."""

    def __init__(
        self, base: str, queries: Sequence[KnownQuery], token: str | None, client: Any
    ) -> None:
        self.base = base
        self.queries = list(queries)
        self.token = token
        self.client = client
        self.turn = 0
        self.ids: list[int] = []

    def next(self, kind: str) -> tuple[str, dict[str, str]]:
        self.turn += 1
        if kind == "search" and self.queries:
            query = self.queries[self.turn % len(self.queries)]
            return SEARCH, {"q": query.q, "k": str(query.k)}
        if kind == "list" and self.token:
            return MANAGE, {"page": "1", "per_page": "20"}
        if kind == "question" and self.token and self.ids:
            return f"{MANAGE}/{self.ids[self.turn % len(self.ids)]}", {}
        if kind == "page":
            return PAGE, {}
        return HEALTH, {}

    def learn(self, kind: str, response: requests.Response) -> None:
        if kind != "list" or response.status_code != 200 or self.ids:
            return
        try:
            items = response.json().get("items", [])
        except (ValueError, AttributeError):
            return
        self.ids = [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)]
