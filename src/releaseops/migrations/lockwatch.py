"""Watch the locks another backend holds while a statement runs outside a transaction.

Inside a transaction the tracer reads the locks a statement took before anything commits.
A statement PostgreSQL runs only outside one (CREATE INDEX CONCURRENTLY, VACUUM FULL) leaves
nothing to read afterwards, so a thread on a second connection samples `pg_locks` of the
migrating backend every few milliseconds and keeps when each lock was first and last seen.
A lock held for less than one interval may be missed; durations are accurate to one interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

from releaseops.dburl import DatabaseUrl
from releaseops.errors import ReleaseOpsError
from releaseops.migrations.trace import locks_of
from releaseops.migrations.trace_records import Lock, Relation

APPLICATION_NAME = "releaseops-rehearsal-watch"
INTERVAL_S = 0.005


class LockLog:
    """When each lock of the watched backend was first and last seen (monotonic seconds)."""

    def __init__(self) -> None:
        self.seen: dict[Lock, tuple[float, float]] = {}
        self.blind = False
        self._guard = threading.Lock()

    def saw(self, locks: frozenset[Lock], at: float) -> None:
        """Record one sample."""
        with self._guard:
            for lock in locks:
                first, _ = self.seen.get(lock, (at, at))
                self.seen[lock] = (first, at)

    def locks(self) -> frozenset[Lock] | None:
        """Every lock seen, or None when the watch could not look."""
        with self._guard:
            return None if self.blind else frozenset(self.seen)

    def held_ms(self, lock: Lock) -> float:
        """How long `lock` was seen held, in milliseconds (one interval at least)."""
        with self._guard:
            first, last = self.seen[lock]
        return (last - first) * 1000 + INTERVAL_S * 1000


def _loop(
    conn: psycopg.Connection[Any],
    rels: Mapping[int, Relation],
    pid: int,
    log: LockLog,
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        try:
            log.saw(locks_of(conn, rels, pid), time.monotonic())
        except psycopg.Error:
            log.blind = True
            return
        stop.wait(INTERVAL_S)


@contextmanager
def watching(db: DatabaseUrl, pid: int, rels: Mapping[int, Relation]) -> Iterator[LockLog]:
    """Sample the locks backend `pid` holds on `rels` while the block runs."""
    log = LockLog()
    try:
        conn = db.connect(autocommit=True, application_name=APPLICATION_NAME)
    except ReleaseOpsError:
        log.blind = True
        yield log
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_loop, args=(conn, rels, pid, log, stop), name="releaseops-lock-watch", daemon=True
    )
    thread.start()
    try:
        yield log
    finally:
        stop.set()
        thread.join(timeout=5)
        conn.close()
