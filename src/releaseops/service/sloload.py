"""The SLO gate's load control: a busy host is not a slow release.

On a rehearsal the gate sends its own traffic to a loopback service, so the service shares
its host with the checker and with whatever else runs there (other builds, other tests). When
that host is busier during the comparison window than during the baseline, every route slows
down together, and a plain before/after comparison calls that a regression.

The control has two parts, and the latency budget is stretched only as far as both agree:

- a probe (`LoadProbe`) that the traffic generator runs once per cycle of requests: at least 5 ms of
  CPU work, timed by the wall clock and by the thread's CPU clock. On an idle host both are
  equal; when runnable processes outnumber the cores, the wall time grows with the wait for a
  core. The probe's factor is their ratio, and `probe ratio` = factor after / factor before:
  how much scarcer the CPU was while the comparison traffic ran.
- the routes' common shift: the median, over the judged routes, of each route's median
  latency after / before. A release that slows one route moves that route, not the median of
  several; a busy host moves them all.

The baseline latencies are scaled by `max(1, min(probe ratio, common shift))`, and only when
both are known and at least `MIN_ROUTES` routes are judged. So a release that slows every
route on a quiet host is judged unscaled (the probe saw no extra load), and a busy host
excuses no more slowness than the routes share. Without generated traffic (an env target that
is not on loopback) there is no probe and no scaling.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from releaseops.service.slowindow import RouteSample

# The probe's work: at least 5 ms of CPU, like a request's burst, in pieces of 10,000
# iterations (a fraction of a millisecond). A shorter piece would finish inside the head start
# the scheduler gives a task that wakes from sleep, and would see no wait for a core however
# busy the host is; a fixed count of iterations would be that short on a fast core.
WORK = 10_000
CPU_TARGET = 0.005
# Judged routes the common shift needs: with fewer, one slow route would be the median.
MIN_ROUTES = 3


def _work(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i
    return total


@dataclass
class LoadProbe:
    """Wall and CPU time of a piece of work, summed over the samples of a window."""

    wall: float = 0.0
    cpu: float = 0.0
    samples: int = 0
    wall_clock: Callable[[], float] = time.perf_counter
    cpu_clock: Callable[[], float] = time.thread_time
    iterations: int = WORK
    cpu_target: float = CPU_TARGET

    def sample(self) -> None:
        """Work until `cpu_target` seconds of CPU are spent; add its wall and CPU time."""
        wall, cpu = self.wall_clock(), self.cpu_clock()
        while True:
            _work(self.iterations)
            spent = self.cpu_clock() - cpu
            if spent >= self.cpu_target:
                break
        self.wall += self.wall_clock() - wall
        self.cpu += spent
        self.samples += 1

    @property
    def factor(self) -> float | None:
        """Wall time / CPU time (1.0 on an idle host, never less); None before any sample."""
        if self.samples == 0 or self.cpu <= 0:
            return None
        return max(1.0, self.wall / self.cpu)


@dataclass(frozen=True)
class LoadScale:
    """How much the baseline's latencies are stretched before the comparison, and why."""

    factor: float
    before: float | None
    after: float | None
    common_shift: float | None
    routes: int
    why: str

    @property
    def probe_ratio(self) -> float | None:
        """How much busier the host was after the deploy than before (probe factors)."""
        if self.before is None or self.after is None:
            return None
        return self.after / self.before

    def line(self) -> str:
        """One sentence for a failure message ("" when nothing was scaled)."""
        if self.factor == 1.0:
            return ""
        return f"the baseline was scaled by {self.factor:.2f} for host load ({self.why})"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence."""
        ratio = self.probe_ratio
        return {
            "factor": round(self.factor, 4),
            "probe_factor_before": _round(self.before),
            "probe_factor_after": _round(self.after),
            "probe_ratio": _round(ratio),
            "common_shift": _round(self.common_shift),
            "judged_routes": self.routes,
            "why": self.why,
        }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def common_shift(pairs: Mapping[str, tuple[RouteSample, RouteSample]]) -> float | None:
    """The median over routes of median latency after / before; None with too few routes."""
    ratios = []
    for before, after in pairs.values():
        old = statistics.median(before.latencies) if before.latencies else 0.0
        if old > 0 and after.latencies:
            ratios.append(statistics.median(after.latencies) / old)
    return statistics.median(ratios) if len(ratios) >= MIN_ROUTES else None


def scale(
    pairs: Mapping[str, tuple[RouteSample, RouteSample]],
    before: float | None,
    after: float | None,
) -> LoadScale:
    """The baseline's scale for the judged routes `pairs` and the probe factors of both windows."""
    shift = common_shift(pairs)
    routes = len(pairs)
    if before is None or after is None:
        why = "no load probe in both windows (traffic was not generated here)"
        return LoadScale(1.0, before, after, shift, routes, why)
    if shift is None:
        why = f"fewer than {MIN_ROUTES} judged routes to tell host load from the release"
        return LoadScale(1.0, before, after, shift, routes, why)
    ratio = after / before  # LoadScale.probe_ratio
    factor = max(1.0, min(ratio, shift))
    why = (
        f"the load probe ran {ratio:.2f}x slower than during the baseline and the "
        f"{routes} judged routes' median latencies moved by {shift:.2f}x together"
    )
    return LoadScale(factor, before, after, shift, routes, why)
