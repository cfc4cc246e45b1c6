"""Lock-timeout retries: try a blocked statement again after a growing pause, then name the holder.

A statement that cannot get its lock within lock_timeout is cancelled (SQLSTATE 55P03) so that
it does not queue live traffic behind it. Such a wait is often a short report or a vacuum:
after a pause the runner tries again, doubling the pause each time, and gives up with
LockRetriesExhausted (exit code 13), naming the session that held the lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from releaseops.errors import LockRetriesExhausted, MigrationBlocked
from releaseops.migrations.blockers import BlockerWatch

if TYPE_CHECKING:
    from releaseops.migrations.execute import Timeouts

# A blocked statement is tried again 3 times, after 2, 4 and 8 s: at most 4 x lock_timeout
# of waiting plus 14 s of pauses (34 s with the defaults) before the runner gives up.
DEFAULT_LOCK_RETRIES = 3
DEFAULT_LOCK_RETRY_DELAY_S = 2.0
LOCK_RETRY_BACKOFF = 2.0
LOCK_RETRY_MAX_DELAY_S = 60.0
Sleep = Callable[[float], None]
T = TypeVar("T")


@dataclass(frozen=True)
class LockRetry:
    """How often a statement blocked past lock_timeout is tried again, and the pauses between.

    The pause before retry n (0-based) is `delay_s * 2**n`, at most LOCK_RETRY_MAX_DELAY_S.
    `watch` names the session that blocked; `sleep` is injectable so tests need not wait.
    """

    retries: int = DEFAULT_LOCK_RETRIES
    delay_s: float = DEFAULT_LOCK_RETRY_DELAY_S
    sleep: Sleep = time.sleep
    watch: BlockerWatch = field(default_factory=BlockerWatch)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (0 for the first retry)."""
        return min(self.delay_s * LOCK_RETRY_BACKOFF**attempt, LOCK_RETRY_MAX_DELAY_S)


def _exhausted(
    blocked: MigrationBlocked, attempts: int, retry: LockRetry, timeouts: Timeouts, kept: str
) -> LockRetriesExhausted:
    """The final lock-timeout failure, naming the session that held the lock."""
    where = f"{blocked.file_name} line {blocked.line}" if blocked.line else blocked.file_name
    pauses = ", ".join(f"{retry.delay(n):g}" for n in range(attempts - 1))
    retried = f" (retried after {pauses} s)" if pauses else ""
    holder = retry.watch.describe()
    pids = [b.pid for b in retry.watch.last()]
    end_it = f" (or end it: SELECT pg_terminate_backend({pids[0]}))" if len(pids) == 1 else ""
    return LockRetriesExhausted(
        f"{where}: blocked past lock_timeout={timeouts.lock_timeout} on each of {attempts} "
        f"attempt(s){retried}; the lock is held by {holder}; {kept}. Run again when that "
        f"session is done{end_it}, or raise --lock-timeout / --lock-retries",
        file_name=blocked.file_name,
        line=blocked.line,
        attempts=attempts,
        holder=holder,
    )


def with_retries(
    attempt: Callable[[], T], retry: LockRetry, timeouts: Timeouts, kept: str
) -> tuple[T, int]:
    """Run `attempt`; when it is blocked past lock_timeout, pause and run it again."""
    for number in range(retry.retries + 1):
        retry.watch.forget()
        try:
            return attempt(), number + 1
        except MigrationBlocked as blocked:
            if number == retry.retries:
                raise _exhausted(blocked, number + 1, retry, timeouts, kept) from blocked
            retry.sleep(retry.delay(number))
    raise AssertionError("unreachable: the last attempt returns or raises")
