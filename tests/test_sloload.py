"""The SLO gate's load control: host load is told apart from a slow release."""

import itertools
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from releaseops.service import slo, slocompare, slogate, sloload
from releaseops.service.slowindow import RouteSample

ROUTES = ("GET /a", "GET /b", "GET /c", "GET /d", "GET /e")


def _sample(route, center, seed, requests=300):
    rnd = random.Random(seed)
    return RouteSample(
        route, requests, 0, [max(0.1, rnd.gauss(center, 4)) for _ in range(requests)]
    )


def _windows(after_center):
    """A baseline at 100 ms on every route, and an after window with per-route centers."""
    before = {r: _sample(r, 100.0, i) for i, r in enumerate(ROUTES)}
    after = {r: _sample(r, after_center(r), 50 + i) for i, r in enumerate(ROUTES)}
    window = lambda routes: slo.WindowSummary(None, None, None, None, 0, routes)  # noqa: E731
    return window(before), window(after)


def _judge(before, after, probe_before, probe_after):
    budget = slo.Budget()
    pairs = slocompare.judged_pairs(before, after, budget)
    scale = sloload.scale(pairs, probe_before, probe_after)
    verdicts = slocompare.compare(before, after, budget, scale=scale.factor)
    return scale, {v.route for v in verdicts if v.latency.regressed}


def test_a_busy_host_slowing_every_route_together_is_no_regression():
    before, after = _windows(lambda _route: 180.0)
    # Unscaled, every route would regress: 180 ms against a 100 ms baseline.
    assert len(_judge(before, after, None, None)[1]) == len(ROUTES)
    scale, regressed = _judge(before, after, 1.0, 2.0)
    assert regressed == set()
    assert scale.factor == pytest.approx(1.8, rel=0.02)
    assert "probe ran 2.00x slower" in scale.line()


def test_one_slow_route_on_a_busy_host_still_regresses_alone():
    before, after = _windows(lambda route: 350.0 if route == "GET /c" else 150.0)
    scale, regressed = _judge(before, after, 1.0, 1.5)
    assert scale.factor == pytest.approx(1.5, rel=0.02)
    assert regressed == {"GET /c"}


def test_a_release_slowing_every_route_on_a_quiet_host_regresses():
    before, after = _windows(lambda _route: 200.0)
    scale, regressed = _judge(before, after, 1.1, 1.1)
    assert scale.factor == 1.0
    assert regressed == set(ROUTES)


def test_host_load_excuses_no_more_than_the_routes_share():
    before, after = _windows(lambda _route: 120.0)
    scale, _ = _judge(before, after, 1.0, 3.0)
    assert scale.factor == pytest.approx(1.2, rel=0.02)


def test_without_a_probe_in_both_windows_nothing_is_scaled():
    before, after = _windows(lambda _route: 180.0)
    for probes in ((None, 2.0), (1.0, None)):
        scale, regressed = _judge(before, after, *probes)
        assert scale.factor == 1.0 and "no load probe" in scale.why
        assert regressed == set(ROUTES)


def test_fewer_than_three_judged_routes_are_never_scaled():
    before = {r: _sample(r, 100.0, i) for i, r in enumerate(ROUTES[:2])}
    after = {r: _sample(r, 200.0, 9 + i) for i, r in enumerate(ROUTES[:2])}
    pairs = {r: (before[r], after[r]) for r in before}
    scale = sloload.scale(pairs, 1.0, 2.0)
    assert scale.factor == 1.0 and "fewer than 3 judged routes" in scale.why


def test_a_scaled_regression_says_so_in_its_line():
    before, after = _windows(lambda route: 400.0 if route == "GET /a" else 150.0)
    budget = slo.Budget()
    verdicts = slocompare.compare(before, after, budget, scale=1.5)
    line = next(v.latency.line(v.route) for v in verdicts if v.latency.regressed)
    assert line.startswith("GET /a:") and "baseline scaled by 1.50 for host load" in line


def test_the_latency_failure_says_why_the_baseline_was_scaled():
    before, after = _windows(lambda route: 400.0 if route == "GET /a" else 150.0)
    budget = slo.Budget()
    pairs = slocompare.judged_pairs(before, after, budget)
    baseline = slo.Baseline("r", datetime.now(UTC), "file:x", {}, before, 1.0)

    def comparison(scale):
        verdicts = slocompare.compare(before, after, budget, scale=scale.factor)
        return slogate.Comparison(baseline, {}, after, verdicts, budget, scale)

    scaled = sloload.scale(pairs, 1.0, 1.5)
    lines = comparison(scaled).latency_regressions()
    assert [line.split(":")[0] for line in lines[:-1]] == ["GET /a"]
    assert lines[-1] == scaled.line() and "scaled by 1.50 for host load" in lines[-1]
    assert "probe ran 1.50x slower" in lines[-1]
    unscaled = comparison(sloload.scale(pairs, None, None)).latency_regressions()
    assert unscaled and not any("host load" in line for line in unscaled)


@given(
    ratios=st.lists(st.floats(0.2, 5.0), min_size=0, max_size=6),
    probe_before=st.none() | st.floats(1.0, 4.0),
    probe_after=st.none() | st.floats(1.0, 4.0),
)
def test_the_scale_is_never_below_one_nor_above_what_both_controls_show(
    ratios, probe_before, probe_after
):
    pairs = {
        f"GET /{i}": (RouteSample("x", 1, 0, [10.0]), RouteSample("x", 1, 0, [10.0 * r]))
        for i, r in enumerate(ratios)
    }
    scale = sloload.scale(pairs, probe_before, probe_after)
    assert scale.factor >= 1.0
    if scale.factor > 1.0:
        assert probe_before is not None and probe_after is not None and len(ratios) >= 3
        assert scale.factor <= probe_after / probe_before + 1e-9
        assert scale.factor <= sloload.common_shift(pairs) + 1e-9


def test_the_probe_factor_is_wall_time_over_cpu_time():
    walls, cpus = itertools.count(0, 3), itertools.count(0, 1)
    probe = sloload.LoadProbe(
        wall_clock=lambda: float(next(walls)), cpu_clock=lambda: float(next(cpus)), iterations=1
    )
    assert probe.factor is None
    probe.sample()
    probe.sample()
    assert probe.samples == 2 and probe.factor == 3.0


def test_the_probe_factor_is_never_below_one():
    walls, cpus = itertools.count(0, 1), itertools.count(0, 2)
    probe = sloload.LoadProbe(
        wall_clock=lambda: float(next(walls)), cpu_clock=lambda: float(next(cpus)), iterations=1
    )
    probe.sample()
    assert probe.factor == 1.0


def test_the_probe_works_until_its_cpu_target_is_spent():
    # Each read of the CPU clock is 1 ms later: five pieces of work make the 5 ms target.
    reads = itertools.count(0)
    probe = sloload.LoadProbe(cpu_clock=lambda: next(reads) / 1000, iterations=1)
    probe.sample()
    assert probe.cpu == sloload.CPU_TARGET == 0.005
    assert next(reads) == 6


def test_the_probe_sees_processes_competing_for_the_cores():
    # Three busy processes and the probe on one core, whatever the machine's size: the probe
    # gets about a quarter of it.
    core = {min(os.sched_getaffinity(0))}
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    before = os.sched_getaffinity(0)
    try:
        for spinner in spinners:
            os.sched_setaffinity(spinner.pid, core)
        os.sched_setaffinity(0, core)
        time.sleep(0.3)
        probe = sloload.LoadProbe()
        for _ in range(15):
            probe.sample()
            time.sleep(0.002)
    finally:
        os.sched_setaffinity(0, before)
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert probe.factor is not None and probe.factor > 1.5, probe


def test_the_baseline_keeps_its_probe_factor(tmp_path):
    window = slo.WindowSummary(None, None, None, None, 0, {})
    baseline = slo.Baseline("r", slo.datetime.now(slo.UTC), "file:x", {}, window, 1.25)
    slo.save_baseline(baseline, tmp_path)
    assert slo.load_baseline(tmp_path, "r").load == 1.25
