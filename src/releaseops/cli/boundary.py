"""The command boundary: expected failures become one stderr line and a documented exit code.

`run(body)` calls a command's body and translates, in one place for every subcommand:
- a ReleaseOpsError: its message (masked, one line) and its exit code, except that an error
  caused by an unreachable database or a connection lost mid-command exits 3;
- a lost connection psycopg raised directly: one line, exit 3;
- Ctrl-C or SIGTERM: one line saying what state was left behind, exit 130;
- a closed stdout: the work goes on, one line at the end, exit 141 (unless the command already
  failed with its own code).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import psycopg

from releaseops.cli import output
from releaseops.errors import DatabaseUnreachable, ReleaseOpsError

INTERRUPTED_EXIT = 130

# SQLSTATEs of a session the server ended: admin_shutdown, crash_shutdown, cannot_connect_now;
# class 08 is "connection exception". psycopg gives None when the socket just closed.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}


def is_connection_loss(exc: BaseException) -> bool:
    """True for a psycopg error that means the connection to the server is gone."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _SESSION_ENDED


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def unreachable(exc: ReleaseOpsError) -> ReleaseOpsError | None:
    """The exit-3 form of `exc` when it was caused by an unreachable or lost database."""
    if isinstance(exc, DatabaseUnreachable):
        return None
    causes = list(_chain(exc))[1:]
    if any(isinstance(c, DatabaseUnreachable) for c in causes):
        return DatabaseUnreachable(str(exc))
    if any(is_connection_loss(c) for c in causes):
        return lost_connection(str(exc))
    return None


def lost_connection(detail: str) -> DatabaseUnreachable:
    """The error for a connection that broke while a command was using it."""
    detail = detail.replace(" [SQLSTATE None]", "")
    return DatabaseUnreachable(
        f"the connection to the database was lost: {detail}. Once the server accepts "
        f"connections again, run the command again"
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Inside the block SIGTERM (a CI timeout, systemd stop) cleans up like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def _call(body: Callable[[], int], interrupted: str) -> int:
    try:
        return body()
    except SystemExit as exc:  # argparse: --help (0) and usage errors (2, already printed)
        return _exit_status(exc)
    except ReleaseOpsError as exc:
        return output.fail(unreachable(exc) or exc)
    except KeyboardInterrupt:
        output.error(f"interrupted; {interrupted}")
        return INTERRUPTED_EXIT
    except psycopg.OperationalError as exc:
        if not is_connection_loss(exc):
            raise
        return output.fail(lost_connection(str(exc).strip()))


def run(
    body: Callable[[], int],
    *,
    interrupted: str = "nothing was changed",
) -> int:
    """Run a command's body at the boundary and return its exit code (see the module doc)."""
    output.reset()
    with sigterm_interrupts():
        code = _call(body, interrupted)
    output.flush()
    if output.stdout_closed() and code == 0:
        output.error(
            "stdout was closed before all output was written (broken pipe); "
            "the command's work itself was done"
        )
        return output.STDOUT_CLOSED_EXIT
    return code
