"""The SLO verdict: each route's comparison window against its baseline, within the budget.

A route is judged only when both windows hold at least `min_requests` of its requests; a route
without enough traffic is listed, never passed. Per judged route:

- 5xx rate: one-sided exact binomial test of the comparison window's 5xx count against the
  rate the budget allows, `budget + (x0 + 0.5) / (n0 + 1)` (the baseline's rate, Jeffreys
  estimate, plus the budget). It regresses when that count is too high to be chance at
  `confidence` (p < 1 - confidence).
- latency: Mann-Whitney U of the comparison sample against the baseline's (one-sided), its
  effect size A = P(after > before), and the p95 and p99 differences. It regresses only when
  all three agree: the shift is significant, A >= min_effect, and p95 or p99 grew by more than
  `max(latency_budget_ms, latency_budget_ratio * baseline value)`.

Under host load (sloload) the baseline's latencies are first multiplied by `scale`, so the
three tests judge the release against what the baseline would have measured on the busier
host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releaseops.service.slo import Budget, WindowSummary
from releaseops.service.slostats import RankTest, binomial_sf, mann_whitney
from releaseops.service.slowindow import RouteSample


@dataclass(frozen=True)
class ErrorTest:
    """The 5xx comparison of one route."""

    before: tuple[int, int]
    after: tuple[int, int]
    allowed_rate: float
    p_value: float
    regressed: bool

    def line(self, route: str) -> str:
        """One sentence naming the route and the figures."""
        (x0, n0), (x1, n1) = self.before, self.after
        return (
            f"{route}: {x1}/{n1} answers were 5xx after the deploy ({_pct(x1, n1)}), "
            f"{x0}/{n0} before ({_pct(x0, n0)}); the budget allows {self.allowed_rate:.2%}, and "
            f"the exact binomial test gives p={self.p_value:.2g}"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence."""
        return {
            "before": {"errors_5xx": self.before[0], "requests": self.before[1]},
            "after": {"errors_5xx": self.after[0], "requests": self.after[1]},
            "allowed_rate": round(self.allowed_rate, 6),
            "p_value": self.p_value,
            "regressed": self.regressed,
        }


@dataclass(frozen=True)
class LatencyTest:
    """The latency comparison of one route (milliseconds)."""

    before: dict[str, float | None]
    after: dict[str, float | None]
    allowed: dict[str, float]
    rank: RankTest
    regressed: bool
    scale: float = 1.0

    def line(self, route: str) -> str:
        """One sentence naming the route and the figures."""
        grown = ", ".join(
            f"{name} {self.before[name]:.1f} -> {self.after[name]:.1f} ms "
            f"(allowed {self.allowed[name]:.1f})"
            for name in ("p95", "p99")
            if self.before[name] is not None and self.after[name] is not None
        )
        scaled = f"; baseline scaled by {self.scale:.2f} for host load" if self.scale > 1 else ""
        return (
            f"{route}: {grown}; Mann-Whitney p={self.rank.p_value:.2g}, "
            f"P(slower)={self.rank.effect:.2f}{scaled}"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence."""
        return {
            "before": self.before,
            "after": self.after,
            "allowed": {k: round(v, 3) for k, v in self.allowed.items()},
            "mann_whitney": {
                "u": self.rank.u,
                "z": round(self.rank.z, 4),
                "p_value": self.rank.p_value,
                "effect": round(self.rank.effect, 4),
            },
            "regressed": self.regressed,
            "baseline_scale": round(self.scale, 4),
        }


@dataclass(frozen=True)
class RouteVerdict:
    """One route: judged (with its two tests) or why not."""

    route: str
    before: RouteSample | None
    after: RouteSample | None
    errors: ErrorTest | None = None
    latency: LatencyTest | None = None
    not_judged: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence."""
        return {
            "route": self.route,
            "before": self.before.summary() if self.before else None,
            "after": self.after.summary() if self.after else None,
            "errors": self.errors.as_dict() if self.errors else None,
            "latency": self.latency.as_dict() if self.latency else None,
            "not_judged": self.not_judged,
        }


def _pct(x: int, n: int) -> str:
    return f"{x / n:.1%}" if n else "n/a"


def error_test(before: RouteSample, after: RouteSample, budget: Budget) -> ErrorTest:
    """Test whether the 5xx count after the deploy is too high for the baseline plus budget."""
    allowed = min(1.0, budget.error_rate_budget + (before.errors + 0.5) / (before.requests + 1))
    p_value = binomial_sf(after.errors, after.requests, allowed)
    regressed = after.errors > 0 and p_value < 1 - budget.confidence
    return ErrorTest(
        (before.errors, before.requests),
        (after.errors, after.requests),
        allowed,
        p_value,
        regressed,
    )


def latency_test(
    before: RouteSample, after: RouteSample, budget: Budget, *, scale: float = 1.0
) -> LatencyTest:
    """Test whether latency shifted up significantly, by a real effect, past the budget.

    `scale` (>= 1, host load) multiplies the baseline's latencies first.
    """
    baseline = [v * scale for v in before.latencies] if scale != 1.0 else before.latencies
    rank = mann_whitney(baseline, after.latencies)
    old, new = before.percentiles(), after.percentiles()
    allowed = {}
    for name in ("p95", "p99"):
        expected = scale * (old[name] or 0.0)
        allowed[name] = expected + max(
            budget.latency_budget_ms, budget.latency_budget_ratio * expected
        )
    beyond = any((new[name] or 0.0) > allowed[name] for name in allowed)
    significant = rank.p_value < 1 - budget.confidence and rank.effect >= budget.min_effect
    return LatencyTest(old, new, allowed, rank, regressed=beyond and significant, scale=scale)


def _counts(before: RouteSample | None, after: RouteSample | None) -> tuple[int, int]:
    return (before.requests if before else 0, after.requests if after else 0)


def judged_pairs(
    baseline: WindowSummary, current: WindowSummary, budget: Budget
) -> dict[str, tuple[RouteSample, RouteSample]]:
    """The routes with `min_requests` requests in both windows, with both samples."""
    pairs = {}
    for route, before in baseline.routes.items():
        after = current.routes.get(route)
        if after is not None and min(_counts(before, after)) >= budget.min_requests:
            pairs[route] = (before, after)
    return pairs


def compare(
    baseline: WindowSummary, current: WindowSummary, budget: Budget, *, scale: float = 1.0
) -> list[RouteVerdict]:
    """Every route of either window, judged where both windows have enough of its traffic.

    `scale` is the host-load factor of the baseline's latencies (sloload.scale).
    """
    verdicts = []
    for route in list(dict.fromkeys([*baseline.routes, *current.routes])):
        before, after = baseline.routes.get(route), current.routes.get(route)
        counts = _counts(before, after)
        if min(counts) < budget.min_requests:
            reason = (
                f"{counts[0]} requests before the deploy and {counts[1]} after, fewer than "
                f"{budget.min_requests} in one of them"
            )
            verdicts.append(RouteVerdict(route, before, after, not_judged=reason))
            continue
        assert before is not None and after is not None
        verdicts.append(
            RouteVerdict(
                route,
                before,
                after,
                errors=error_test(before, after, budget),
                latency=latency_test(before, after, budget, scale=scale),
            )
        )
    return verdicts
