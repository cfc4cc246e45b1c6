"""report.html and reports/index.html in a real browser: headless Chromium from the distribution.

A pytester run of the plugin writes a real run folder (NO-GO: the search route is 200 ms
slower and answers 3% 5xx after the deploy, next to earlier runs' folders); Chromium renders
it, runs pytest-html's script, and a test clicks through it as a person would. Every page
must load without a console error. Screenshots: tmp_path and reports/browser-tests/.
"""

from __future__ import annotations

import pytest

from tests import browser as chromium
from tests.report_demo import evidence_with, old_run, write_slo_checks

RED = "rgba(207, 34, 46, 1)"
HIGHLIGHT = "rgba(255, 235, 233, 1)"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium.launch(tmp_path_factory.mktemp("chromium-profile")) as session:
        yield session


@pytest.fixture
def run_folder(pytester):
    """Five earlier runs, a broken one, then this NO-GO run: reports/ as a team sees it."""
    reports = pytester.path / "reports"
    for index, p95 in enumerate((14.0, 15.0, 16.0, 15.0, 14.5)):
        old_run(reports, f"20260101T00000{index}000Z-postdeploy", evidence_with({"p95_ms": p95}))
    old_run(reports, "20260102T000000000Z-predeploy", "{interrupted")
    write_slo_checks(pytester, slow_ms=200.0, errors=12)
    result = pytester.runpytest_inprocess(
        "checks/postdeploy", "--target", "env", "--reports-dir", "reports"
    )
    assert result.ret == 1
    return (reports / "latest").resolve()


def wait_for_rows(session, count):
    """pytest-html draws its rows with a script after load."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(session.driver, 10).until(
        lambda d: len(session.find_all("#results-table tbody.results-table-row")) >= count
    )


def row(session, test_name):
    return next(
        body
        for body in session.find_all("#results-table tbody.results-table-row")
        if body.get_attribute("id").endswith(test_name)
    )


def test_report_shows_the_verdict_first_and_the_failures_open_in_chromium(
    browser, run_folder, tmp_path
):
    browser.open((run_folder / "report.html").as_uri())
    wait_for_rows(browser, 3)
    shot = browser.keep_screenshot(tmp_path, "report-header", "#releaseops-verdict")
    assert browser.console_errors() == [], f"console errors (screenshot {shot})"
    verdict = browser.find("#releaseops-verdict h2")
    assert verdict.text == "Verdict: NO-GO (env target)", shot
    assert verdict.value_of_css_property("background-color") == RED, shot
    top = verdict.location["y"]
    assert top < browser.find("#environment").location["y"], f"environment first ({shot})"
    assert top < browser.find("#results-table").location["y"], shot
    failed = row(browser, "test_latency_within_budget")
    assert failed.find_element("css selector", ".extras-row").is_displayed(), shot
    assert "latency regressed beyond the SLO budget" in failed.text
    passed = row(browser, "test_api_health_returns_success")
    assert not passed.find_element("css selector", ".extras-row").is_displayed(), shot
    passed.find_element("css selector", ".collapsible .col-result").click()
    # pytest-html draws the table again on a click: find the row anew.
    opened = row(browser, "test_api_health_returns_success")
    assert opened.find_element("css selector", ".extras-row").is_displayed(), "click did not open"
    assert '"status": "ok"' in opened.text


def test_report_draws_the_slo_charts_in_chromium(browser, run_folder, tmp_path):
    browser.open((run_folder / "report.html").as_uri())
    wait_for_rows(browser, 3)
    shot = browser.keep_screenshot(tmp_path, "report-slo-charts", "#releaseops-slo")
    for chart in ("#releaseops-slo-latency", "#releaseops-slo-errors"):
        size = browser.find(chart).size
        assert size["width"] > 600 and size["height"] > 100, f"{chart} {size} ({shot})"
    assert "regressed: latency and 5xx" in browser.find("#releaseops-slo-latency").text
    link = row(browser, "test_error_rate_within_budget").find_element(
        "css selector", "a[href='#releaseops-slo']"
    )
    link.click()
    assert browser.driver.current_url.endswith("#releaseops-slo")
    assert browser.console_errors() == [], f"console errors (screenshot {shot})"


def test_index_lists_runs_newest_first_with_the_regression_highlighted_in_chromium(
    browser, run_folder, tmp_path
):
    browser.open((run_folder.parent / "index.html").as_uri())
    shot = browser.keep_screenshot(tmp_path, "index")
    assert browser.console_errors() == [], f"console errors (screenshot {shot})"
    rows = browser.find_all("#runs tr")[1:]
    assert rows[0].text.startswith(run_folder.name), shot
    assert len(rows) == 7, shot
    assert "evidence.json unreadable" in rows[1].text, shot
    flagged = rows[0].find_element("css selector", "td.regressed")
    assert flagged.text.startswith("▲"), shot
    assert flagged.value_of_css_property("background-color") == HIGHLIGHT, shot
    assert browser.find("svg.sparkline").size["width"] > 0
    rows[0].find_element("link text", "report.html").click()
    assert browser.find("#releaseops-verdict h2").text == "Verdict: NO-GO (env target)"
