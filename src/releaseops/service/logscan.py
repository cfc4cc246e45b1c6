r"""The streaming log engine: one pass over a log, in constant memory, for every log check.

`Scan.feed` takes the log a block of lines at a time (bytes, 1-based numbers split on "\\n";
`iter_blocks` cuts a stream into blocks) and, in the same pass, finds format defects (logline),
migration trouble (logmigration) and duplicate request ids, and hands every conforming request
line to its observers (the SLO windows). Memory does not grow with the log: defects are kept up
to a limit (their counts are complete), and request ids are remembered, as their 64-bit
hashes, for at least the last `DUPLICATE_WINDOW` request lines (two generations of a dict).
Two different ids of one window share a hash with a probability below 1e-9.

Speed comes from doing per block what is rare per line: one scan of the block tells whether
any line may hold a duplicate key (more `":` than keys) or migration words; only then are that
block's lines examined one by one. The per-line path is orjson plus a few type checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from orjson import JSONDecodeError
from orjson import loads as _loads

from releaseops.service import logline, logmigration
from releaseops.service.logblocks import Block, blocks_of, iter_blocks
from releaseops.service.logline import MIGRATION_KIND, Problem
from releaseops.service.logreport import Defect, ScanReport

__all__ = ["Block", "Defect", "Observer", "Scan", "ScanReport", "blocks_of", "iter_blocks", "scan"]

MAX_DEFECTS = 1000
DUPLICATE_WINDOW = 100_000
_INF = float("inf")

# Called once per block with (line number, parsed line) of each conforming request line.
Observer = Callable[[list[tuple[int, dict[str, Any]]]], None]


class Scan:
    """One pass over a log: `feed` blocks of lines in order, then read `report`."""

    def __init__(
        self,
        observers: Iterable[Observer] = (),
        *,
        max_defects: int = MAX_DEFECTS,
        duplicate_window: int = DUPLICATE_WINDOW,
    ) -> None:
        self.report = ScanReport()
        self.observers = tuple(observers)
        self.max_defects = max_defects
        self.duplicate_window = duplicate_window
        # hash(request_id) -> line: ints are cheaper to keep than the ids themselves.
        self._ids: dict[int, int] = {}
        self._older_ids: dict[int, int] = {}
        self._bad: set[int] = set()

    def feed(self, lines: list[bytes], text: bytes | None = None, end: int | None = None) -> None:
        r"""Judge the next `lines` (without "\\n"); `text[:end]` is them joined by "\\n".

        Bytes of `text` after `end` are ignored, except that they may send the block down the
        exact (slower) path of a rare check.
        """
        if text is None:
            text = b"\n".join(lines)
        end = len(text) if end is None else end
        first = self.report.lines + 1
        kept = len(self.report.defects)
        self._bad = set()
        # The block scans first, while the block is still in the CPU's cache.
        colons, spaced = text.count(b'":', 0, end), logline.spaced_colon(text)
        mentions = logmigration.may_mention(text)
        requests, keys = self._lines(lines, first, long=end > logline.MAX_LINE_BYTES)
        if keys != colons or spaced:
            requests = self._duplicate_keys(lines, first, requests)
        if mentions:
            self._migrations(lines, first)
        self.report.defects[kept:] = sorted(self.report.defects[kept:], key=lambda d: d.line)
        for observer in self.observers:
            observer(requests)

    def _lines(self, lines: list[bytes], first: int, *, long: bool) -> tuple[list[Any], int]:
        """The per-line pass; returns the conforming request lines and the number of keys.

        `long` says the block may hold a line over MAX_LINE_BYTES (only then is each measured).
        Conforming request lines are kept for the observers only when there are observers.
        """
        ids, older, watched = self._ids, self._older_ids, bool(self.observers)
        requests: list[tuple[int, Any]] = []
        keep, keys, events, fast, max_bytes = requests.append, 0, 0, 0, logline.MAX_LINE_BYTES
        for number, raw in enumerate(lines, first):
            try:
                if long and len(raw) > max_bytes:
                    raise ValueError("too long")
                data = _loads(raw)
            except (JSONDecodeError, ValueError) as exc:
                keys += raw.count(b'":')
                data = self._unparsed(number, raw, exc)
                if data is not None and self._judge(number, raw, data):
                    keep((number, data))
                continue
            try:
                route, rid = data["route"], data["request_id"]
                status, latency, code = data["status"], data["latency"], data["error_code"]
            except KeyError:  # an event, or a request line lacking a field
                keys += len(data)
                if not logline.is_request_like(data):
                    events += 1
                elif self._request_problems(number, raw, data):
                    keep((number, data))
                continue
            except TypeError:  # not an object: an array, a string, a number, null
                self._not_object(number, raw, data)
                keys += raw.count(b'":')
                continue
            keys += len(data)
            if (
                route.__class__ is str
                and rid.__class__ is str
                and status.__class__ is int
                and (latency.__class__ is float or latency.__class__ is int)
                and route[:1] == "/"
                and 100 <= status <= 599
                and 0 <= latency < _INF
                and rid.strip()
                and (
                    (code is None and status < 400)
                    or (
                        status >= 400
                        and code.__class__ is str
                        and code.strip()
                        and (code[:5] != "HTTP_" or code[5:] == str(status))
                    )
                )
                and ids.setdefault(key := hash(rid), number) == number
                and key not in older
            ):
                if watched:
                    keep((number, data))
                else:
                    fast += 1
            elif self._request_problems(number, raw, data):
                keep((number, data))
        self.report.lines = first + len(lines) - 1
        self.report.event_lines += events
        self.report.request_lines += len(requests) + fast
        if len(ids) >= self.duplicate_window:
            self._older_ids, self._ids = ids, {}
        return requests, keys

    def _unparsed(self, number: int, raw: bytes, exc: Exception) -> dict[str, Any] | None:
        """A line orjson refused: blank, too long, not UTF-8, not JSON, or a legal oddity.

        Returns the object when Python's json reads one (the line may already be bad).
        """
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        blank = logline.blank_problem(raw)
        if blank is not None:
            self._add_bad(number, raw, [blank])
            return None
        if len(raw) > logline.MAX_LINE_BYTES:
            detail = f"longer than {logline.MAX_LINE_BYTES} bytes, not a request log line"
            self._add_bad(number, raw, [("too_long", detail)])
            return None
        data, problems = logline.parse_slow(raw, exc)
        if problems:
            self._add_bad(number, raw, problems)
        if data is None:
            return None
        if not isinstance(data, dict):
            self._not_object(number, raw, data)
            return None
        if logline.may_hold_duplicate_keys(raw, data):
            self._add_duplicate_keys(number, raw)
        return data

    def _judge(self, number: int, raw: bytes, data: dict[str, Any]) -> bool:
        """The slow path's verdict on a parsed object: True for a conforming request line."""
        if logline.is_request_like(data):
            return self._request_problems(number, raw, data)
        if number not in self._bad:
            self.report.event_lines += 1
        return False

    def _not_object(self, number: int, raw: bytes, data: Any) -> None:
        text = logline.excerpt(logline.text_of(raw), 80)
        detail = f"a JSON {logline.kind_of(data)}, not a JSON object: {text}"
        self._add_bad(number, raw, [("not_object", detail)])

    def _request_problems(self, number: int, raw: bytes, data: dict[str, Any]) -> bool:
        """The slow path of a request line: name each problem, a reused id included.

        True when the line conforms after all (e.g. a 404 with error_code HTTP_404).
        """
        problems = logline.request_problems(data)
        rid = data.get("request_id")
        if rid.__class__ is str and rid:
            key = hash(rid)
            first = self._older_ids.get(key) or self._ids.setdefault(key, number)
            if first != number:
                detail = f"request_id {rid!r} was already used on line {first}"
                problems = [*problems, ("duplicate_request_id", detail)]
        if problems:
            self._add_bad(number, raw, problems)
        return number not in self._bad

    def _duplicate_keys(
        self, lines: list[bytes], first: int, requests: list[tuple[int, Any]]
    ) -> list[tuple[int, Any]]:
        """The exact duplicate-key test for a block the cheap test could not clear.

        A line found here was counted as a request or an event line; it moves to the bad ones.
        """
        flagged: set[int] = set()
        for number, raw in enumerate(lines, first):
            try:
                data = _loads(raw)
            except JSONDecodeError:
                continue  # judged already by the slow path
            if data.__class__ is dict and logline.may_hold_duplicate_keys(raw, data):
                was_bad = number in self._bad
                if self._add_duplicate_keys(number, raw) and not was_bad:
                    flagged.add(number)
                    if logline.is_request_like(data):
                        self.report.request_lines -= 1
                    else:
                        self.report.event_lines -= 1
        return [(n, d) for n, d in requests if n not in flagged] if flagged else requests

    def _add_duplicate_keys(self, number: int, raw: bytes) -> bool:
        duplicated = logline.duplicate_keys(raw)
        problems: list[Problem] = [
            ("duplicate_key", f"key {key!r} occurs more than once (a reader keeps only one)")
            for key in duplicated
        ]
        if problems:
            self._add_bad(number, raw, problems)
        return bool(problems)

    def _migrations(self, lines: list[bytes], first: int) -> None:
        """Migration trouble in the lines of a block that mention migrations or mismatches."""
        for number, raw in enumerate(lines, first):
            if not logmigration.HINT.search(raw):
                continue
            try:
                data = _loads(raw)
            except JSONDecodeError:
                data, _ = logline.parse_slow(raw, ValueError())
            if isinstance(data, dict):
                reason = logmigration.json_reason(data)
            else:
                reason = logmigration.text_reason(logline.text_of(raw.rstrip(b"\r")))
            if reason:
                self._add(number, raw, MIGRATION_KIND, reason)

    def _add_bad(self, number: int, raw: bytes, problems: list[Problem]) -> None:
        if number not in self._bad:
            self._bad.add(number)
            self.report.bad_lines += 1
        for kind, detail in problems:
            self._add(number, raw, kind, detail)

    def _add(self, number: int, raw: bytes, kind: str, detail: str) -> None:
        report = self.report
        report.counts[kind] += 1
        if len(report.defects) < self.max_defects:
            shown = logline.excerpt(logline.text_of(raw[:400]))
            report.defects.append(Defect(number, kind, detail, shown))


def scan(blocks: Iterable[Block], observers: Iterable[Observer] = (), **options: Any) -> ScanReport:
    """Run one Scan over `blocks` (from iter_blocks or blocks_of) and return its report."""
    engine = Scan(observers, **options)
    for lines, text, end in blocks:
        engine.feed(lines, text, end)
    return engine.report
