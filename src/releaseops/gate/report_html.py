"""The head of report.html: the verdict in colour, what it verified, links, the SLO charts."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from releaseops.gate import slo_charts, slo_views
from releaseops.gate.subject import Subject
from releaseops.gate.verdict import CheckResult, Verdict

COLOURS = {"GO": "#1a7f37", "PARTIAL": "#9a6700", "NO-GO": "#cf222e"}
# pytest-html collapses the rows of these outcomes on open; failed and skipped (blocked, not
# verified) rows stay expanded, so what stops a release is read without a click.
COLLAPSED = ["passed"]
# The verdict opens the page: pytest-html puts its title and environment table first, so the
# body becomes a column in which the summary (holding this header) and the results come next.
PAGE_STYLE = """
<style>
body{display:flex;flex-direction:column}
#title{order:-4}
.summary{order:-3}
#results-table{order:-2}
#releaseops-verdict,#releaseops-slo{color:#1f2328;font-size:14px}
#releaseops-verdict table th{text-align:left;padding-right:1em;font-weight:600}
#releaseops-verdict table td,#releaseops-verdict table th{border:0;padding:.1em .8em .1em 0}
#releaseops-slo svg{display:block;max-width:100%;height:auto;margin-bottom:.5em}
</style>
"""


def _facts(subject: Subject, meta: dict[str, Any]) -> list[tuple[str, str]]:
    facts = [
        ("target", subject.label),
        ("database", subject.database or "unknown"),
        ("server", subject.server),
        ("release", subject.release_id or "unknown"),
        ("phases", ", ".join(subject.phases) or "-"),
        ("commit", subject.commit or "unknown"),
    ]
    for key, name in (("run_id", "run"), ("started_at", "started"), ("finished_at", "finished")):
        if meta.get(key):
            facts.append((name, str(meta[key])))
    return facts


def _counts(verdict: Verdict) -> str:
    shown = [f"{n} {outcome}" for outcome, n in verdict.counts.items() if n]
    return ", ".join(shown) or "no check ran"


def header(verdict: Verdict, subject: Subject, meta: dict[str, Any] | None = None) -> str:
    """Self-contained HTML (inline styles only) for the top of the report."""
    colour = COLOURS.get(verdict.decision, "#cf222e")
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _facts(subject, meta or {})
    )
    reasons = "".join(f"<li>{escape(r.line())}</li>" for r in verdict.reasons)
    waived = "".join(f"<li>waived: {escape(w)}</li>" for w in verdict.waived)
    rehearsal = (
        "<p><b>This is a rehearsal on the embedded target, not a release verdict.</b></p>"
        if subject.kind == "embedded"
        else ""
    )
    return (
        f"{PAGE_STYLE}<section id='releaseops-verdict' data-verdict='{escape(verdict.decision)}'>"
        f"<h2 style='color:#fff;background:{colour};padding:.4em .8em;border-radius:4px'>"
        f"Verdict: {escape(verdict.decision)} ({escape(subject.label)})</h2>{rehearsal}"
        f"<p id='releaseops-counts'>{escape(_counts(verdict))}</p>"
        f"<table id='releaseops-subject'>{rows}</table>"
        f"<ul id='releaseops-reasons'>{reasons}{waived}</ul>"
        f"<p>Also in this folder: <a href='checklist.md'>checklist.md</a> · "
        f"<a href='evidence.json'>evidence.json</a> · <a href='junit.xml'>junit.xml</a> · "
        f"every run: <a href='../index.html'>reports/index.html</a></p>"
        f"</section>"
    )


def slo_section(results: Iterable[CheckResult]) -> str:
    """The SLO charts of the run, or '' when it has no SLO evidence."""
    checks = [{"check_id": r.check_id, "evidence": r.evidence} for r in results]
    return slo_charts.section(slo_views.collect(checks))


def slo_link(evidence: Iterable[dict[str, Any]]) -> str:
    """A pointer from an SLO check's row to the charts in the header ('' for other checks)."""
    if not any(record.get("title") in slo_views.TITLES for record in evidence):
        return ""
    return "<p><a href='#releaseops-slo'>SLO charts: latency and 5xx rate per route</a></p>"
