"""The HTML of reports/index.html: trends per target, then every run, newest first.

A figure is highlighted when it is worse than the median of the previous runs of the same
target (kind and database name) by more than its margin (trends.METRICS). The page is one
self-contained file: inline CSS and SVG, no script.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from releaseops.gate import svg, trends
from releaseops.gate.run_summary import RunSummary
from releaseops.gate.trends import Metric

COLOURS = {"GO": "#1a7f37", "PARTIAL": "#9a6700", "NO-GO": "#cf222e"}
SPARK_RUNS = 20
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1f2328}
table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border-bottom:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:middle}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.regressed{background:#ffebe9;color:#cf222e;font-weight:600}
.verdict{color:#fff;border-radius:3px;padding:.1em .5em;font-weight:600;white-space:nowrap}
.muted{color:#57606a}
"""

Flags = dict[tuple[str, str], tuple[bool, float | None]]


def value_text(metric: Metric, value: float | None) -> str:
    """A figure in the unit people read it in."""
    if value is None:
        return "—"
    if metric.unit == "bytes":
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if value >= size:
                return svg.figure(value / size, unit)
        return svg.figure(value, "B")
    return svg.figure(value, metric.unit)


def regressions(runs: Sequence[RunSummary]) -> Flags:
    """(run_id, metric) -> (worse than the previous runs?, median of the previous ones)."""
    flags: Flags = {}
    history: dict[tuple[str, str], list[float]] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        for metric in trends.METRICS:
            previous = history.setdefault((run.series, metric.key), [])
            value = run.metrics.get(metric.key)
            recent = previous[-trends.PREVIOUS :]
            median = statistics.median(recent) if recent else None
            flags[(run.run_id, metric.key)] = (metric.is_regression(value, previous), median)
            if value is not None:
                previous.append(value)
    return flags


def _verdict(decision: str | None) -> str:
    colour = COLOURS.get(decision or "", "#57606a")
    return f"<span class='verdict' style='background:{colour}'>{escape(decision or '?')}</span>"


def _trend_rows(series: str, runs: list[RunSummary], flags: Flags) -> list[str]:
    rows = []
    for metric in trends.METRICS:
        measured = [r for r in runs if r.metrics.get(metric.key) is not None]
        if not measured:
            continue
        newest = measured[0]
        regressed, median = flags[(newest.run_id, metric.key)]
        values = [r.metrics.get(metric.key) for r in reversed(measured[:SPARK_RUNS])]
        label = f"{metric.label}, {series}: last {len(values)} runs"
        state = (
            "worse than the previous runs"
            if regressed
            else "within the margin"
            if len(measured) - 1 >= trends.MIN_PREVIOUS
            else "too few runs to compare"
        )
        cls = " class='num regressed'" if regressed else " class='num'"
        rows.append(
            f"<tr><td>{escape(metric.label)}</td>"
            f"<td>{svg.sparkline(values, label, alarm=regressed)}</td>"
            f"<td{cls}>{escape(value_text(metric, newest.metrics.get(metric.key)))}</td>"
            f"<td class='num'>{escape(value_text(metric, median))}</td>"
            f"<td{' class=regressed' if regressed else ''}>{escape(state)}</td></tr>"
        )
    return rows


def trends_section(runs: Sequence[RunSummary], flags: Flags) -> str:
    """Per target (kind and database), a sparkline and the newest value of each figure."""
    by_series: dict[str, list[RunSummary]] = {}
    for run in runs:
        by_series.setdefault(run.series, []).append(run)
    parts = []
    for series, members in by_series.items():
        rows = _trend_rows(series, members, flags)
        if rows:
            parts.append(
                f"<h3>{escape(series)}</h3><table class='trends'><tr><th>figure</th>"
                f"<th>oldest → newest</th><th>newest</th>"
                f"<th>median of the {trends.PREVIOUS} before</th><th></th></tr>"
                + "".join(rows)
                + "</table>"
            )
    if not parts:
        return "<p class='muted'>No run has measured a release figure yet.</p>"
    return "".join(parts)


def _links(run: RunSummary) -> str:
    names = [n for n in ("report.html", "checklist.md", "evidence.json") if n in run.files]
    return "<br>".join(f"<a href='{escape(run.run_id)}/{n}'>{escape(n)}</a>" for n in names)


def _run_row(run: RunSummary, flags: Flags) -> str:
    subject = run.subject
    cells = [
        f"<td><a href='{escape(run.run_id)}/'>{escape(run.run_id)}</a></td>",
        f"<td>{_verdict(run.decision) if run.problem is None else escape(run.problem)}</td>",
        f"<td>{escape(str(subject.get('label') or '—'))}</td>",
        f"<td>{escape(str(subject.get('release_id') or '—'))}</td>",
        f"<td>{escape(', '.join(map(str, subject.get('phases') or [])) or '—')}</td>",
        f"<td>{escape(str(subject.get('commit') or '—'))}</td>",
    ]
    for metric in trends.METRICS:
        regressed, median = flags.get((run.run_id, metric.key), (False, None))
        text = escape(value_text(metric, run.metrics.get(metric.key)))
        if regressed:
            why = (
                f"worse than the median of the previous runs ({value_text(metric, median)}) by "
                f"more than {metric.ratio:.0%} and {value_text(metric, metric.floor)}"
            )
            cells.append(f"<td class='num regressed' title='{escape(why)}'>▲ {text}</td>")
        else:
            cells.append(f"<td class='num'>{text}</td>")
    cells.append(f"<td>{_links(run)}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def render(runs: Sequence[RunSummary], now: datetime | None = None) -> str:
    """The whole page for `runs` (newest first)."""
    now = now or datetime.now(UTC)
    flags = regressions(runs)
    head = "".join(f"<th>{escape(m.label)}</th>" for m in trends.METRICS)
    rows = "".join(_run_row(run, flags) for run in runs)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>releaseops runs</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>releaseops runs</h1><p class='muted'>{len(runs)} run folder(s); written "
        f"{now:%Y-%m-%d %H:%M:%S} UTC. A highlighted figure is worse than the median of the "
        f"previous {trends.PREVIOUS} runs of the same target by more than its margin.</p>"
        f"<h2>Trends across releases</h2>{trends_section(runs, flags)}"
        f"<h2>Runs, newest first</h2><table id='runs'><tr><th>run</th><th>verdict</th>"
        f"<th>target</th><th>release</th><th>phases</th><th>commit</th>{head}"
        f"<th>files</th></tr>{rows}</table></body></html>\n"
    )
