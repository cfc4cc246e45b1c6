"""The restore drill: back up, recreate a drill database, restore, prove it equals the dump.

The proof is the dump's own fingerprint, which its manifest recorded from the very snapshot
pg_dump dumped: the restored copy is fingerprinted and compared with it. A source that takes
writes meanwhile causes no false difference, and the source is read once (by the backup), not a
second time. A dump whose manifest has no fingerprint cannot be proven: *not verified*.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from releaseops import backup, dburl
from releaseops.backup import fingerprint, fingerprint_diff, manifest, restore
from releaseops.backup.fingerprint_diff import FingerprintDiff
from releaseops.dburl import DatabaseUrl, is_safe_identifier
from releaseops.errors import (
    DrillNameRefused,
    DrillTargetIsSource,
    FingerprintFileInvalid,
)
from releaseops.pg.scratch import create_database, drop_database

SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1"})
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# Session settings for pg_restore on the throwaway drill database (bench/README.md): index
# builds sort in memory (and have room for parallel workers), commits do not wait for WAL.
RESTORE_SETTINGS = {"maintenance_work_mem": "512MB", "synchronous_commit": "off"}
# Measured at 1 GB on 2 cores (bench/README.md): one pg_restore job was as fast as two or faster;
# a CREATE INDEX on a big table already uses parallel workers, so a second job only competes.
DEFAULT_JOBS = 1
T = TypeVar("T")


@dataclass(frozen=True)
class Comparison:
    """The drill copy against what it must equal; `diff` is None when nothing could be compared."""

    source: str
    drill: str
    diff: FingerprintDiff | None
    reason: str = ""

    @property
    def is_verified(self) -> bool:
        """True when a comparison took place (a fingerprint to compare with existed)."""
        return self.diff is not None

    @property
    def is_equal(self) -> bool:
        """True when compared and nothing differs."""
        return self.diff is not None and self.diff.is_equal

    @property
    def differences(self) -> list[str]:
        """One line per difference."""
        if self.diff is None:
            return []
        return [d.explain(self.diff.a_label, self.diff.b_label) for d in self.diff.differences]

    def explain(self) -> str:
        """Why it is not verified, or the comparison's lines."""
        if self.diff is None:
            return f"not verified: {self.reason}"
        return self.diff.explain()

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "source": self.source,
            "drill": self.drill,
            "verified": self.is_verified,
            "equal": self.is_equal,
            "reason": self.reason,
            "diff": self.diff.as_dict() if self.diff is not None else None,
        }


def compare(source: DatabaseUrl | str, drill: DatabaseUrl | str) -> Comparison:
    """Compare two live databases (both fingerprinted at once, in parallel)."""
    source, drill = dburl.parse(source), dburl.parse(drill)
    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs = pool.submit(fingerprint.take, source, workers=1)
        ours = pool.submit(fingerprint.take, drill, workers=1)
        found = fingerprint_diff.diff(
            theirs.result(), ours.result(), a_label="the source", b_label="the drill copy"
        )
    return Comparison(source.masked(), drill.masked(), found)


def compare_with_dump(dump: Path, drill: DatabaseUrl | str) -> Comparison:
    """Compare the restored copy with the fingerprint the dump's manifest recorded."""
    dump, drill = Path(dump), dburl.parse(drill)
    label = f"the dump {dump.name}"
    try:
        recorded = manifest.load(dump)
        expected = recorded.dump_fingerprint()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = f"cannot read the fingerprint in the manifest of {dump}: {exc}"
        if isinstance(exc, FingerprintFileInvalid):
            reason = str(exc)
        return Comparison(label, drill.masked(), None, reason)
    if expected is None:
        return Comparison(label, drill.masked(), None, no_fingerprint(dump, recorded))
    actual = fingerprint.take(
        drill, owners=expected.options.owners, content_mode=expected.options.content
    )
    found = fingerprint_diff.diff(expected, actual, a_label=label, b_label="the drill copy")
    return Comparison(label, drill.masked(), found)


def no_fingerprint(dump: Path, recorded: manifest.Manifest) -> str:
    """Why a dump without a recorded fingerprint cannot prove a restore."""
    return (
        f"{dump.name} records no fingerprint (manifest version {recorded.manifest_version}, "
        f"written before backups recorded one), so the restored copy cannot be proven equal "
        f"to what was dumped. Take a new backup (python scripts/backup_postgres.py) and run "
        f"the drill on it."
    )


def restore_url(url: DatabaseUrl) -> DatabaseUrl:
    """`url` with RESTORE_SETTINGS in its libpq options, for pg_restore on a throwaway copy."""
    settings = " ".join(f"-c {k}={v}" for k, v in RESTORE_SETTINGS.items())
    params = dict(url.params)
    params["options"] = f"{params['options']} {settings}" if "options" in params else settings
    return replace(url, params=tuple(params.items()))


def restore_into(
    copy: DatabaseUrl,
    dump: Path,
    *,
    source: DatabaseUrl,
    allow_cross_server: bool = False,
    jobs: int = DEFAULT_JOBS,
) -> restore.RestoreReport:
    """Restore `dump`, a dump of `source`, into the recreated drill copy `copy`.

    With RESTORE_SETTINGS; a dump of another server or database is refused unless
    `allow_cross_server`.
    """
    return restore.restore(
        restore_url(copy),
        dump,
        confirm_db=copy.dbname,
        jobs=jobs,
        origin=source.dbname,
        allow_cross_server=allow_cross_server,
    )


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
        """True when the restored copy matches the dump's fingerprint."""
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
    jobs: int = DEFAULT_JOBS,
    compress: int | None = None,
    allow_cross_server: bool = False,
) -> DrillReport:
    """Recreate the drill database, back up (fingerprint recorded), restore, compare with it.

    The restore refuses the dump when the drill database is on another server than the
    source, unless `allow_cross_server`.

    The name checks run first, before the long backup. The restore runs with RESTORE_SETTINGS;
    the comparison reads only the drill copy, against the fingerprint in the dump's manifest.
    """
    source, admin = dburl.parse(source), dburl.parse(admin)
    steps: dict[str, float] = {}
    target = _timed(steps, "recreate", lambda: recreate_database(admin, drill_name, source=source))
    made = _timed(
        steps, "backup", lambda: backup.create(source, Path(backup_dir), compress=compress)
    )
    restored = _timed(
        steps,
        "restore",
        lambda: restore_into(
            target, made.path, source=source, allow_cross_server=allow_cross_server, jobs=jobs
        ),
    )
    comparison = _timed(steps, "compare", lambda: compare_with_dump(made.path, target))
    return DrillReport(backup=made, restore=restored, comparison=comparison, steps=steps)
