"""The HTTP request log standard (checklist section 0), as the checks ask about it.

A request line is one JSON object with `request_id`, `route`, `status`, `latency` and
`error_code`. Which lines are request lines, and every defect kind, is logline's business; the
one-pass engine is logscan's. This module gives the checks their answers: `check_source` (the
format report and the migration trouble of a whole log, in one pass), `find_request`, and the
startup `migration_checks`. Reading the log lives in `logsource` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from releaseops.service import logscan
from releaseops.service.logline import FORMAT_KINDS, MAX_LINE_BYTES, REQUIRED_FIELDS, excerpt
from releaseops.service.logmigration import is_clean_state
from releaseops.service.logscan import Defect, Observer, ScanReport
from releaseops.service.logsource import open_source
from releaseops.service.logsource import read_source as read_source

__all__ = [
    "MAX_LINE_CHARS",
    "REQUIRED_FIELDS",
    "LogLine",
    "LogReport",
    "check",
    "check_source",
    "excerpt",
    "find_request",
    "is_clean_state",
    "migration_checks",
    "migration_errors",
    "read_source",
]

MAX_LINE_CHARS = MAX_LINE_BYTES
EXPLAIN_LIMIT = 10


@dataclass(frozen=True)
class LogLine:
    """One log line: its 1-based number, text, parsed object and problems."""

    number: int
    raw: str
    data: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)

    def excerpt(self) -> str:
        """The line shortened and escaped for a report (never raises on odd characters)."""
        return excerpt(self.raw)


@dataclass(frozen=True)
class LogReport:
    """A checked log: line counts, the format defects found, and the migration trouble."""

    scan: ScanReport

    @property
    def total(self) -> int:
        """Number of lines read."""
        return self.scan.lines

    @property
    def format_defects(self) -> list[Defect]:
        """The kept defects against the log standard, in line order."""
        return self.scan.format_defects

    @property
    def format_defect_count(self) -> int:
        """Every defect against the log standard, kept or not."""
        return sum(self.scan.counts[k] for k in FORMAT_KINDS)

    @property
    def migration_errors(self) -> list[Defect]:
        """The kept lines reporting migration trouble (a No-Go condition)."""
        return self.scan.migration_defects

    @property
    def problems(self) -> list[str]:
        """Every kept format defect as `line N: detail`, in line order."""
        return [d.text() for d in self.format_defects]

    @property
    def is_clean(self) -> bool:
        """No format defect, and at least one request line (an empty log proves nothing)."""
        return self.format_defect_count == 0 and self.scan.request_lines > 0

    def summary(self) -> str:
        """One line of counts."""
        s = self.scan
        return (
            f"{s.lines} lines: {s.request_lines} request lines, {s.event_lines} events, "
            f"{s.bad_lines} bad lines"
        )

    def explain(self) -> str:
        """The counts, then the first problems in plain words, and what to do."""
        if not self.scan.request_lines and not self.format_defect_count:
            return (
                f"{self.summary()}; no request line found: check that API_LOG_SOURCE reads the "
                f"API's request log and that requests were sent before reading it"
            )
        if not self.format_defect_count:
            return f"{self.summary()}; every request line follows the log standard"
        shown = self.problems[:EXPLAIN_LIMIT]
        more = self.format_defect_count - len(shown)
        lines = [f"{self.summary()}; problems:", *shown]
        if more:
            lines.append(f"... and {more} more problems")
        lines.append(
            "Each request line must be one JSON object with request_id, route, status, latency "
            "and error_code (checklist section 0)."
        )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Counts, the first problems and excerpts of the bad lines, for the evidence."""
        s = self.scan
        bad = {d.line: d.excerpt for d in self.format_defects}
        return {
            "lines": s.lines,
            "request_lines": s.request_lines,
            "event_lines": s.event_lines,
            "bad_lines": s.bad_lines,
            "clean": self.is_clean,
            "defect_counts": {k: s.counts[k] for k in FORMAT_KINDS if s.counts[k]},
            "problems": self.problems[:EXPLAIN_LIMIT],
            "excerpt": [f"{n}: {text}" for n, text in list(bad.items())[:5]],
        }


def _encoded(lines: Iterable[str]) -> Iterator[bytes]:
    for line in lines:
        try:
            yield line.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate in the text itself
            yield line.encode("utf-8", errors="surrogatepass")


class RecentRequests:
    """An observer counting conforming request lines written at or after `since`.

    A log with no request line since the service (re)started proves nothing about that
    service: it may be rotated, empty, or another process's. The checks need one.
    """

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.count = 0

    def __call__(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Count the batch's request lines whose `timestamp` is not older than `since`."""
        for _, data in batch:
            stamp = data.get("timestamp")
            try:
                when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
            except ValueError:
                continue
            if when is not None and when.tzinfo is not None and when >= self.since:
                self.count += 1

    def not_verified(self) -> str | None:
        """Why the log cannot speak for the running service, or None."""
        if self.count:
            return None
        return (
            f"not verified: no request line in the log since the service started at "
            f"{self.since.isoformat()}: the log is empty, rotated, or not this service's"
        )


def check(lines: Iterable[str], observers: Iterable[Observer] = ()) -> LogReport:
    """Check every line of an in-memory log (text lines, as read_source returns them)."""
    return LogReport(logscan.scan(logscan.blocks_of(_encoded(lines)), observers))


def check_source(
    source: str,
    *,
    cwd: Path | None = None,
    observers: Iterable[Observer] = (),
    timeout: float = 30,
) -> LogReport:
    """Check the whole log of API_LOG_SOURCE in one streaming pass (constant memory)."""
    with open_source(source, cwd=cwd, timeout=timeout) as stream:
        return LogReport(logscan.scan(logscan.iter_blocks(stream), observers))


def migration_errors(lines: Iterable[str]) -> list[LogLine]:
    """Lines reporting a migration mismatch, version or checksum problem; `problems` says why."""
    texts = list(lines)
    found = check(texts).migration_errors
    return [LogLine(d.line, texts[d.line - 1], None, [d.text()]) for d in found]


def migration_checks(lines: Iterable[str]) -> list[LogLine]:
    """The service's startup `migration_check` events, oldest first."""
    found = []
    for number, raw in enumerate(lines, start=1):
        if "migration_check" not in raw:
            continue
        data = _object(raw)
        if data is not None and data.get("event") == "migration_check":
            found.append(LogLine(number, raw, data))
    return found


def find_request(lines: Iterable[str], request_id: str) -> list[dict[str, Any]]:
    """The request lines (JSON objects carrying a route, status or latency) with `request_id`."""
    found = []
    for raw in lines:
        if request_id not in raw:
            continue
        data = _object(raw)
        if data is not None and data.get("request_id") == request_id and _is_request(data):
            found.append(data)
    return found


def _is_request(data: dict[str, Any]) -> bool:
    return "route" in data or "status" in data or "latency" in data


def _object(raw: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(raw.encode("utf-8", errors="surrogateescape"))
    except (orjson.JSONDecodeError, UnicodeEncodeError):
        return None
    return data if isinstance(data, dict) else None
