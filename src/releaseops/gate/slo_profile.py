"""The latency profile the SLO checks attach to their evidence, so the report can draw it.

The SLO comparison in the evidence carries p50/p95/p99 per route; a distribution needs more.
A profile keeps, per window (baseline, comparison) and per route, the latency at fixed levels
(min, p5, p10, p25, p50, p75, p90, p95, p99, max) computed from the window's latency sample,
and the same for all routes together (`overall`). The overall figures weigh each route's
sample by the requests it stands for (a route's sample holds at most 2,000 latencies however
busy the route), so a busy route counts as much as it was used.
"""

from __future__ import annotations

from typing import Any

from releaseops.service.slo import WindowSummary
from releaseops.service.slogate import Comparison
from releaseops.service.slostats import quantile

LEVELS = (0, 5, 10, 25, 50, 75, 90, 95, 99, 100)
FORMAT = 1


def _rounded(values: list[float | None]) -> list[float | None]:
    return [None if v is None else round(v, 3) for v in values]


def weighted_quantile(pairs: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of (value, weight) pairs: the smallest value whose weight share is >= q."""
    ordered = sorted(p for p in pairs if p[1] > 0)
    total = sum(w for _, w in ordered)
    if not ordered:
        return None
    running = 0.0
    for value, weight in ordered:
        running += weight
        if running >= q * total * (1 - 1e-12):
            return value
    return ordered[-1][0]


def window_profile(window: WindowSummary) -> dict[str, Any]:
    """One window: per route and overall, the latency (ms) at each of LEVELS."""
    routes: dict[str, list[float | None]] = {}
    pairs: list[tuple[float, float]] = []
    for name, sample in window.routes.items():
        ordered = sorted(sample.latencies)
        routes[name] = _rounded([quantile(ordered, level / 100) for level in LEVELS])
        if ordered:
            weight = sample.requests / len(ordered)
            pairs.extend((value, weight) for value in ordered)
    overall = _rounded([weighted_quantile(pairs, level / 100) for level in LEVELS])
    return {"requests": window.requests, "overall": overall, "routes": routes}


def of_comparison(found: Comparison) -> dict[str, Any]:
    """The profile of both windows of the post-deploy comparison (for its evidence)."""
    current = window_profile(found.current) if found.current is not None else None
    return {
        "format": FORMAT,
        "unit": "ms",
        "levels": list(LEVELS),
        "baseline": window_profile(found.baseline.window),
        "comparison": current,
    }


def of_baseline(window: WindowSummary) -> dict[str, Any]:
    """The profile of the pre-deploy baseline window alone (for the gate's evidence)."""
    return {
        "format": FORMAT,
        "unit": "ms",
        "levels": list(LEVELS),
        "baseline": window_profile(window),
        "comparison": None,
    }


def levels_of(profile: Any, window: str, route: str | None) -> dict[int, float] | None:
    """Level -> latency of one route (or `overall` when route is None); None when absent.

    Reads any stored shape without failing: an older or partial profile answers None.
    """
    if not isinstance(profile, dict) or not isinstance(profile.get("levels"), list):
        return None
    part = profile.get(window)
    if not isinstance(part, dict):
        return None
    routes = part.get("routes")
    if route is None:
        values = part.get("overall")
    else:
        values = routes.get(route) if isinstance(routes, dict) else None
    if not isinstance(values, list) or len(values) != len(profile["levels"]):
        return None
    found = {
        int(level): float(value)
        for level, value in zip(profile["levels"], values, strict=True)
        if isinstance(level, int | float) and isinstance(value, int | float)
    }
    return found or None
