"""The advisory lock that serialises migration runners on one database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from releaseops.errors import MigrationLockTimeout

# A fixed 64-bit key: every releaseops runner on a database, from any host, contends for it
# (advisory locks are per database, so runners on other databases of the cluster do not wait).
LOCK_KEY = 0x7265_6C6F_7073_6D67  # "relopsmg"
POLL_INTERVAL_S = 0.2

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def holder(conn: psycopg.Connection[Any]) -> str | None:
    """Who holds the lock now: pid, user, application and since when (None when free)."""
    row = conn.execute(
        """
        SELECT a.pid, a.usename, a.application_name, a.client_addr, a.backend_start
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = ((%(key)s >> 32) & 4294967295)::oid
          AND l.objid = (%(key)s & 4294967295)::oid AND l.objsubid = 1
        LIMIT 1
        """,
        {"key": LOCK_KEY},
    ).fetchone()
    if row is None:
        return None
    pid, user, app, addr, since = row
    where = f" from {addr}" if addr else ""
    return f"pid {pid} (user {user}, application {app or '?'}{where}, connected since {since})"


def try_acquire(conn: psycopg.Connection[Any]) -> bool:
    """Take the session-level lock if it is free."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def release(conn: psycopg.Connection[Any]) -> None:
    """Give the lock back (closing the session does too)."""
    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


@contextmanager
def held(
    conn: psycopg.Connection[Any],
    wait_s: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Iterator[None]:
    """Hold the migration lock inside the block; wait up to `wait_s`, then MigrationLockTimeout."""
    deadline = clock() + wait_s
    while not try_acquire(conn):
        if clock() >= deadline:
            who = holder(conn)
            raise MigrationLockTimeout(
                f"another migration runner holds the lock ({who or 'holder already gone'}); "
                f"waited {wait_s:g} s. Let it finish and run again, or raise --lock-wait",
                waited_s=wait_s,
                holder=who,
            )
        sleep(min(POLL_INTERVAL_S, max(deadline - clock(), 0.0)))
    try:
        yield
    finally:
        if not conn.closed:
            release(conn)
