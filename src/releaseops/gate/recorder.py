"""The recorder: hooks that turn check outcomes into evidence, a verdict and a run folder."""

from __future__ import annotations

import re
from collections.abc import Generator
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from releaseops.errors import ReleaseOpsError
from releaseops.gate import gating, report_html, report_index, runfolder
from releaseops.gate.checklist import ITEMS
from releaseops.gate.evidence import Record, Redactor
from releaseops.gate.subject import Subject
from releaseops.gate.verdict import (
    CheckResult,
    Outcome,
    RootCause,
    Scope,
    Verdict,
    conditions_for,
    decide,
)

EVIDENCE_KEY = pytest.StashKey[list[Record]]()
BLOCKED_BY_KEY = pytest.StashKey[str]()
# Root causes that stop every check: no target named (CI), the embedded target did not start.
BLOCK_ALL = ("no-target", "target-start")
# How a fixture says a root cause stopped a check: `blocked by <root id>: <message>`.
_ROOT_SKIP = re.compile(r"^blocked by ([a-z-]+): ")
_RANK = {"passed": 0, "blocked": 1, "not verified": 1, "failed": 2}


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
        self.roots: list[RootCause] = []
        self.subject = Subject()
        self.scope = Scope()
        self.folders: set[Path] = set()
        self.allow_partial = bool(config.getoption("allow_partial", default=False))

    def add_root(self, root_id: str, message: str) -> None:
        """Record a cause outside the checks that stops every check depending on it."""
        if all(r.id != root_id for r in self.roots):
            self.roots.append(RootCause(root_id, self.redactor.text(message)))

    def root(self, root_id: str) -> RootCause | None:
        """The root cause `root_id` when this run has one."""
        return next((r for r in self.roots if r.id == root_id), None)

    def block_all(self, item: pytest.Item) -> None:
        """Skip `item` when a root cause stops every check (no target, target did not start)."""
        named = next((r for r in self.roots if r.id in BLOCK_ALL), None)
        if named is not None:
            self.block(item, named.id, skip_message(named))

    def block(self, item: pytest.Item, cause: str, message: str) -> None:
        """Skip `item` as blocked by `cause` (a check id or a root cause id)."""
        item.stash[BLOCKED_BY_KEY] = cause
        pytest.skip(message)

    # --- collection and gating ---------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Validate items and prerequisites once pytest-order has sorted."""
        checks = [i for i in items if gating.is_check(i)]
        self.active = self.active or bool(checks)
        gating.validate(checks)
        for check in checks:
            self.titles.setdefault(gating.outcome_key(check), gating.title(check))
        self.folders |= {check.path.parent for check in checks}

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Remember the phases of checks left out by -k, -m or --deselect."""
        self.folders |= {i.path.parent for i in items if gating.is_check(i)}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Fix what the run had to cover: every check of every phase it touched."""
        self.active = self.active or bool(self.folders)
        folders = sorted(self.folders)
        self.scope = Scope(
            phases=tuple(folder.name for folder in folders),
            expected=tuple(key for folder in folders for key in gating.phase_checks(folder)),
            partial_allowed=self.allow_partial,
        )
        self.subject.phases = self.scope.phases

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Skip a step whose prerequisite did not pass, as "blocked by <item>"."""
        if not gating.is_check(item):
            return
        self.block_all(item)
        blocked = gating.blocked_by(item, self.outcomes, self.titles)
        if blocked:
            self.block(item, *blocked)

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

    def _blocked_by(self, item: pytest.Item, report: pytest.TestReport) -> str | None:
        """The check or root cause a skipped check was blocked by, else None."""
        cause = item.stash.get(BLOCKED_BY_KEY, None)
        if cause is not None:
            return cause
        text = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        match = _ROOT_SKIP.match(text.removeprefix("Skipped: "))
        return match.group(1) if match and self.root(match.group(1)) else None

    def _result(self, item: pytest.Item, report: pytest.TestReport) -> CheckResult:
        blocked_by = self._blocked_by(item, report) if report.skipped else None
        outcome: Outcome = (
            "passed"
            if report.passed
            else ("blocked" if blocked_by else "not verified")
            if report.skipped
            else "failed"
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
            blocked_by=blocked_by,
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

    @pytest.hookimpl(tryfirst=True)  # before pytest-html and junitxml write
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Decide the verdict, write the run folder, make anything but GO exit non-zero."""
        if not self.active:
            return
        results = list(self.results.values())
        self.verdict = decide(results, scope=self.scope, roots=self._roots_that_mattered(results))
        self.meta["finished_at"] = datetime.now(UTC).isoformat()
        self.meta["subject"] = self.subject.as_dict()
        runfolder.write(self.folder, results, self.verdict, self.meta, self.redactor)
        pending = ("report.html",) if getattr(session.config.option, "htmlpath", None) else ()
        try:
            report_index.update(self.folder.parent, self.folder, pending)
        except Exception as exc:  # the index is a convenience: it never decides the run
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"reports/index.html not rewritten: {exc!r}", yellow=True)
        self._junit_properties(session.config)
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

    def _roots_that_mattered(self, results: list[CheckResult]) -> list[RootCause]:
        """Root causes that stop a whole run, and the others when they blocked a check."""
        stopped = {r.blocked_by for r in results}
        return [r for r in self.roots if r.id in BLOCK_ALL or r.id in stopped]

    def _junit_properties(self, config: pytest.Config) -> None:
        """The verdict and its subject as JUnit XML testsuite properties."""
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
        if xml is None or self.verdict is None:
            return
        xml.add_global_property("releaseops.verdict", self.verdict.decision)
        for name, value in self.subject.properties().items():
            xml.add_global_property(name, self.redactor.text(value))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        """Open report.html with the verdict, what it verified, links, and the SLO charts."""
        if self.verdict is None:
            return
        head = report_html.header(self.verdict, self.subject, self.meta)
        charts = report_html.slo_section(self.results.values())
        prefix.append(self.redactor.text(head + charts))
        html_report = getattr(self, "html_report", None)
        if html_report is not None:  # the title was set before the target was known
            html_report.title = (
                f"{self.verdict.decision} — releaseops release evidence — "
                f"{self.subject.label} — {self.run_id}"
            )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        """Name the report after the run; keep failed and blocked rows expanded on open."""
        report.title = f"releaseops release evidence — {self.subject.label} — {self.run_id}"
        # pytest-html reads its render_collapsed ini into this list; a gate's report always
        # opens with only the passed rows collapsed (the URL's ?collapsed= still overrides).
        report.data["renderCollapsed"] = list(report_html.COLLAPSED)
        self.html_report = report

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        """Point the SLO checks' rows at the charts in the header."""
        result = self.results.get(report.nodeid)
        link = report_html.slo_link(result.evidence) if result is not None else ""
        if link and link not in data:
            data.insert(0, link)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        """Add the checklist item column."""
        cells.insert(1, "<th>Checklist item</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        """Show each check's checklist text in its row."""
        cells.insert(1, f"<td>{escape(getattr(report, 'checklist_text', ''))}</td>")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the verdict, what it verified and the run folder last, where people look."""
        if not self.active or self.verdict is None:
            return
        terminalreporter.section("releaseops verdict")
        for line in self.verdict.lines(self.subject.label):
            terminalreporter.write_line(
                self.redactor.text(line),
                bold=line.startswith("releaseops"),
                red=not self.verdict.is_go,
                green=self.verdict.is_go,
            )
        terminalreporter.write_line(f"verified: {self.redactor.text(self.subject.line())}")
        terminalreporter.write_line(f"evidence: {self.folder}")


def skip_message(root: RootCause) -> str:
    """The skip message of a check stopped by `root` (parsed back by the recorder)."""
    return f"blocked by {root.id}: {root.message}"


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
