"""The SLO gate's library: statistics, windows, stored baseline, verdict, the [slo] table."""

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releaseops.errors import ReleaseRecordInvalid, SloBaselineInvalid
from releaseops.release import record
from releaseops.service import logcheck, slo, slocompare, slostats
from releaseops.service.slowindow import RouteSample, Window, line_time, parse_time

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def request(route="/api/retrieval/search", status=200, latency=5.0, at=T0, **extra):
    data = {
        "timestamp": at.isoformat(),
        "request_id": extra.pop("request_id", f"r-{random.random()}"),
        "method": "GET",
        "route": route,
        "status": status,
        "latency": latency,
        "error_code": None if status < 400 else f"HTTP_{status}",
        **extra,
    }
    return json.dumps(data)


# --- statistics -----------------------------------------------------------------------------


def test_quantiles_interpolate_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert slostats.quantile(values, 0.5) == 3.0
    assert slostats.quantile(values, 0.95) == pytest.approx(8.8)
    assert slostats.quantile([], 0.5) is None


@pytest.mark.parametrize(
    ("x", "n", "p"), [(0, 10, 0.1), (3, 10, 0.1), (9, 300, 0.01), (50, 60, 0.5)]
)
def test_binomial_tail_matches_the_sum_of_the_probabilities(x, n, p):
    exact = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1))
    assert slostats.binomial_sf(x, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-15)


def test_binomial_tail_edges():
    assert slostats.binomial_sf(0, 5, 0.2) == 1.0
    assert slostats.binomial_sf(6, 5, 0.2) == 0.0
    assert slostats.binomial_sf(1, 5, 0.0) == 0.0


def test_mann_whitney_matches_a_worked_example():
    # Textbook example (no ties): U = 3 for the first sample, 22 for the second.
    before = [19, 22, 16, 29, 24]
    after = [20, 11, 17, 12]
    test = slostats.mann_whitney(before, after)
    assert test.u == 3
    assert test.effect == pytest.approx(3 / 20)
    assert test.p_value > 0.9  # `after` is not larger


def test_mann_whitney_with_ties_uses_average_ranks_and_the_tie_correction():
    # Ranks: 1 -> 1; the three 2s -> 3; the three 3s -> 6; 4 -> 8. After: 3 + 6 + 6 + 8 = 23.
    test = slostats.mann_whitney([1, 2, 2, 3], [2, 3, 3, 4])
    assert test.u == 23 - 4 * 5 / 2
    # Two runs of three ties: sum(t^3 - t) = 48, n = 8.
    z = (13 - 8 - 0.5) / math.sqrt(16 / 12 * (9 - 48 / 56))
    assert test.z == pytest.approx(z)
    assert test.effect == pytest.approx(13 / 16)


def test_mann_whitney_of_identical_constant_samples_finds_nothing():
    test = slostats.mann_whitney([5.0] * 10, [5.0] * 10)
    assert test.p_value == 1.0 and test.effect == 0.5


def test_mann_whitney_sees_a_clear_shift_with_effect_near_one():
    rnd = random.Random(1)
    before = [rnd.gauss(10, 1) for _ in range(200)]
    after = [v + 200 for v in before]
    test = slostats.mann_whitney(before, after)
    assert test.p_value < 1e-12 and test.effect == 1.0


def test_reservoir_keeps_a_bounded_uniform_sample():
    reservoir = slostats.Reservoir(1000, seed=3)
    for value in range(100_000):
        reservoir.add(float(value))
    assert len(reservoir.values) == 1000 and reservoir.seen == 100_000
    assert 40_000 < sum(reservoir.values) / 1000 < 60_000


# --- windows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T10:00:00+00:00", T0),
        ("2026-11-28T11:00:00+01:00", T0),
        ("2026-11-28T10:00:00Z", T0),
        ("2026-11-28T10:00:00", T0),
        (T0.timestamp(), T0),
        (T0.timestamp() * 1000, T0),
        ("yesterday", None),
        (None, None),
    ],
)
def test_timestamps_are_read_from_iso_text_or_unix_time(value, expected):
    assert parse_time(value) == expected


def test_the_first_timestamp_key_counts():
    assert line_time({"@timestamp": "2026-11-28T10:00:00Z"}) == T0
    assert line_time({"message": "no time"}) is None


def test_a_window_keeps_the_requests_inside_its_bounds_per_route():
    lines = [
        request(at=T0 - timedelta(seconds=1)),
        request(at=T0, latency=10.0),
        request(at=T0 + timedelta(seconds=1), status=503, latency=30.0),
        request(route="/health", at=T0 + timedelta(seconds=2)),
        request(at=T0 + timedelta(seconds=9)),
        '{"request_id": "x", "route": "/x", "status": 200, "latency": 1, "error_code": null}',
    ]
    window = Window(T0, T0 + timedelta(seconds=9))
    logcheck.check(lines, [window])
    routes = window.routes()
    assert list(routes) == ["GET /api/retrieval/search", "GET /health"]
    search = routes["GET /api/retrieval/search"]
    assert (search.requests, search.errors, sorted(search.latencies)) == (2, 1, [10.0, 30.0])
    assert (window.outside, window.untimed) == (2, 1)
    assert (window.first_seen, window.last_seen) == (T0, T0 + timedelta(seconds=2))


def test_a_window_without_bounds_takes_every_request_line_and_needs_no_time():
    window = Window()
    logcheck.check(
        ['{"request_id": "x", "route": "/x", "status": 200, "latency": 1, "error_code": null}'],
        [window],
    )
    assert window.routes()["/x"].requests == 1


def test_route_samples_give_percentiles_and_round_trip():
    sample = RouteSample("GET /x", 100, 3, [float(v) for v in range(1, 101)])
    assert sample.percentiles()["p95"] == pytest.approx(95.05)
    assert sample.error_rate == 0.03
    assert RouteSample.from_dict(json.loads(json.dumps(sample.as_dict()))) == sample


# --- the stored baseline --------------------------------------------------------------------


def _summary(routes, last_seen=T0):
    return slo.WindowSummary(
        T0 - timedelta(hours=1), None, T0 - timedelta(hours=1), last_seen, 0, routes
    )


def test_baseline_is_saved_next_to_the_backups_and_read_back(tmp_path):
    window = _summary({"GET /x": RouteSample("GET /x", 60, 0, [1.0] * 60)})
    baseline = slo.Baseline("2026.11.28-1", T0, "file:/var/log/api.log", {"id": "abc"}, window)
    path = slo.save_baseline(baseline, tmp_path)
    assert path == tmp_path / "releases" / "2026.11.28-1.slo-baseline.json"
    assert slo.load_baseline(tmp_path, "2026.11.28-1") == baseline
    assert slo.load_baseline(tmp_path, "another") is None


def test_unsafe_release_ids_make_safe_file_names(tmp_path):
    assert slo.baseline_path(tmp_path, "../../etc/x y").name == "_.._etc_x_y.slo-baseline.json"


def test_the_stored_source_never_shows_a_password(tmp_path):
    baseline = slo.Baseline("r", T0, "cmd:psql postgresql://app:hunter2@db/x", {}, _summary({}))
    text = slo.save_baseline(baseline, tmp_path).read_text()
    assert "hunter2" not in text and "app:***@db" in text


def test_an_unreadable_baseline_says_how_to_fix_it(tmp_path):
    path = slo.baseline_path(tmp_path, "r")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SloBaselineInvalid, match=r"cannot be read .*pytest checks/predeploy"):
        slo.load_baseline(tmp_path, "r")


def test_the_comparison_window_opens_at_the_new_instance_and_after_the_baseline():
    baseline = slo.Baseline("r", T0, "file:x", {}, _summary({}, last_seen=T0))
    later = T0 + timedelta(minutes=5)
    assert slo.comparison_start(baseline, {"started_at": later.isoformat()}) == later
    same = slo.comparison_start(baseline, {"started_at": (T0 - timedelta(hours=2)).isoformat()})
    assert same == T0 + timedelta(microseconds=1)
    assert slo.comparison_start(baseline, {}) is None


def test_the_baseline_window_starts_at_the_running_instance(tmp_path):
    log = tmp_path / "api.log"
    old, new = T0 - timedelta(minutes=10), T0 - timedelta(minutes=1)
    log.write_text("\n".join([request(at=old), request(at=new), request(at=new)]) + "\n")
    running = {"started_at": (T0 - timedelta(minutes=2)).isoformat()}
    baseline = slo.record_baseline(f"file:{log}", "r", running, slo.Budget(), now=T0)
    assert baseline.window.requests == 2
    assert baseline.window.start == T0 - timedelta(minutes=2)


# --- the verdict ----------------------------------------------------------------------------


def _sample(route="GET /x", requests=400, errors=0, center=10.0, seed=0):
    rnd = random.Random(seed)
    return RouteSample(route, requests, errors, [rnd.gauss(center, 2) for _ in range(requests)])


def _verdicts(before, after, budget=None):
    return slocompare.compare(
        _summary({before.route: before}), _summary({after.route: after}), budget or slo.Budget()
    )


def test_three_percent_5xx_against_a_clean_baseline_regresses():
    [verdict] = _verdicts(_sample(), _sample(errors=12, seed=1))
    assert verdict.errors.regressed and not verdict.latency.regressed
    assert verdict.errors.p_value < 0.01
    assert "GET /x: 12/400 answers were 5xx after the deploy (3.0%)" in verdict.errors.line(
        "GET /x"
    )


def test_an_occasional_5xx_is_within_the_budget():
    [verdict] = _verdicts(_sample(), _sample(errors=2, seed=1))
    assert not verdict.errors.regressed


def test_a_5xx_rate_within_budget_of_a_noisy_baseline_does_not_regress():
    [verdict] = _verdicts(_sample(errors=8), _sample(errors=10, seed=1))
    assert not verdict.errors.regressed


def test_200ms_slower_regresses_with_the_figures_in_words():
    [verdict] = _verdicts(_sample(), _sample(center=210.0, seed=1))
    assert verdict.latency.regressed and verdict.latency.rank.effect == 1.0
    assert "p95" in verdict.latency.line("GET /x") and "Mann-Whitney p=" in verdict.latency.line(
        "GET /x"
    )


def test_a_small_shift_within_the_budget_does_not_regress_even_when_significant():
    [verdict] = _verdicts(_sample(), _sample(center=14.0, seed=1))
    assert verdict.latency.rank.p_value < 0.01
    assert not verdict.latency.regressed


def test_a_few_slow_outliers_do_not_regress_without_a_shift_of_the_distribution():
    after = _sample(seed=1)
    after.latencies[:3] = [400.0, 500.0, 600.0]
    [verdict] = _verdicts(_sample(), after)
    assert not verdict.latency.regressed


def test_routes_with_too_little_traffic_are_listed_not_judged():
    [verdict] = _verdicts(_sample(requests=10), _sample(requests=400))
    assert verdict.errors is None and verdict.latency is None
    assert "10 requests before the deploy and 400 after, fewer than 50" in verdict.not_judged


def test_too_little_traffic_in_a_window_is_named():
    window = _summary({"GET /x": _sample(requests=10)})
    assert "holds 10 request lines, fewer than the 50" in window.too_little(
        slo.Budget(), "baseline"
    )
    assert window.too_little(slo.Budget(min_requests=10), "baseline") is None


# --- the [slo] table of the release record --------------------------------------------------


def _record(tmp_path, slo_table: str) -> Path:
    path = tmp_path / "release.toml"
    path.write_text(f'release_id = "r1"\nenvironment = "staging"\n{slo_table}')
    return path


def test_the_budget_defaults_are_the_release_records():
    assert slo.Budget().as_dict() == record.Slo().as_dict()


def test_a_record_without_slo_table_has_the_defaults(tmp_path):
    loaded = record.load(_record(tmp_path, ""))
    assert loaded.slo is None and loaded.slo_budget == record.Slo()


def test_the_slo_table_overrides_some_defaults_and_round_trips(tmp_path):
    loaded = record.load(_record(tmp_path, "[slo]\nerror_rate_budget = 0.02\nmin_requests = 30\n"))
    assert (loaded.slo_budget.error_rate_budget, loaded.slo_budget.min_requests) == (0.02, 30)
    assert slo.Budget.from_mapping(loaded.slo_budget.as_dict()).min_requests == 30
    record.write(loaded.as_toml_dict(), tmp_path / "again.toml")
    assert record.load(tmp_path / "again.toml").slo == loaded.slo


def test_an_integer_is_a_valid_number_of_milliseconds(tmp_path):
    loaded = record.load(_record(tmp_path, "[slo]\nlatency_budget_ms = 100\n"))
    assert loaded.slo_budget.latency_budget_ms == 100.0


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            "error_rate_budjet = 0.1",
            r"unknown key 'slo.error_rate_budjet' \(did you mean "
            r"'slo.error_rate_budget'\?\)",
        ),
        ("min_requests = 2.5", r"slo.min_requests must be an integer, got 2.5 \(float\)"),
        ("confidence = 1.0", r"slo.confidence must lie in \(0.5, 1\), got 1.0"),
        ("error_rate_budget = -0.1", r"slo.error_rate_budget must lie in \(0, 1\)"),
        ("min_requests = 0", r"slo.min_requests must lie in \[1, inf\]"),
        ("latency_budget_ms = nan", r"slo.latency_budget_ms must lie in"),
        ("traffic_seconds = 'ten'", r"slo.traffic_seconds must be a number, got 'ten'"),
        ("min_effect = true", r"slo.min_effect must be a number, got True \(boolean\)"),
    ],
)
def test_a_wrong_slo_value_is_named(tmp_path, table, problem):
    with pytest.raises(ReleaseRecordInvalid, match=problem):
        record.load(_record(tmp_path, f"[slo]\n{table}\n"))


def test_slo_must_be_a_table(tmp_path):
    path = tmp_path / "release.toml"
    path.write_text('release_id = "r1"\nenvironment = "staging"\nslo = 3\n')
    with pytest.raises(ReleaseRecordInvalid, match=r"slo must be a table \(\[slo\]\)"):
        record.load(path)
