"""Restore a verified dump into a confirmed target database; "errors ignored" is a failure.

Order: the confirmation, then whether the local pg_restore can read the archive and is not older
than the target server, then the dump's verification, then the checklist's
`pg_restore --clean --if-exists --no-owner --no-privileges`. Right before pg_restore starts, the
target is marked as being restored (`pg.restoremark`: which dump, since when), and the mark is
removed only once the restore has finished, so a database a crash or a kill left half restored
never looks finished: `unfinished()` names the restore, and the migration runner, preflight and
the checks refuse such a database.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from releaseops import dburl, pg
from releaseops.backup.catalog import origin_problem
from releaseops.backup.extras import drop_extras
from releaseops.backup.verification import Verification, verify
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    ArchiveVersionUnsupported,
    BackupNotFound,
    ConfigurationError,
    DumpFromNewerServer,
    DumpNotVerified,
    DumpOfAnotherDatabase,
    RestoreFailed,
    RestoreNotConfirmed,
)
from releaseops.pg import identity, restoremark
from releaseops.pg.archive import read_toc

# Newest archive version each pg_restore major reads (K_VERS_* in pg_backup_archiver.h):
# 1.14 from PostgreSQL 12, 1.15 from 16 (compression algorithm), 1.16 from 17 (blob metadata).
_ARCHIVE_SUPPORT = ((17, (1, 16)), (16, (1, 15)), (12, (1, 14)), (11, (1, 13)), (0, (1, 12)))
_MAGIC = b"PGDMP"
_IGNORED = re.compile(r"errors ignored on restore:\s*(\d+)")


@dataclass(frozen=True)
class ArchiveHeader:
    """The version triple at the start of a custom or directory archive."""

    major: int
    minor: int
    rev: int

    @property
    def text(self) -> str:
        """The version as pg_restore prints it (`1.14-0`)."""
        return f"{self.major}.{self.minor}-{self.rev}"


def read_header(dump: Path) -> ArchiveHeader | None:
    """The archive version of a custom file or directory dump; None when it is not an archive."""
    source = dump / "toc.dat" if dump.is_dir() else dump
    try:
        with source.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if len(head) < 8 or not head.startswith(_MAGIC):
        return None
    return ArchiveHeader(head[5], head[6], head[7])


def newest_readable(tool_major: int) -> tuple[int, int]:
    """The newest archive version a pg_restore of `tool_major` reads."""
    return next(version for since, version in _ARCHIVE_SUPPORT if tool_major >= since)


@dataclass(frozen=True)
class RestoreReport:
    """What was restored where, how long it took (the restore time objective) and how it ended."""

    dump: Path
    target: str
    dbname: str
    started_at: datetime
    duration_s: float
    pg_restore_s: float
    jobs: int
    clean: bool
    pg_restore_version: str
    server_major: int
    archive_version: str
    sha256: str
    tables_restored: int
    toc_entries: int
    verification: Verification = field(compare=False, repr=False)
    pruned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence and --json."""
        return {
            "dump": str(self.dump),
            "target": self.target,
            "dbname": self.dbname,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "pg_restore_s": round(self.pg_restore_s, 3),
            "jobs": self.jobs,
            "clean": self.clean,
            "pg_restore_version": self.pg_restore_version,
            "server_major": self.server_major,
            "archive_version": self.archive_version,
            "sha256": self.sha256,
            "tables_restored": self.tables_restored,
            "toc_entries": self.toc_entries,
            "verification": self.verification.as_dict(),
            "pruned": self.pruned,
        }

    def lines(self) -> list[str]:
        """Human-readable summary."""
        return [
            f"restored {self.dump} into {self.target}",
            f"  {self.tables_restored} tables with data, {self.toc_entries} archive entries",
            f"  took {self.duration_s:.2f} s (pg_restore {self.pg_restore_s:.2f} s, "
            f"jobs {self.jobs})",
            f"  dump sha256 {self.sha256} (verified before restore)",
            *(
                [f"  dropped what the dump does not hold: {', '.join(self.pruned)}"]
                if self.pruned
                else []
            ),
        ]


def restore(
    db: DatabaseUrl | str,
    dump: Path,
    *,
    confirm_db: str,
    jobs: int = 1,
    clean: bool = True,
    origin: str | None = None,
    allow_cross_server: bool = False,
    exact: bool = False,
) -> RestoreReport:
    """Replace the contents of `db` with `dump`; `confirm_db` must equal the target's name.

    `origin` names the database the dump must have been taken of: "target" for a rollback
    (the dump of this very database on this very server), or a database name on the target's
    server (a drill restores the source's dump into its scratch copy). A dump of another
    server or database is refused unless `allow_cross_server`. With `exact`, objects the dump
    does not hold (a table or extension the release created) are dropped afterwards, so the
    database equals the dump's recorded fingerprint (see backup.extras).
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    url = dburl.parse(db)
    dump = Path(dump)
    if not dump.exists():
        raise BackupNotFound(
            f"{dump} does not exist; list the backups with ls -lt {dump.parent}/ "
            f"(or python scripts/backup_postgres.py --rollback-candidate)"
        )
    _require_confirmation(url, confirm_db)
    if jobs < 1:
        raise ConfigurationError(f"--jobs {jobs} is not a positive number")
    # The checksum pass reads the whole dump; it runs while the tools and the server are asked
    # for their versions, and its verdict is only looked at after those checks passed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        checking = pool.submit(verify, dump, full=False)
        tool = pg.find("pg_restore")
        server = pg.server_major(url)
        pg.require_at_least(tool, server)
        header = _require_readable(tool, dump)
        verification = checking.result()
    if not verification.is_verified:
        raise DumpNotVerified(f"refusing to restore an unverified dump: {verification.explain()}")
    if verification.manifest is not None and verification.manifest.server_major > server:
        raise DumpFromNewerServer(
            f"{dump} was taken from PostgreSQL {verification.manifest.server_major}, but "
            f"{url.masked()} runs {server}: settings and syntax of the newer server would fail. "
            f"Restore into a server of major {verification.manifest.server_major} or newer."
        )
    if origin is not None and not allow_cross_server and verification.manifest is not None:
        expected = url.dbname if origin == "target" else origin
        server_id = identity.probe(url).system_identifier
        problem = origin_problem(verification.manifest, expected, server_id)
        if problem is not None:
            raise DumpOfAnotherDatabase.refusing(dump, problem)
    toc = verification.toc or read_toc(dump)
    restore_clock = time.perf_counter()
    sha256 = verification.manifest.sha256 if verification.manifest else ""
    _mark(url, dump, sha256, started)
    _run_pg_restore(url, dump, jobs=jobs, clean=clean)
    recorded = verification.manifest.dump_fingerprint() if verification.manifest else None
    pruned = drop_extras(url, recorded) if exact and recorded is not None else []
    restoremark.clear(url)
    finished = time.perf_counter()
    return RestoreReport(
        dump=dump,
        target=url.masked(),
        dbname=url.dbname,
        started_at=started,
        duration_s=finished - clock,
        pg_restore_s=finished - restore_clock,
        jobs=jobs,
        clean=clean,
        pg_restore_version=tool.version,
        server_major=server,
        archive_version=header.text,
        sha256=sha256,
        tables_restored=sum(1 for e in toc.entries if " TABLE DATA " in e),
        toc_entries=len(toc.entries),
        verification=verification,
        pruned=pruned,
    )


def unfinished(db: DatabaseUrl | str) -> str | None:
    """The unfinished restore marked on `db`, in words; None when there is none. Reads only.

    The words name the dump and when the restore started: "the restore of <dump> (sha256
    <first 12>...) started <when> did not finish".
    """
    found = restoremark.unfinished(dburl.parse(db))
    return found.describe() if found is not None else None


def _mark(url: DatabaseUrl, dump: Path, sha256: str, started: datetime) -> None:
    try:
        restoremark.mark(url, str(dump.absolute()), sha256, started)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise RestoreFailed(
            f"cannot mark {url.masked()} as being restored before pg_restore starts "
            f"({exc.diag.message_primary}): nothing was changed. Restore as the owner of "
            f"database {url.dbname!r} (or a superuser)"
        ) from None


def _require_confirmation(url: DatabaseUrl, confirm_db: str) -> None:
    if confirm_db != url.dbname:
        given = f"--confirm-db was {confirm_db!r}" if confirm_db else "no --confirm-db was given"
        raise RestoreNotConfirmed(
            f"restore replaces every object in database {url.dbname!r} ({url.masked()}), and "
            f"{given}. Pass --confirm-db {url.dbname} to confirm this target."
        )


def _require_readable(tool: pg.Tool, dump: Path) -> ArchiveHeader:
    header = read_header(dump)
    if header is None:
        raise DumpNotVerified(
            f"{dump} is not a pg_dump custom or directory archive (no PGDMP header); "
            f"plain SQL dumps are restored with psql, not this command"
        )
    readable = newest_readable(tool.major)
    if (header.major, header.minor) > readable:
        raise ArchiveVersionUnsupported(
            f"{dump} has archive version {header.text}, but {tool.path} (PostgreSQL "
            f"{tool.major}) reads up to {readable[0]}.{readable[1]}. Install the pg_restore of "
            f"the PostgreSQL version that wrote the dump, or set PG_BINDIR to it."
        )
    return header


def _run_pg_restore(url: DatabaseUrl, dump: Path, *, jobs: int, clean: bool) -> None:
    args = ["--clean", "--if-exists"] if clean else []
    args += ["--no-owner", "--no-privileges", f"--jobs={jobs}", str(dump)]
    proc = pg.run("pg_restore", args, db=url, check=False)
    ignored = _IGNORED.search(proc.stderr)
    if proc.returncode == 0 and not ignored:
        return
    tool_error = pg.failure("pg_restore", proc.returncode, proc.stderr, args)
    count = f"{ignored.group(1)} errors ignored on restore; " if ignored else ""
    raise RestoreFailed(
        f"restore of {dump} into {url.masked()} failed: {count}{tool_error}. The target may be "
        f"partly restored and stays marked so: fix the cause and run the restore again before "
        f"reopening writes."
    )
