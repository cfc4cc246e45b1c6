"""The mark a restore leaves on its target database until it has finished.

A restore sets a database-level setting, `releaseops.restore_in_progress`, before pg_restore
starts and removes it only after success. It lives in the catalog (pg_db_role_setting), outside
every object a dump holds: `pg_restore --clean` without `--create` never touches it, a crash
does not undo it (the ALTER DATABASE committed before the restore began), and a later dump
does not carry it. Its value says which restore did not finish: when it started and which dump.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from releaseops.dburl import DatabaseUrl

SETTING = "releaseops.restore_in_progress"
_READ = (
    "SELECT setconfig FROM pg_catalog.pg_db_role_setting WHERE setrole = 0 "
    "AND setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"
)


@dataclass(frozen=True)
class RestoreMark:
    """A restore that started on this database and has not finished."""

    started_at: str
    dump: str
    sha256: str

    def describe(self) -> str:
        """`the restore of <dump> (sha256 ab12cd34ef56...) started <when> did not finish`."""
        digest = f" (sha256 {self.sha256[:12]}...)" if self.sha256 else ""
        return f"the restore of {self.dump}{digest} started {self.started_at} did not finish"

    def value(self) -> str:
        """The setting's value: the mark as JSON."""
        return json.dumps(
            {"started_at": self.started_at, "dump": self.dump, "sha256": self.sha256},
            sort_keys=True,
        )

    @classmethod
    def parse(cls, value: str) -> RestoreMark:
        """Read a value written by value(); a foreign value is shown as it stands."""
        try:
            data = json.loads(value)
            return cls(str(data["started_at"]), str(data["dump"]), str(data.get("sha256", "")))
        except (ValueError, KeyError, TypeError):
            return cls(
                started_at="at an unknown time", dump=f"an unknown dump ({value})", sha256=""
            )


def read(conn: psycopg.Connection[Any]) -> RestoreMark | None:
    """The mark on the database `conn` is connected to; None when no restore is unfinished."""
    for (config,) in conn.execute(_READ).fetchall():
        for item in config or []:
            name, _, value = str(item).partition("=")
            if name == SETTING:
                return RestoreMark.parse(value)
    return None


def _alter(conn: psycopg.Connection[Any], tail: sql.Composable) -> None:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    conn.execute(sql.SQL("ALTER DATABASE {} ").format(sql.Identifier(str(row[0]))) + tail)


def mark(db: DatabaseUrl, dump: str, sha256: str, started_at: datetime) -> RestoreMark:
    """Mark `db` as being restored from `dump` (committed before this returns)."""
    stamp = RestoreMark(started_at.isoformat(timespec="seconds"), dump, sha256)
    with db.connect(autocommit=True) as conn, conn.transaction():
        # Durable before pg_restore starts, even where commits are asynchronous.
        conn.execute("SET LOCAL synchronous_commit = on")
        _alter(
            conn,
            sql.SQL("SET {} = {}").format(sql.SQL(SETTING), sql.Literal(stamp.value())),
        )
    return stamp


def clear(db: DatabaseUrl) -> None:
    """Remove the mark: the restore finished."""
    with db.connect(autocommit=True) as conn:
        _alter(conn, sql.SQL("RESET {}").format(sql.SQL(SETTING)))


def unfinished(db: DatabaseUrl) -> RestoreMark | None:
    """The unfinished restore marked on `db`, or None; reads only."""
    with db.connect(autocommit=True) as conn:
        return read(conn)
