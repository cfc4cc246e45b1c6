"""Who blocks the migration: a watch on pg_blocking_pids() from a second session.

A statement that waits past lock_timeout is cancelled, and from then on PostgreSQL no longer
says who it was waiting for. So while migrations run, a thread on its own connection asks
`pg_blocking_pids(<runner pid>)` every few milliseconds and keeps the last sessions it saw,
with what pg_stat_activity says about them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from releaseops.dburl import DatabaseUrl
from releaseops.errors import ReleaseOpsError

APPLICATION_NAME = "releaseops-migrations-watch"
MAX_INTERVAL_S = 0.1
QUERY_SHOWN = 80
_BLOCKERS = """
SELECT a.pid, a.usename, a.application_name, a.client_addr::text, a.query_start, a.state,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), %s)
FROM pg_stat_activity a
WHERE a.pid = ANY(pg_blocking_pids(%s))
ORDER BY a.pid
"""


@dataclass(frozen=True)
class Blocker:
    """A session that held a lock the migration waited for."""

    pid: int
    user: str | None
    application: str | None
    client: str | None
    query_start: datetime | None
    state: str | None
    query: str | None

    def describe(self) -> str:
        """`pid 123 (application psql, user ops, query started ..., idle in transaction: '...')`."""
        where = f" from {self.client}" if self.client else ""
        started = (
            self.query_start.isoformat(sep=" ", timespec="seconds") if self.query_start else "?"
        )
        return (
            f"pid {self.pid} (application {self.application or '?'}, user {self.user or '?'}"
            f"{where}, query started {started}, {self.state or '?'}: {self.query or ''!r})"
        )


class BlockerWatch:
    """The sessions last seen blocking the watched backend (empty until one blocks it)."""

    def __init__(self) -> None:
        self._seen: list[Blocker] = []
        self._lock = threading.Lock()

    def saw(self, blockers: list[Blocker]) -> None:
        """Record a non-empty observation."""
        if blockers:
            with self._lock:
                self._seen = blockers

    def last(self) -> list[Blocker]:
        """The blockers of the most recent wait."""
        with self._lock:
            return list(self._seen)

    def forget(self) -> None:
        """Start afresh (before a new attempt)."""
        with self._lock:
            self._seen = []

    def describe(self) -> str:
        """The blockers in an operator's words, or why none can be named."""
        found = self.last()
        if not found:
            return "the blocking session was not seen (it ended, or the wait was too short to see)"
        return "; ".join(b.describe() for b in found)


def _poll(conn: psycopg.Connection[Any], pid: int) -> list[Blocker]:
    rows = conn.execute(_BLOCKERS, (QUERY_SHOWN, pid)).fetchall()
    return [Blocker(*row) for row in rows]


@contextmanager
def watching(
    db: DatabaseUrl, pid: int, *, interval_s: float = MAX_INTERVAL_S
) -> Iterator[BlockerWatch]:
    """Watch who blocks backend `pid` while the block runs; a watch that cannot connect is blind.

    The watch never fails the migration: if its connection breaks it stops and says nothing.
    """
    watch = BlockerWatch()
    stop = threading.Event()
    try:
        conn = db.connect(autocommit=True, application_name=APPLICATION_NAME)
    except ReleaseOpsError:
        yield watch
        return

    def loop() -> None:
        while not stop.is_set():
            try:
                watch.saw(_poll(conn, pid))
            except psycopg.Error:
                return
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, name="releaseops-blocker-watch", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(timeout=5)
        conn.close()


def interval_for(lock_timeout_s: float) -> float:
    """Poll often enough to see a wait of `lock_timeout_s` several times (10 ms .. 100 ms)."""
    return min(MAX_INTERVAL_S, max(0.01, lock_timeout_s / 5))


def seconds(duration: str) -> float:
    """A PostgreSQL duration (`5s`, `300ms`, `2min`, `1h`, bare milliseconds) in seconds."""
    text = duration.strip()
    for unit, factor in (("ms", 0.001), ("min", 60.0), ("s", 1.0), ("h", 3600.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)].strip()) * factor
    return float(text) * 0.001
