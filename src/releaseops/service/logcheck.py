"""The HTTP request log standard (checklist section 0): read a log, check every line, find requests.

A request line is one JSON object with `request_id`, `route`, `status`, `latency` and
`error_code`; a line with an `event` key is an operational event (startup, migration check) and
only has to be a JSON object. Every problem is reported in plain words with its line number;
no line, however broken (binary, huge, not UTF-8), raises. Reading the log (`read_source`) lives
in `logsource` and is re-exported here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from releaseops.dburl import mask
from releaseops.service.logsource import read_source as read_source

REQUIRED_FIELDS = ("request_id", "route", "status", "latency", "error_code")
# A request log line is a short JSON object; anything this long is not one, and parsing a
# multi-megabyte line only to reject it would waste the check's time.
MAX_LINE_CHARS = 1_000_000
EXPLAIN_LIMIT = 10
EXCERPT_CHARS = 200

_HTTP_FALLBACK = re.compile(r"^HTTP_(\d+)$")
_CLEAN_STATES = {"clean", "ok"}
_ERROR_LEVELS = {"ERROR", "CRITICAL", "FATAL"}
_MISMATCH_TEXT = re.compile(r"mismatch|checksum|schema_migrations.*(?:error|mismatch)", re.I)
# Level markers in plain-text lines: "ERROR" as an uppercase word (logging's %(levelname)s,
# gunicorn's "[ERROR]") or a logfmt-style "level=error". A lowercase "error" in prose is not one.
_TEXT_LEVEL_UPPER = re.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b")
_TEXT_LEVEL_KV = re.compile(r"\blevel(?:name)?\s*[=:]\s*\"?(?:error|critical|fatal)\b", re.I)
_TEXT_STATE = re.compile(r"\bmigration_check\b.*?\bstate\s*[=:]\s*\"?([A-Za-z_-]+)", re.I)
_LEVEL_KEYS = ("level", "levelname", "severity", "log.level")
_MESSAGE_KEYS = ("message", "msg", "text", "error", "detail")


@dataclass(frozen=True)
class LogLine:
    """One non-blank log line: its 1-based number, text, parsed object and problems."""

    number: int
    raw: str
    data: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)

    @property
    def is_event(self) -> bool:
        """True for an operational event (a JSON object with an `event` key)."""
        return self.data is not None and "event" in self.data

    @property
    def is_request(self) -> bool:
        """True for a JSON object that is not an event, i.e. that must be a request line."""
        return self.data is not None and "event" not in self.data

    def excerpt(self) -> str:
        """The line shortened and escaped for a report (never raises on odd characters)."""
        return excerpt(self.raw)


def excerpt(raw: str, limit: int = EXCERPT_CHARS) -> str:
    """`raw` cut to `limit` characters, passwords masked, undecodable bytes shown as escapes."""
    cut = raw if len(raw) <= limit else raw[:limit] + f"... ({len(raw)} chars)"
    return mask(cut.encode("utf-8", errors="backslashreplace").decode("utf-8"))


def parse(lines: Iterable[str]) -> list[LogLine]:
    """Parse each non-blank line and list its problems against the request log standard."""
    parsed = []
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            parsed.append(_parse_line(number, raw))
    return parsed


def _load_object(number: int, raw: str) -> tuple[dict[str, Any] | None, str | None]:
    if len(raw) > MAX_LINE_CHARS:
        return None, f"line {number}: {len(raw)} characters long, not a request log line"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        return None, f"line {number}: not JSON: {reason}: {excerpt(raw, 80)}"
    if not isinstance(data, dict):
        kind = _kind(data)
        return None, f"line {number}: a JSON {kind}, not a JSON object: {excerpt(raw, 80)}"
    return data, None


def _parse_line(number: int, raw: str) -> LogLine:
    data, problem = _load_object(number, raw)
    if data is None:
        return LogLine(number, raw, None, [problem or f"line {number}: unreadable"])
    if "event" in data:
        return LogLine(number, raw, data, [])
    return LogLine(number, raw, data, [f"line {number}: {p}" for p in request_problems(data)])


def request_problems(data: dict[str, Any]) -> list[str]:
    """What `data` lacks to be a conforming request line, in plain words (empty when fine)."""
    problems = [f"missing field {name!r}" for name in REQUIRED_FIELDS if name not in data]
    request_id, route = data.get("request_id"), data.get("route")
    if "request_id" in data and not (isinstance(request_id, str) and request_id.strip()):
        problems.append(f"request_id must be a non-empty string, got {_shown(request_id)}")
    if "route" in data and not (isinstance(route, str) and route.startswith("/")):
        problems.append(
            f"route must be a path or Flask rule starting with '/', got {_shown(route)}"
        )
    status = data.get("status")
    status_ok = type(status) is int and 100 <= status <= 599
    if "status" in data and not status_ok:
        problems.append(f"status must be an integer HTTP status 100-599, got {_shown(status)}")
    latency = data.get("latency")
    if "latency" in data and not _is_latency(latency):
        problems.append(f"latency must be a number of milliseconds >= 0, got {_shown(latency)}")
    if "error_code" in data and type(status) is int and status_ok:
        problems.extend(_error_code_problems(data["error_code"], status))
    return problems


def _is_latency(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _error_code_problems(code: Any, status: int) -> list[str]:
    if status < 400:
        if code is None:
            return []
        return [f"error_code is {_shown(code)} but status {status} is a success (expected null)"]
    if code is None:
        return [f"error_code is null but status is {status}"]
    if not isinstance(code, str) or not code.strip():
        return [f"error_code must be a non-empty string for status {status}, got {_shown(code)}"]
    fallback = _HTTP_FALLBACK.match(code)
    if fallback and int(fallback.group(1)) != status:
        return [f"error_code {code!r} does not match status {status} (expected 'HTTP_{status}')"]
    return []


def _kind(value: Any) -> str:
    kinds: dict[type, str] = {
        bool: "boolean",
        str: "string",
        int: "integer",
        float: "number",
        list: "array",
        dict: "object",
        type(None): "null",
    }
    return kinds.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    kind = _kind(value)
    text = json.dumps(value, ensure_ascii=True, default=str)
    return f"{excerpt(text, 60)} ({kind})"


@dataclass(frozen=True)
class LogReport:
    """A checked log: each non-blank line is in exactly one of the three lists."""

    request_lines: list[LogLine]
    event_lines: list[LogLine]
    bad_lines: list[LogLine]

    @property
    def total(self) -> int:
        """Number of non-blank lines checked."""
        return len(self.request_lines) + len(self.event_lines) + len(self.bad_lines)

    @property
    def problems(self) -> list[str]:
        """Every problem, in line order."""
        return [problem for line in self.bad_lines for problem in line.problems]

    @property
    def is_clean(self) -> bool:
        """No bad line, and at least one request line (an empty log proves nothing)."""
        return not self.bad_lines and bool(self.request_lines)

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"{self.total} lines: {len(self.request_lines)} request lines, "
            f"{len(self.event_lines)} events, {len(self.bad_lines)} bad lines"
        )

    def explain(self) -> str:
        """The counts, then the first problems in plain words, and what to do."""
        if not self.request_lines and not self.bad_lines:
            return (
                f"{self.summary()}; no request line found: check that API_LOG_SOURCE reads the "
                f"API's request log and that requests were sent before reading it"
            )
        if not self.bad_lines:
            return f"{self.summary()}; every request line follows the log standard"
        problems = self.problems
        shown = problems[:EXPLAIN_LIMIT]
        more = len(problems) - len(shown)
        lines = [f"{self.summary()}; problems:", *shown]
        if more:
            lines.append(f"... and {more} more problems")
        lines.append(
            "Each request line must be one JSON object with request_id, route, status, latency "
            "and error_code (checklist section 0)."
        )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Counts, the first problems and an excerpt of the bad lines, for the evidence."""
        return {
            "lines": self.total,
            "request_lines": len(self.request_lines),
            "event_lines": len(self.event_lines),
            "bad_lines": len(self.bad_lines),
            "clean": self.is_clean,
            "problems": self.problems[:EXPLAIN_LIMIT],
            "excerpt": [f"{line.number}: {line.excerpt()}" for line in self.bad_lines[:5]],
        }


def check(lines: Iterable[str]) -> LogReport:
    """Check every line: events need only be JSON objects, all others must be request lines."""
    requests_, events, bad = [], [], []
    for line in parse(lines):
        if line.problems:
            bad.append(line)
        elif line.is_event:
            events.append(line)
        else:
            requests_.append(line)
    return LogReport(requests_, events, bad)


def migration_checks(lines: Iterable[str]) -> list[LogLine]:
    """The service's startup `migration_check` events, oldest first."""
    return [ln for ln in parse(lines) if ln.data and ln.data.get("event") == "migration_check"]


def is_clean_state(state: object) -> bool:
    """True for a migration_check state that reports nothing wrong."""
    return str(state).lower() in _CLEAN_STATES


def find_request(lines: Iterable[str], request_id: str) -> list[dict[str, Any]]:
    """The request lines (JSON objects without `event`) whose request_id is `request_id`."""
    return [
        line.data
        for line in parse(lines)
        if line.data is not None and line.is_request and line.data.get("request_id") == request_id
    ]


def migration_errors(lines: Iterable[str]) -> list[LogLine]:
    """Lines reporting a migration mismatch, version or checksum problem; `problems` says why."""
    found = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        data, _ = _load_object(number, raw)
        reason = _json_migration_error(data) if data is not None else _text_migration_error(raw)
        if reason:
            found.append(LogLine(number, raw, data, [f"line {number}: {reason}"]))
    return found


def _json_migration_error(data: dict[str, Any]) -> str | None:
    level = next((str(data[k]).upper() for k in _LEVEL_KEYS if k in data), "")
    is_error = level in _ERROR_LEVELS
    text = " ".join(str(data[k]) for k in _MESSAGE_KEYS if k in data)
    if data.get("event") == "migration_check":
        state = data.get("state")
        if state is not None and str(state).lower() not in _CLEAN_STATES:
            return f"migration check reported state {state!r}"
        if is_error:
            return f"migration check logged at level {level}: {excerpt(text, 120)}"
        return None
    # A plain logger may put the whole "migration_check state=..." into its message.
    state_in_text = _TEXT_STATE.search(text)
    if state_in_text and state_in_text.group(1).lower() not in _CLEAN_STATES:
        return f"migration check reported state {state_in_text.group(1)!r}"
    if is_error and _MISMATCH_TEXT.search(text):
        return f"migration error logged at level {level}: {excerpt(text, 120)}"
    return None


def _text_migration_error(raw: str) -> str | None:
    state = _TEXT_STATE.search(raw)
    if state and state.group(1).lower() not in _CLEAN_STATES:
        return f"migration check reported state {state.group(1)!r}"
    is_error = bool(_TEXT_LEVEL_UPPER.search(raw) or _TEXT_LEVEL_KV.search(raw))
    if is_error and _MISMATCH_TEXT.search(raw):
        return f"migration error logged: {excerpt(raw, 120)}"
    return None
