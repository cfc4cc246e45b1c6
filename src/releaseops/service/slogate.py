"""The SLO gate as the checks run it.

Traffic (on loopback), the baseline before the deploy, the comparison after it, and the
reasons a verdict is *not verified*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releaseops.service import http, slo, sloload, traffic
from releaseops.service.slo import Baseline, Budget, WindowSummary
from releaseops.service.slocompare import RouteVerdict, compare, judged_pairs
from releaseops.service.sloload import LoadScale
from releaseops.service.smoke import KnownQuery
from releaseops.service.traffic import TrafficReport


def generate_traffic(
    api_url: str, token: str | None, queries: Sequence[KnownQuery], budget: Budget
) -> TrafficReport | None:
    """The bounded traffic of a rehearsal; None when the service is not on loopback."""
    if not http.is_loopback(api_url):
        return None
    return traffic.send(
        api_url,
        queries,
        token=token,
        count=budget.traffic_requests,
        seconds=budget.traffic_seconds,
    )


def take_baseline(
    source: str,
    api_url: str,
    release_id: str,
    budget: Budget,
    *,
    token: str | None = None,
    cwd: Path | None = None,
    load: float | None = None,
) -> Baseline:
    """Read the running instance from /health, then the baseline window from the log."""
    running = slo.instance(api_url, token=token)
    return slo.record_baseline(source, release_id, running, budget, cwd=cwd, load=load)


def record_baseline(
    source: str,
    api_url: str,
    release_id: str,
    backup_dir: Path,
    budget: Budget,
    queries: Sequence[KnownQuery],
    *,
    token: str | None = None,
    cwd: Path | None = None,
) -> tuple[Baseline, Path, TrafficReport | None]:
    """What the gate does before the deploy: traffic (on loopback), the baseline, stored."""
    sent = generate_traffic(api_url, token, queries, budget)
    load = sent.load_factor if sent else None
    baseline = take_baseline(source, api_url, release_id, budget, token=token, cwd=cwd, load=load)
    return baseline, slo.save_baseline(baseline, backup_dir), sent


@dataclass(frozen=True)
class Comparison:
    """The post-deploy comparison: both windows, each route's verdict, and the budget."""

    baseline: Baseline
    running: dict[str, Any]
    current: WindowSummary | None
    verdicts: list[RouteVerdict]
    budget: Budget
    load: LoadScale | None = None

    def not_verified(self) -> str | None:
        """Why there is no verdict (no deploy moment, too little traffic), or None."""
        if self.current is None:
            return (
                "the service's /health reports no instance.started_at, so the moment of the "
                "deploy (the start of the comparison window) is unknown"
            )
        for window, name in ((self.baseline.window, "baseline"), (self.current, "comparison")):
            problem = window.too_little(self.budget, name)
            if problem:
                return problem
        if not self.judged:
            counts = "; ".join(f"{v.route}: {v.not_judged}" for v in self.verdicts[:5])
            return f"no route has {self.budget.min_requests} requests in both windows ({counts})"
        return None

    @property
    def judged(self) -> list[RouteVerdict]:
        """The routes with enough traffic in both windows."""
        return [v for v in self.verdicts if v.not_judged is None]

    def error_regressions(self) -> list[str]:
        """One sentence per route whose 5xx rate regressed beyond the budget."""
        return [v.errors.line(v.route) for v in self.judged if v.errors and v.errors.regressed]

    def latency_regressions(self) -> list[str]:
        """One sentence per route whose p95/p99 latency regressed beyond the budget.

        When the baseline was scaled for host load, a last sentence says by how much and why.
        """
        found = [v.latency.line(v.route) for v in self.judged if v.latency and v.latency.regressed]
        scaled = self.load.line() if self.load else ""
        return [*found, scaled] if found and scaled else found

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence (per-route figures, no samples)."""
        return {
            "budget": self.budget.as_dict(),
            "baseline": self.baseline.summary(),
            "running_instance": self.running,
            "comparison_window": self.current.summary() if self.current else None,
            "host_load": self.load.as_dict() if self.load else None,
            "routes": [v.as_dict() for v in self.verdicts],
        }


def compare_after_deploy(
    source: str,
    api_url: str,
    baseline: Baseline,
    budget: Budget,
    *,
    token: str | None = None,
    cwd: Path | None = None,
    sent: TrafficReport | None = None,
) -> Comparison:
    """The comparison window (from the running instance's start to now) against `baseline`.

    `sent` is the traffic just generated, if any: its load probe, with the baseline's, decides
    how far host load may excuse slower routes (sloload).
    """
    running = slo.instance(api_url, token=token)
    start = slo.comparison_start(baseline, running)
    if start is None:
        return Comparison(baseline, running, None, [], budget)
    current, _ = slo.read_window(source, start, None, cwd=cwd)
    pairs = judged_pairs(baseline.window, current, budget)
    scale = sloload.scale(pairs, baseline.load, sent.load_factor if sent else None)
    verdicts = compare(baseline.window, current, budget, scale=scale.factor)
    return Comparison(baseline, running, current, verdicts, budget, scale)
