"""report.html's header and SLO charts, and reports/index.html with the release figures' trends."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import UTC, datetime

import pytest

from releaseops.gate import (
    index_html,
    report_html,
    report_index,
    slo_charts,
    slo_profile,
    slo_views,
    svg,
    trends,
)
from releaseops.gate.run_summary import RunSummary, summarize
from releaseops.gate.subject import Subject
from releaseops.gate.verdict import CheckResult, decide
from releaseops.service.slo import WindowSummary
from releaseops.service.slowindow import RouteSample
from tests.report_demo import evidence_with, old_run, write_slo_checks

PREVIOUS_P95 = (14.0, 15.0, 16.0, 15.0, 14.5)


def run_inprocess(pytester, *args):
    """The checks in-process (fast); pytester restores sys.modules afterwards."""
    return pytester.runpytest_inprocess(
        "checks/postdeploy", "--target", "env", "--reports-dir", "reports", *args
    )


def report_data(html: str) -> dict:
    """pytest-html's JSON blob: the rows and how they render."""
    blob = re.search(r'data-jsonblob="([^"]*)"', html)
    assert blob, "report.html has no data-jsonblob"
    return json.loads(html_lib.unescape(blob.group(1)))


@pytest.fixture
def no_go_report(pytester):
    """A NO-GO run: +200 ms and 3% 5xx on the search route after the deploy."""
    write_slo_checks(pytester, slow_ms=200.0, errors=12)
    result = run_inprocess(pytester)
    assert result.ret == 1
    return pytester.path / "reports" / "latest"


def test_report_opens_with_the_verdict_in_colour_the_subject_and_links(no_go_report):
    html = (no_go_report / "report.html").read_text()
    assert "Verdict: NO-GO (env target)" in html
    assert "background:#cf222e" in html
    for fact in ("target", "database", "server", "release", "phases", "commit", "run"):
        assert f"<tr><th>{fact}</th>" in html, fact
    assert "href='checklist.md'" in html and "href='evidence.json'" in html
    assert "href='../index.html'" in html
    assert re.search(r"<title[^>]*>NO-GO — releaseops release evidence — env target", html)


def test_failed_rows_open_expanded_and_passed_rows_collapsed(pytester):
    write_slo_checks(pytester, slow_ms=200.0)
    pytester.makefile(
        ".ini", pytest="[pytest]\naddopts = -p no:cacheprovider\nrender_collapsed = all\n"
    )
    run_inprocess(pytester)
    data = report_data((pytester.path / "reports" / "latest" / "report.html").read_text())
    assert data["renderCollapsed"] == ["passed"]
    results = {
        nodeid.rsplit("::", 1)[-1]: rows[0]["result"] for nodeid, rows in data["tests"].items()
    }
    assert results["test_latency_within_budget"] == "Failed"
    assert results["test_api_health_returns_success"] == "Passed"


def test_slo_result_is_drawn_as_inline_svg_naming_the_regressed_route(no_go_report):
    html = (no_go_report / "report.html").read_text()
    section = html[html.index("<section id='releaseops-slo'>") :]
    assert 'id="releaseops-slo-latency"' in section and 'id="releaseops-slo-errors"' in section
    latency = section[: section.index('id="releaseops-slo-errors"')]
    assert "GET /api/retrieval/search" in latency
    assert "regressed: latency and 5xx" in latency
    assert "after 12/400 (3.00%)" in section
    assert not re.search(r"""(src|href)=["']https?:""", section), "an external asset"


def test_the_slo_rows_point_at_the_charts(no_go_report):
    data = report_data((no_go_report / "report.html").read_text())
    logs = {nodeid.rsplit("::", 1)[-1]: rows[0]["log"] for nodeid, rows in data["tests"].items()}
    assert "href='#releaseops-slo'" in logs["test_latency_within_budget"]
    assert "releaseops-slo" not in logs["test_api_health_returns_success"]


def test_a_run_without_slo_evidence_draws_nothing():
    verdict = decide([CheckResult("demo.ok", "x", ["pre.env"], "passed")])
    assert "<svg" not in report_html.header(verdict, Subject(kind="env"))
    assert report_html.slo_section([CheckResult("demo.ok", "x", ["pre.env"], "passed")]) == ""


def test_a_go_header_is_green_and_an_embedded_one_says_rehearsal():
    verdict = decide([CheckResult("demo.ok", "x", ["pre.env"], "passed")])
    head = report_html.header(verdict, Subject(kind="embedded", database="postgresql://u:***@h/db"))
    assert "Verdict: GO (embedded rehearsal)" in head and "background:#1a7f37" in head
    assert "rehearsal on the embedded target, not a release verdict" in head
    assert "postgresql://u:***@h/db" in head


def window(**routes: tuple[int, list[float]]) -> WindowSummary:
    samples = {name: RouteSample(name, n, 0, values) for name, (n, values) in routes.items()}
    return WindowSummary(None, None, None, None, 0, samples)


def test_overall_latency_weighs_each_route_by_the_requests_its_sample_stands_for():
    # 10 fast requests, all sampled; 10,000 slow ones stood for by a sample of 100.
    profile = slo_profile.window_profile(
        window(fast=(10, [1.0] * 10), slow=(10_000, [100.0] * 100))
    )
    overall = dict(zip(slo_profile.LEVELS, profile["overall"], strict=True))
    assert overall[5] == 100.0 and overall[0] == 1.0
    assert profile["routes"]["fast"][slo_profile.LEVELS.index(50)] == 1.0


def test_the_baseline_alone_is_drawn_as_the_baseline():
    base = window(**{"GET /health": (60, [float(v) for v in range(60)])})
    checks = [
        {
            "check_id": "predeploy.slo_baseline_recorded",
            "evidence": [
                {"title": "baseline window", "content": {"window": base.summary()}},
                {"title": "baseline latency profile", "content": slo_profile.of_baseline(base)},
            ],
        }
    ]
    views = slo_views.collect(checks)
    assert views is not None and not views.compared
    assert views.routes[0].before is not None and views.routes[0].before.levels[25] == 14.75
    assert "SLO baseline (before the deploy)" in slo_charts.section(views)


@pytest.mark.parametrize(
    "evidence",
    [
        [],
        [{"title": "SLO comparison", "content": "none"}],
        [{"title": "SLO comparison", "content": {"routes": [None, {"route": 3}, {"route": "x"}]}}],
        [
            {
                "title": "SLO comparison",
                "content": {"routes": [{"route": "x", "before": {"p95": "?"}}]},
            }
        ],
        [{"title": "baseline window", "content": {"window": {"routes": {"x": [1, 2]}}}}],
        [{"title": "SLO latency profile", "content": {"levels": "all"}}],
    ],
)
def test_older_or_partial_slo_evidence_is_drawn_with_what_it_has_or_not_at_all(evidence):
    views = slo_views.collect([{"check_id": "postdeploy.x", "evidence": evidence}])
    assert slo_charts.section(views) == "" or "<svg" in slo_charts.section(views)


# --- the release figures -----------------------------------------------------------------


def test_figures_are_read_where_the_checks_record_them():
    document = evidence_with(
        {"dump_bytes": 24878, "restore_s": 0.296, "migration_ms": 36, "p95_ms": 15.9}
    )
    assert trends.metrics(document) == {
        "dump_bytes": 24878.0,
        "restore_s": 0.296,
        "migration_ms": 36.0,
        "p95_ms": 15.9,
    }


def test_no_migration_to_apply_is_zero_and_a_deploy_not_executed_is_unmeasured():
    def deploy(text):
        check = {
            "check_id": "deploy.migrations_applied",
            "evidence": [{"kind": "text", "content": text}],
        }
        return trends.metrics({"checks": [check]})["migration_ms"]

    assert deploy("nothing to apply: 4 migration(s) applied, database is up to date\n") == 0.0
    assert deploy("no: --execute not given; verifying the resulting state only") is None


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"checks": "x"},
        {"checks": [1, None, {"check_id": 3}]},
        {"checks": [{"check_id": "deploy.migrations_applied", "evidence": "x"}]},
    ],
)
def test_an_older_or_partial_evidence_shape_measures_nothing_and_never_raises(document):
    assert trends.metrics(document) == dict.fromkeys(m.key for m in trends.METRICS)


P95 = next(m for m in trends.METRICS if m.key == "p95_ms")


@pytest.mark.parametrize(
    ("value", "previous", "regressed"),
    [
        (40.0, PREVIOUS_P95, True),  # median 15: +25 ms and +167 %
        (18.0, PREVIOUS_P95, False),  # +20 % but only 3 ms: noise
        (30.0, (200.0, *PREVIOUS_P95), True),  # only the last five count
        (40.0, (15.0, 15.0), False),  # too few runs to compare
        (None, PREVIOUS_P95, False),
    ],
)
def test_a_figure_regresses_when_worse_than_the_median_of_the_last_five_beyond_its_margin(
    value, previous, regressed
):
    assert P95.is_regression(value, previous) is regressed


# --- reports/index.html ---------------------------------------------------------------------


def previous_runs(reports, label="env target"):
    for index, p95 in enumerate(PREVIOUS_P95):
        old_run(
            reports, f"20260101T00000{index}000Z-postdeploy", evidence_with({"p95_ms": p95}, label)
        )


def rows_of(index_page: str) -> list[str]:
    table = index_page[index_page.index("<table id='runs'>") :]
    return re.findall(r"<tr><td><a href='([^']+)/'>", table)


def test_index_lists_runs_newest_first_and_highlights_a_regression(tmp_path):
    previous_runs(tmp_path)
    newest = old_run(tmp_path, "20260102T000000000Z-postdeploy", evidence_with({"p95_ms": 214.0}))
    page = report_index.update(tmp_path).read_text()
    assert rows_of(page)[0] == newest.name and len(rows_of(page)) == 6
    newest_row = page[page.index(f"<tr><td><a href='{newest.name}/'>") :].split("</tr>")[0]
    assert "class='num regressed'" in newest_row and "▲ 214 ms" in newest_row
    assert "worse than the previous runs" in page
    assert page.count("class='num regressed'") == 2  # the newest row, and its trend line


def test_runs_of_another_target_are_not_compared(tmp_path):
    previous_runs(tmp_path, label="embedded rehearsal")
    old_run(tmp_path, "20260102T000000000Z-postdeploy", evidence_with({"p95_ms": 214.0}))
    assert "regressed" not in report_index.update(tmp_path).read_text().split("<h2>Runs")[1]


def test_index_survives_missing_partial_and_malformed_run_folders(tmp_path):
    previous_runs(tmp_path)
    old_run(tmp_path, "20260103T000000000Z-predeploy", None)  # still running
    old_run(tmp_path, "20260103T000001000Z-predeploy", "{not json")
    old_run(tmp_path, "20260103T000002000Z-predeploy", [1, 2])
    old_run(tmp_path, "20260103T000003000Z-predeploy", {"verdict": "GO", "meta": [], "checks": {}})
    (tmp_path / "20260103T000004000Z-predeploy").mkdir()
    (tmp_path / "20260103T000004000Z-predeploy" / "evidence.json").mkdir()  # unreadable
    (tmp_path / "notes").mkdir()
    (tmp_path / "latest").symlink_to("20260103T000003000Z-predeploy")
    page = report_index.update(tmp_path).read_text()
    assert len(rows_of(page)) == 10
    assert "no evidence.json: running, or interrupted" in page
    assert "evidence.json unreadable" in page and "not a JSON object" in page
    assert not list(tmp_path.glob(".*partial"))


def test_a_summary_of_an_unknown_format_is_read_again_from_the_evidence(tmp_path):
    folder = old_run(tmp_path, "20260101T000000000Z-predeploy", evidence_with({"dump_bytes": 2048}))
    (folder / "summary.json").write_text(json.dumps({"format": 99, "metrics": "?"}))
    assert summarize(folder).metrics["dump_bytes"] == 2048.0


def test_every_checks_run_rewrites_the_index_and_old_or_broken_folders_do_not_fail_it(pytester):
    reports = pytester.path / "reports"
    previous_runs(reports)
    old_run(reports, "20260103T000000000Z-predeploy", None)
    old_run(reports, "20260103T000001000Z-predeploy", "{not json")
    old_run(reports, "20260103T000002000Z-predeploy", {"checks": [{"evidence": 7}]})
    write_slo_checks(pytester)
    result = run_inprocess(pytester)
    assert result.ret == 0, "a GO run must stay GO whatever else is in reports/"
    latest = (reports / "latest").resolve()
    summary = json.loads((latest / "summary.json").read_text())
    assert summary["decision"] == "GO" and 40 < summary["metrics"]["p95_ms"] < 100
    page = (reports / "index.html").read_text()
    assert rows_of(page)[0] == latest.name and len(rows_of(page)) == 9
    assert f"href='{latest.name}/report.html'" in page
    newest_row = page[page.index(f"<tr><td><a href='{latest.name}/'>") :].split("</tr>")[0]
    assert "▲ 61.0 ms" in newest_row  # the earlier runs' p95 was about 15 ms


def test_a_figure_is_shown_in_the_unit_people_read():
    dump = next(m for m in trends.METRICS if m.key == "dump_bytes")
    assert index_html.value_text(dump, 24878) == "24.3 KiB"
    assert index_html.value_text(dump, 3 * 2**30) == "3.00 GiB"
    assert index_html.value_text(P95, None) == "—"


def test_a_trend_needs_three_earlier_runs_to_judge():
    runs = [RunSummary(f"2026010{i}T000000000Z-x", metrics={"p95_ms": 15.0 + i}) for i in (2, 1)]
    page = index_html.render(runs, now=datetime(2026, 1, 3, tzinfo=UTC))
    assert "too few runs to compare" in page and "regressed" not in page.split("<h2>Runs")[1]


@pytest.mark.parametrize(
    ("value", "top"), [(0.3, 0.5), (12.0, 20.0), (187.0, 200.0), (250.0, 250.0), (0.0, 1.0)]
)
def test_a_chart_scale_ends_on_a_round_number_above_the_data(value, top):
    assert svg.nice_max(value) == pytest.approx(top)


def test_a_sparkline_marks_the_newest_value_red_only_on_alarm():
    assert "#cf222e" in svg.sparkline([1.0, None, 3.0], "p95", alarm=True)
    quiet = svg.sparkline([1.0, None, 3.0], "p95")
    assert "#cf222e" not in quiet and quiet.count("<circle") == 1
    assert "no data" in svg.sparkline([None, None], "p95")
