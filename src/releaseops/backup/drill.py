"""The restore drill: back up, recreate a drill database, restore, compare with the source."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from releaseops import backup, dburl
from releaseops.backup import manifest, restore
from releaseops.dburl import DatabaseUrl, is_safe_identifier
from releaseops.errors import DrillError, DrillNameRefused, DrillTargetIsSource
from releaseops.pg.scratch import create_database, drop_database

SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1"})
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# An order-independent content hash: the sum of a 64-bit hash of each row's text form. It streams
# (no sort, no 1 GB string limit) and is the same for a table and its restored copy.
_TABLE_SQL = "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM {} AS t"
T = TypeVar("T")


@dataclass(frozen=True)
class TableState:
    """Row count and content hash of one table."""

    rows: int
    content: str


@dataclass(frozen=True)
class Fingerprint:
    """What a comparison looks at in one database, read in one snapshot."""

    migrations: list[dict[str, Any]] | None
    tables: dict[str, TableState]


def fingerprint(db: DatabaseUrl) -> Fingerprint:
    """schema_migrations rows and every table's row count and content hash (read-only)."""
    try:
        return _fingerprint(db)
    except psycopg.Error as exc:
        raise DrillError(
            f"could not read {db.masked()} for the comparison: {dburl.mask(str(exc)).strip()}. "
            f"The comparing role needs SELECT on every table."
        ) from exc


def _fingerprint(db: DatabaseUrl) -> Fingerprint:
    # Pin what changes the text form of values: a database-level TimeZone or DateStyle is not
    # carried by pg_dump, and would otherwise make equal timestamps hash differently.
    with db.connect(options="-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        migrations = _migration_rows(conn)
        tables: dict[str, TableState] = {}
        for schema, name in manifest.tables(conn):
            ident = sql.Identifier(schema, name)
            row = conn.execute(sql.SQL(_TABLE_SQL).format(ident)).fetchone()
            assert row is not None
            tables[manifest.qualified(schema, name)] = TableState(int(row[0]), str(row[1]))
        conn.rollback()
    return Fingerprint(migrations, tables)


def _migration_rows(conn: psycopg.Connection[Any]) -> list[dict[str, Any]] | None:
    if manifest.migrations(conn) is None:
        return None
    query = sql.SQL("SELECT to_jsonb(m) FROM {} AS m ORDER BY version").format(
        sql.Identifier(manifest.MIGRATIONS_TABLE)
    )
    return [dict(row[0]) for row in conn.execute(query).fetchall()]


@dataclass(frozen=True)
class Comparison:
    """Source against drill copy: equal, or the differences keyed by table."""

    source: str
    drill: str
    differences: dict[str, str]
    tables: dict[str, TableState] = field(default_factory=dict)
    migrations: int = 0

    @property
    def is_equal(self) -> bool:
        """True when schema_migrations, the table set, row counts and content all match."""
        return not self.differences

    def explain(self) -> str:
        """One line per differing table, or a one-line summary when equal."""
        if self.is_equal:
            rows = sum(t.rows for t in self.tables.values())
            return (
                f"{self.drill} equals {self.source}: {len(self.tables)} tables, {rows} rows, "
                f"{self.migrations} schema_migrations rows"
            )
        lines = [f"{self.drill} differs from {self.source}:"]
        lines += [f"  {table}: {why}" for table, why in sorted(self.differences.items())]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "source": self.source,
            "drill": self.drill,
            "equal": self.is_equal,
            "differences": dict(sorted(self.differences.items())),
            "tables": {k: {"rows": v.rows, "content": v.content} for k, v in self.tables.items()},
            "migrations": self.migrations,
        }


def compare(source: DatabaseUrl, drill: DatabaseUrl) -> Comparison:
    """Compare the drill copy with the source; both are read at once, in parallel."""
    source, drill = dburl.parse(source), dburl.parse(drill)
    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs = pool.submit(fingerprint, source)
        ours = pool.submit(fingerprint, drill)
        return _diff(source, drill, theirs.result(), ours.result())


def _diff(source: DatabaseUrl, drill: DatabaseUrl, a: Fingerprint, b: Fingerprint) -> Comparison:
    differences: dict[str, str] = {}
    for table in sorted(a.tables.keys() | b.tables.keys()):
        if table not in b.tables:
            differences[table] = "missing from the drill copy"
        elif table not in a.tables:
            differences[table] = "in the drill copy but not in the source"
        elif a.tables[table].rows != b.tables[table].rows:
            differences[table] = (
                f"{a.tables[table].rows} rows in the source, {b.tables[table].rows} in the drill"
            )
        elif a.tables[table].content != b.tables[table].content:
            differences[table] = (
                f"same row count ({a.tables[table].rows}) but the content differs "
                f"(at least one row changed)"
            )
    if a.migrations != b.migrations:
        differences[manifest.MIGRATIONS_TABLE] = _migrations_difference(a, b)
    return Comparison(
        source=source.masked(),
        drill=drill.masked(),
        differences=differences,
        tables=a.tables,
        migrations=len(a.migrations or []),
    )


def _migrations_difference(a: Fingerprint, b: Fingerprint) -> str:
    if a.migrations is None or b.migrations is None:
        where = "source" if a.migrations is None else "drill copy"
        return f"no schema_migrations table in the {where}"
    versions_a = [m.get("version") for m in a.migrations]
    versions_b = [m.get("version") for m in b.migrations]
    if versions_a != versions_b:
        only_a = sorted(set(map(str, versions_a)) - set(map(str, versions_b)))
        only_b = sorted(set(map(str, versions_b)) - set(map(str, versions_a)))
        return f"applied versions differ (only in source: {only_a}; only in drill: {only_b})"
    pairs = zip(a.migrations, b.migrations, strict=True)
    changed = [str(x.get("version")) for x, y in pairs if x != y]
    return f"rows differ for versions {changed} (checksum, applied_at or other columns)"


def recreate_database(admin: DatabaseUrl, name: str, *, source: DatabaseUrl) -> DatabaseUrl:
    """DROP DATABASE IF EXISTS + CREATE DATABASE `name` through `admin`; returns its URL."""
    admin, source = dburl.parse(admin), dburl.parse(source)
    if not is_safe_identifier(name):
        raise DrillNameRefused(
            f"refusing drill database name {name!r}: use only letters, digits, _ . - "
            f"(at most 63 characters); set DRILL_DB_NAME to a plain name like exam_restore_drill"
        )
    if name in SYSTEM_DATABASES:
        raise DrillNameRefused(
            f"refusing to use {name!r} as the drill database: it is a PostgreSQL system "
            f"database. Set DRILL_DB_NAME to a dedicated name such as exam_restore_drill."
        )
    if name == source.dbname and same_server(admin, source):
        raise DrillTargetIsSource(
            f"the drill database {name!r} is the source database on {source.masked()}: the drill "
            f"would drop it. Set DRILL_DB_NAME to a dedicated name such as {name}_restore_drill."
        )
    drop_database(admin, name)
    return create_database(admin, name)


def same_server(a: DatabaseUrl, b: DatabaseUrl) -> bool:
    """True when both URLs name one server (every loopback spelling counts as the same host)."""

    def host(url: DatabaseUrl) -> str:
        name = url.host.lower().strip("[]")
        return "loopback" if name in _LOOPBACK else name

    return (host(a), a.port) == (host(b), b.port)


@dataclass(frozen=True)
class DrillReport:
    """Every step of one drill with its duration, and the comparison that decides it."""

    backup: backup.Backup
    restore: restore.RestoreReport
    comparison: Comparison
    steps: dict[str, float]

    @property
    def is_equal(self) -> bool:
        """True when the restored copy matches the source."""
        return self.comparison.is_equal

    @property
    def duration_s(self) -> float:
        """Wall time of the whole drill."""
        return sum(self.steps.values())

    def lines(self) -> list[str]:
        """Human-readable summary, one line per step, then the comparison."""
        out = [f"drill of {self.comparison.source} into {self.comparison.drill}"]
        out += [f"  {step:<10} {seconds:8.2f} s" for step, seconds in self.steps.items()]
        out.append(f"  total      {self.duration_s:8.2f} s")
        return [*out, self.comparison.explain()]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "backup": self.backup.as_dict(),
            "restore": self.restore.as_dict(),
            "comparison": self.comparison.as_dict(),
            "steps": {k: round(v, 3) for k, v in self.steps.items()},
            "duration_s": round(self.duration_s, 3),
            "equal": self.is_equal,
        }


def _timed(steps: dict[str, float], name: str, call: Callable[[], T]) -> T:
    start = time.perf_counter()
    try:
        return call()
    finally:
        steps[name] = time.perf_counter() - start


def run(
    source: DatabaseUrl,
    admin: DatabaseUrl,
    drill_name: str,
    backup_dir: Path,
    *,
    jobs: int = 2,
    compress: int | None = None,
) -> DrillReport:
    """Recreate the drill database, back up (verified while streaming), restore, compare.

    The name checks run first, before the long backup. The source is fingerprinted while the
    restore runs: the two touch different databases, and a drill needs a quiet source anyway.
    """
    source, admin = dburl.parse(source), dburl.parse(admin)
    steps: dict[str, float] = {}
    target = _timed(steps, "recreate", lambda: recreate_database(admin, drill_name, source=source))
    made = _timed(
        steps, "backup", lambda: backup.create(source, Path(backup_dir), compress=compress)
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs: Future[Fingerprint] = pool.submit(fingerprint, source)
        restored = _timed(
            steps,
            "restore",
            lambda: restore.restore(target, made.path, confirm_db=drill_name, jobs=jobs),
        )
        comparison = _timed(
            steps, "compare", lambda: _diff(source, target, theirs.result(), fingerprint(target))
        )
    return DrillReport(backup=made, restore=restored, comparison=comparison, steps=steps)
