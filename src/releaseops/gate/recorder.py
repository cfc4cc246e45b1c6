"""The recorder: hooks that turn check outcomes into evidence, a verdict and a run folder."""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from releaseops.errors import ReleaseOpsError
from releaseops.gate import gating, runfolder
from releaseops.gate.checklist import ITEMS
from releaseops.gate.evidence import Record, Redactor
from releaseops.gate.verdict import CheckResult, Outcome, Verdict, conditions_for, decide

EVIDENCE_KEY = pytest.StashKey[list[Record]]()
_RANK = {"passed": 0, "not verified": 1, "failed": 2}


class Recorder:
    """Collects one CheckResult per check and writes the run folder at the end."""

    def __init__(self, config: pytest.Config, folder: Path, run_id: str) -> None:
        self.config = config
        self.folder = folder
        self.run_id = run_id
        self.redactor = Redactor()
        self.results: dict[str, CheckResult] = {}
        self.outcomes: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.waivers: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {"run_id": run_id, "started_at": datetime.now(UTC).isoformat()}
        self.verdict: Verdict | None = None
        self.active = False

    # --- collection and gating ---------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Validate items and prerequisites once pytest-order has sorted."""
        checks = [i for i in items if gating.is_check(i)]
        self.active = bool(checks)
        gating.validate(checks)
        for check in checks:
            self.titles.setdefault(gating.outcome_key(check), gating.title(check))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Skip a step whose prerequisite did not pass, as "blocked by <item>"."""
        if gating.is_check(item):
            reason = gating.blocked_by(item, self.outcomes, self.titles)
            if reason:
                pytest.skip(reason)

    # --- results -----------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        """Turn each check's report into a CheckResult; redact what the terminal will show."""
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if not gating.is_check(item):
            return
        if (
            report.failed
            and call.excinfo is not None
            and call.excinfo.errisinstance(ReleaseOpsError)
        ):
            # An expected failure (bad configuration, unreachable database, refused step) is
            # one clear line, not a traceback repeated for every check that met it.
            report.longrepr = f"{call.excinfo.typename}: {call.excinfo.value}"
        self._redact_report(report)
        decided = report.when == "call" or (report.when == "setup" and not report.passed)
        if report.when == "teardown" and report.failed:
            decided = True
        if not decided:
            return
        result = self._result(item, report)
        previous = self.results.get(item.nodeid)
        if previous is None or _RANK[result.outcome] > _RANK[previous.outcome]:
            self.results[item.nodeid] = result
        key = gating.outcome_key(item)
        worst = self.outcomes.get(key, "passed")
        self.outcomes[key] = max(worst, result.outcome, key=lambda o: _RANK[o])
        self._attach(item, report, result)

    def _redact_report(self, report: pytest.TestReport) -> None:
        if report.longrepr is not None and not report.skipped:
            report.longrepr = self.redactor.text(str(report.longrepr))
        report.sections = [(t, self.redactor.text(c)) for t, c in report.sections]

    def _result(self, item: pytest.Item, report: pytest.TestReport) -> CheckResult:
        outcome: Outcome = (
            "passed" if report.passed else ("not verified" if report.skipped else "failed")
        )
        message = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif report.failed:
            message = _short(str(report.longrepr))
        check_id = gating.check_id(item)
        records = item.stash.get(EVIDENCE_KEY, [])
        return CheckResult(
            check_id=check_id,
            nodeid=item.nodeid,
            items=gating.items_of(item),
            outcome=outcome,
            blocks=gating.blocks(item),
            message=self.redactor.text(message),
            waiver=self.waivers.get(check_id),
            duration_s=round(report.duration, 3),
            evidence=[self.redactor.record(r).as_dict() for r in records],
        )

    def _attach(self, item: pytest.Item, report: pytest.TestReport, result: CheckResult) -> None:
        report.user_properties.extend(("checklist", ITEMS[i].text) for i in result.items)
        report.user_properties.append(("check_id", result.check_id))
        report.checklist_text = _row_title(result)  # type: ignore[attr-defined]
        try:
            from pytest_html import extras
        except ImportError:  # pragma: no cover - pytest-html is a dependency
            return
        # HTML extras render inside the row's details, so the evidence sits in the row itself.
        blocks = [
            f"<p><b>check</b> {escape(result.check_id)} — {escape(result.outcome)}"
            f"{' — ' + escape(result.message) if result.message else ''}</p>"
        ]
        if result.waiver:
            blocks.append(f"<p><b>waiver</b> {escape(str(result.waiver))}</p>")
        for record in result.evidence:
            body = Record(record["kind"], record["title"], record["content"]).as_text()
            blocks.append(f"<h4>{escape(record['title'])}</h4><pre>{escape(body)}</pre>")
        attached = list(getattr(report, "extras", []))
        attached.append(extras.html("".join(blocks)))
        report.extras = attached  # type: ignore[attr-defined]

    # --- end of run --------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before pytest-html writes, so the report has the verdict
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Decide the verdict, write the run folder, make NO-GO exit non-zero."""
        if not self.active:
            return
        results = list(self.results.values())
        self.verdict = decide(results)
        self.meta["finished_at"] = datetime.now(UTC).isoformat()
        runfolder.write(self.folder, results, self.verdict, self.meta, self.redactor)
        if not self.verdict.is_go and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        failed_checks = sum(r.outcome == "failed" for r in results)
        if (
            self.verdict.is_go
            and session.exitstatus == pytest.ExitCode.TESTS_FAILED
            and session.testsfailed == failed_checks
        ):
            # Every failure is waived or only warns: the gate is GO, and so is the exit code.
            session.exitstatus = pytest.ExitCode.OK

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        """Put the verdict and its reasons at the top of report.html."""
        if self.verdict is None:
            return
        items = "".join(f"<li>{escape(r.line())}</li>" for r in self.verdict.reasons)
        prefix.append(f"<h2>Verdict: {escape(self.verdict.decision)}</h2><ul>{items}</ul>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        """Name the report after the run."""
        report.title = f"releaseops release evidence — {self.run_id}"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        """Add the checklist item column."""
        cells.insert(1, "<th>Checklist item</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        """Show each check's checklist text in its row."""
        cells.insert(1, f"<td>{escape(getattr(report, 'checklist_text', ''))}</td>")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the verdict and the run folder last, where a release manager looks."""
        if not self.active or self.verdict is None:
            return
        terminalreporter.section("releaseops verdict")
        for line in self.verdict.lines():
            terminalreporter.write_line(
                line,
                bold=line.startswith("releaseops"),
                red=not self.verdict.is_go,
                green=self.verdict.is_go,
            )
        terminalreporter.write_line(f"evidence: {self.folder}")


def _row_title(result: CheckResult) -> str:
    """The checklist text of a check, then the No-Go conditions it decides."""
    own = [ITEMS[i].text for i in result.items if ITEMS[i].section != "4"]
    no_go = [ITEMS[c].text for c in conditions_for(result.items)]
    title = " / ".join(own) or " / ".join(ITEMS[i].text for i in result.items)
    return title + (f" — decides No-Go: {'; '.join(no_go)}" if no_go else "")


def _short(text: str, limit: int = 600) -> str:
    """The assertion line(s) of a failure report: the lines starting with 'E '."""
    lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    # pytest's assertion rewriting repeats the expression ("assert ... is None"): drop it.
    lines = [ln for ln in lines if not ln.startswith(("assert ", "+  where", "+    where"))]
    short = " ".join(lines) if lines else " ".join(text.strip().splitlines())
    return short[:limit]
