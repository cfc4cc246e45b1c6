"""One log line judged against the request log standard: decoding, JSON, keys, request fields.

A line's defects are `(kind, detail)` pairs. The kinds (docs/slo.md lists them with examples)
are stable names a machine can count; the details are plain words for a person. Nothing here
raises on a line, however broken it is.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from releaseops.dburl import mask

Problem = tuple[str, str]

REQUIRED_FIELDS = ("request_id", "route", "status", "latency", "error_code")
# A request log line is a short JSON object; anything this long is not one, and parsing a
# multi-megabyte line only to reject it would waste the check's time.
MAX_LINE_BYTES = 1_000_000
EXCERPT_CHARS = 200
FORMAT_KINDS = (
    "invalid_utf8",
    "lone_surrogate",
    "blank_line",
    "whitespace_line",
    "too_long",
    "not_json",
    "not_object",
    "duplicate_key",
    "missing_field",
    "wrong_type",
    "bad_value",
    "inconsistent_error_code",
    "duplicate_request_id",
)
MIGRATION_KIND = "migration_mismatch"
KINDS = (*FORMAT_KINDS, MIGRATION_KIND)

_HTTP_FALLBACK = re.compile(r"^HTTP_(\d+)$")
_INF = math.inf
_NO_PROBLEMS: list[Problem] = []


def excerpt(raw: str, limit: int = EXCERPT_CHARS) -> str:
    """`raw` cut to `limit` characters, passwords masked, undecodable bytes shown as escapes."""
    cut = raw if len(raw) <= limit else raw[:limit] + f"... ({len(raw)} chars)"
    return mask(cut.encode("utf-8", errors="backslashreplace").decode("utf-8"))


def text_of(raw: bytes) -> str:
    """The line as text; bytes that are not UTF-8 are kept as surrogate escapes."""
    return raw.decode("utf-8", errors="surrogateescape")


def blank_problem(raw: bytes) -> Problem | None:
    """`blank_line` for an empty line, `whitespace_line` for one holding only whitespace."""
    if not raw:
        return ("blank_line", "empty line")
    if raw.isspace():
        return ("whitespace_line", f"line holds only whitespace ({len(raw)} bytes)")
    return None


def parse_slow(raw: bytes, error: Exception) -> tuple[Any, list[Problem]]:
    r"""Why orjson refused `raw`, as a defect; the value when Python's json still reads it.

    Python's json accepts what orjson refuses in two legal cases (integers beyond 64 bits,
    numbers beyond a double) and one defect: a lone UTF-16 surrogate escape (`"\\ud800"`),
    which no UTF-8 consumer can represent. NaN and Infinity are not JSON (RFC 8259).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [("invalid_utf8", f"byte {exc.start} is not UTF-8 ({exc.reason})")]
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        return None, [("not_json", f"not JSON: {reason}: {excerpt(text, 80)}")]
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return value, [("lone_surrogate", f"a \\uD800-\\uDFFF escape without its pair: {error}")]
    except (ValueError, RecursionError):
        return value, []
    return value, []


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def duplicate_keys(raw: bytes) -> list[str]:
    """Keys that occur twice in one JSON object of `raw` (orjson would keep only the last)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and key not in found:
                found.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.loads(raw.decode("utf-8", errors="surrogateescape"), object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return []
    return found


def spaced_colon(text: bytes) -> bool:
    """True when whitespace may stand between a key and its colon somewhere in `text`.

    A key written `"key" :` (any run of spaces, tabs or CRs) escapes the count of `":`; such
    a run ends with a space, tab or CR right before the colon. The single-byte search first:
    most logs hold no raw tab, and only CRLF logs hold a raw CR.
    """
    return b" :" in text or (b"\t" in text and b"\t:" in text) or (b"\r" in text and b"\r:" in text)


def may_hold_duplicate_keys(raw: bytes, data: dict[str, Any]) -> bool:
    """A cheap test: False when `raw` certainly has no duplicate key, else True.

    Each key of a flat object is written as `"key":` once, so a line with as many `":` as
    keys and no whitespace before a colon has no duplicates. Nested objects, strings holding
    `":` and spaced separators take the exact, slower path.
    """
    return raw.count(b'":') != len(data) or spaced_colon(raw.rstrip(b"\r"))


def is_request_like(data: dict[str, Any]) -> bool:
    """True for a line that reports a request: it has `route`, `status` or `latency`.

    A `request_id` alone marks a request line too, unless the line is an event (structlog's
    convention binds the request id to every event logged while a request runs).
    """
    return (
        "route" in data
        or "status" in data
        or "latency" in data
        or ("request_id" in data and "event" not in data)
    )


def request_problems(data: dict[str, Any]) -> list[Problem]:
    """What `data` lacks to be a conforming request line (empty when it conforms)."""
    rid, route, status = data.get("request_id"), data.get("route"), data.get("status")
    latency = data.get("latency")
    if (
        type(rid) is str
        and type(route) is str
        and type(status) is int
        and (type(latency) is float or type(latency) is int)
        and route[:1] == "/"
        and 100 <= status <= 599
        and 0 <= latency < _INF
        and "error_code" in data
        and rid.strip()
    ):
        code = data["error_code"]
        if code is None and status < 400:
            return _NO_PROBLEMS
        if status >= 400 and type(code) is str and code.strip() and code[:5] != "HTTP_":
            return _NO_PROBLEMS
    return _field_problems(data)


def _field_problems(data: dict[str, Any]) -> list[Problem]:
    problems = [("missing_field", f"missing field {n!r}") for n in REQUIRED_FIELDS if n not in data]
    if "request_id" in data:
        problems += _request_id_problems(data["request_id"])
    if "route" in data:
        route = data["route"]
        if not isinstance(route, str):
            problems.append(("wrong_type", f"route must be a string, got {shown(route)}"))
        elif not route.startswith("/"):
            problems.append(
                (
                    "bad_value",
                    f"route must be a path or Flask rule starting with '/', got {shown(route)}",
                )
            )
    status = data.get("status")
    status_ok = type(status) is int and 100 <= status <= 599
    if "status" in data and not status_ok:
        kind = "bad_value" if type(status) is int else "wrong_type"
        problems.append(
            (kind, f"status must be an integer HTTP status 100-599, got {shown(status)}")
        )
    if "latency" in data:
        problems += _latency_problems(data["latency"])
    if "error_code" in data and status_ok:
        assert isinstance(status, int)
        problems += error_code_problems(data["error_code"], status)
    return problems


def _request_id_problems(value: Any) -> list[Problem]:
    if not isinstance(value, str):
        return [("wrong_type", f"request_id must be a non-empty string, got {shown(value)}")]
    if not value.strip():
        return [("bad_value", f"request_id must be a non-empty string, got {shown(value)}")]
    return []


def _latency_problems(value: Any) -> list[Problem]:
    text = f"latency must be a number of milliseconds >= 0, got {shown(value)}"
    if type(value) not in (int, float):
        return [("wrong_type", text)]
    if not (math.isfinite(value) and value >= 0):
        return [("bad_value", text)]
    return []


def error_code_problems(code: Any, status: int) -> list[Problem]:
    """How `code` contradicts `status`: null for success, the API's code or HTTP_<status> else."""
    if status < 400:
        if code is None:
            return []
        return [
            (
                "inconsistent_error_code",
                f"error_code is {shown(code)} but status {status} is a success (expected null)",
            )
        ]
    if code is None:
        return [("inconsistent_error_code", f"error_code is null but status is {status}")]
    if not isinstance(code, str):
        return [
            (
                "wrong_type",
                f"error_code must be a non-empty string for status {status}, got {shown(code)}",
            )
        ]
    if not code.strip():
        return [
            (
                "inconsistent_error_code",
                f"error_code must be a non-empty string for status {status}, got {shown(code)}",
            )
        ]
    fallback = _HTTP_FALLBACK.match(code)
    if fallback and int(fallback.group(1)) != status:
        return [
            (
                "inconsistent_error_code",
                f"error_code {code!r} does not match status {status} (expected 'HTTP_{status}')",
            )
        ]
    return []


def kind_of(value: Any) -> str:
    """The JSON type name of a parsed value ("object", "array", "string", ...)."""
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


def shown(value: Any) -> str:
    """`value` as JSON text (shortened) with its JSON type, for a defect's detail."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (ValueError, RecursionError):
        text = repr(value)
    return f"{excerpt(text, 60)} ({kind_of(value)})"


def loads(raw: bytes) -> Any:
    """Orjson's parser (the engine's fast path); raises orjson.JSONDecodeError."""
    return orjson.loads(raw)
