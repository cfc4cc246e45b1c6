"""What a command prints: masked lines and JSON on stdout, one-line errors on stderr.

A reader that stops early (`releaseops ... | head -1`) closes stdout. The command then keeps
working, its further output goes nowhere, and the boundary reports the closed stdout once at
the end instead of a BrokenPipeError traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

from releaseops import dburl
from releaseops.errors import ReleaseOpsError

# 128 + SIGPIPE: what a shell reports for a pipeline writer killed by a closed pipe.
STDOUT_CLOSED_EXIT = 141


class _Stdout:
    """Whether stdout was found closed during this command."""

    closed = False


_STATE = _Stdout()


def reset() -> None:
    """Forget an earlier closed stdout (a new command starts)."""
    _STATE.closed = False


def stdout_closed() -> bool:
    """True when a write to stdout met a closed pipe during this command."""
    return _STATE.closed


def _discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so later writes and the exit flush succeed."""
    _STATE.closed = True
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def write(text: str) -> None:
    """Write `text` to stdout and flush; a closed pipe is noted, never raised."""
    if _STATE.closed:
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def flush() -> None:
    """Flush stdout (e.g. help text argparse wrote); a closed pipe is noted, never raised."""
    write("")


def print_lines(lines: Iterable[str]) -> None:
    """Print human-readable lines, passwords masked."""
    write("".join(f"{dburl.mask(line)}\n" for line in lines))


def print_json(data: Any) -> None:
    """Print one JSON document, passwords masked."""
    write(dburl.mask(json.dumps(data, indent=2, sort_keys=True, default=str)) + "\n")


def one_line(text: str) -> str:
    """`text` on one line: line breaks and the indentation after them become single spaces."""
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def error(text: str) -> None:
    """Print `error: <text>` as one masked line on stderr (a closed stderr is ignored)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"error: {one_line(dburl.mask(text))}\n")
        sys.stderr.flush()


def fail(exc: ReleaseOpsError, code: int | None = None) -> int:
    """Print the error as one masked stderr line; return `code`, else the error's exit code."""
    error(str(exc))
    return exc.exit_code if code is None else code
