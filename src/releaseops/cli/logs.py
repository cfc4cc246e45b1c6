"""Check a request log against the log standard, in one streaming pass.

Reads FILE ("-" for standard input) once, in constant memory, and reports every defect with
its 1-based line number (lines split on newlines only): invalid_utf8, lone_surrogate, blank_line,
whitespace_line, too_long, not_json, not_object, duplicate_key, missing_field, wrong_type,
bad_value, inconsistent_error_code, duplicate_request_id, and migration_mismatch (a line
reporting a migration mismatch, a No-Go condition). docs/slo.md describes each kind. --json
prints {"lines": N, "defects": [{"line": N, "kind": "...", "detail": "..."}], ...}; --routes
adds per route the requests, 5xx answers and p50/p95/p99 latency (ms).

Exit codes:
  0   no defect
  1   defects found
  2   usage error, or FILE cannot be read

Example:  releaseops logs reports/latest/embedded/api.log --json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from releaseops import cli
from releaseops.cli import output
from releaseops.service import logscan
from releaseops.service.slowindow import Window

EXIT_CLEAN, EXIT_DEFECTS, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, json_output=True)
    p.add_argument("file", metavar="FILE", help='the log file, or "-" for standard input')
    p.add_argument("--routes", action="store_true", help="add per-route latency figures")
    p.add_argument(
        "--max-defects",
        type=int,
        default=logscan.MAX_DEFECTS,
        metavar="N",
        help=f"list at most N defects (default {logscan.MAX_DEFECTS}; counts stay complete)",
    )
    return p


def _scan(stream: IO[bytes], args: argparse.Namespace) -> dict[str, Any]:
    window = Window() if args.routes else None
    report = logscan.scan(
        logscan.iter_blocks(stream),
        [window] if window is not None else [],
        max_defects=args.max_defects,
    )
    result = report.as_dict()
    if window is not None:
        result["routes"] = {name: r.summary() for name, r in window.routes().items()}
    return result


def _text(result: dict[str, Any]) -> list[str]:
    lines = [f"{d['line']}: {d['kind']}: {d['detail']}" for d in result["defects"]]
    if result["defects_not_shown"]:
        lines.append(f"... and {result['defects_not_shown']} more defects (--max-defects)")
    for route, figures in result.get("routes", {}).items():
        lines.append(f"route {route}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    counts = ", ".join(f"{n} {kind}" for kind, n in result["defect_counts"].items()) or "none"
    lines.append(
        f"{result['lines']} lines: {result['request_lines']} request lines, "
        f"{result['event_lines']} events, {result['bad_lines']} bad lines; defects: {counts}"
    )
    return lines


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    if args.max_defects < 0:
        p.error(f"--max-defects {args.max_defects}: use 0 or more")
    try:
        if args.file == "-":
            result = _scan(sys.stdin.buffer, args)
        else:
            with Path(args.file).open("rb") as stream:
                result = _scan(stream, args)
    except OSError as exc:
        output.error(f"cannot read {args.file}: {exc.strerror or exc}")
        return EXIT_ERROR
    if args.json:
        cli.print_json(result)
    else:
        cli.print_lines(_text(result))
    return EXIT_DEFECTS if sum(result["defect_counts"].values()) else EXIT_CLEAN


def main(argv: list[str] | None = None) -> int:
    """`releaseops logs FILE`: print the log's defects; the exit code says whether any."""
    p = build_parser()
    return cli.run(lambda: _body(p, argv))
