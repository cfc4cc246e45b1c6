"""What the SLO charts draw, read from a run's evidence: one view per route, before and after.

The post-deploy checks attach "SLO comparison" (per-route figures and verdicts) and "SLO
latency profile" (slo_profile); the pre-deploy gate attaches "baseline window" and "baseline
latency profile". Any of them may be missing or of an older shape: what cannot be read is
left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from releaseops.gate import slo_profile

COMPARISON = "SLO comparison"
PROFILE = "SLO latency profile"
BASELINE = "baseline window"
BASELINE_PROFILE = "baseline latency profile"
TITLES = (COMPARISON, PROFILE, BASELINE, BASELINE_PROFILE)


@dataclass
class Lane:
    """One window of one route: its counts and its latency at known levels (ms)."""

    requests: int
    errors: int
    levels: dict[int, float]

    @property
    def error_rate(self) -> float:
        """5xx answers / requests (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class RouteView:
    """One route as the charts draw it."""

    route: str
    before: Lane | None
    after: Lane | None
    allowed: dict[str, float] = field(default_factory=dict)
    allowed_rate: float | None = None
    latency_regressed: bool = False
    errors_regressed: bool = False
    not_judged: str | None = None


@dataclass
class SloViews:
    """Every route of the run's SLO evidence, and whether there is an after-deploy window."""

    routes: list[RouteView]
    compared: bool
    budget: dict[str, Any]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _lane(summary: Any, levels: dict[int, float] | None) -> Lane | None:
    """A lane from a route summary (requests, errors_5xx, p50/p95/p99) and its profile."""
    if not isinstance(summary, dict):
        return None
    requests, errors = _number(summary.get("requests")), _number(summary.get("errors_5xx"))
    if requests is None:
        return None
    known = dict(levels or {})
    for name, level in (("p50", 50), ("p95", 95), ("p99", 99)):
        value = _number(summary.get(name))
        if value is not None:
            known.setdefault(level, value)
    return Lane(int(requests), int(errors or 0), known)


def _records(checks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The last record of each SLO title across the run's checks."""
    found: dict[str, Any] = {}
    for check in checks:
        for record in check.get("evidence") or ():
            if isinstance(record, dict) and record.get("title") in TITLES:
                found[str(record["title"])] = record.get("content")
    return found


def _from_comparison(comparison: dict[str, Any], profile: Any) -> list[RouteView]:
    views = []
    for entry in comparison.get("routes") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("route"), str):
            continue
        route = entry["route"]
        latency, errors = _dict(entry.get("latency")), _dict(entry.get("errors"))
        allowed = {
            k: float(v) for k, v in _dict(latency.get("allowed")).items() if _number(v) is not None
        }
        views.append(
            RouteView(
                route,
                _lane(entry.get("before"), slo_profile.levels_of(profile, "baseline", route)),
                _lane(entry.get("after"), slo_profile.levels_of(profile, "comparison", route)),
                allowed=allowed,
                allowed_rate=_number(errors.get("allowed_rate")),
                latency_regressed=latency.get("regressed") is True,
                errors_regressed=errors.get("regressed") is True,
                not_judged=entry["not_judged"]
                if isinstance(entry.get("not_judged"), str)
                else None,
            )
        )
    return views


def _from_baseline(baseline: dict[str, Any], profile: Any) -> list[RouteView]:
    routes = _dict(_dict(baseline.get("window")).get("routes"))
    return [
        RouteView(route, _lane(summary, slo_profile.levels_of(profile, "baseline", route)), None)
        for route, summary in routes.items()
        if _lane(summary, None) is not None
    ]


def _order(view: RouteView) -> tuple[int, int, str]:
    """Regressions first, then judged routes by traffic, then the routes not judged."""
    regressed = view.latency_regressed or view.errors_regressed
    traffic = max(
        view.before.requests if view.before else 0, view.after.requests if view.after else 0
    )
    return (0 if regressed else 1 if view.not_judged is None else 2, -traffic, view.route)


def collect(checks: Iterable[Mapping[str, Any]]) -> SloViews | None:
    """The run's SLO views (`checks` as in evidence.json), None when it has no SLO evidence."""
    records = _records(checks)
    comparison = records.get(COMPARISON)
    if isinstance(comparison, dict) and comparison.get("routes"):
        views = _from_comparison(comparison, records.get(PROFILE))
        budget = _dict(comparison.get("budget"))
        compared = True
    elif isinstance(records.get(BASELINE), dict):
        views = _from_baseline(records[BASELINE], records.get(BASELINE_PROFILE))
        budget, compared = {}, False
    else:
        return None
    if not views:
        return None
    return SloViews(sorted(views, key=_order), compared, budget)
