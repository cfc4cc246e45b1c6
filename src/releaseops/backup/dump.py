"""Backups: take a verified pg_dump with its manifest (listing and pruning live in catalog).

A backup is written under a hidden temporary name, hashed while pg_dump streams it, read through
by `pg_restore -f /dev/null` at the same time (the second core), and renamed to its final name only
after every check passed. An interrupted or failed run leaves nothing that looks finished. Its
manifest carries the fingerprint of the very snapshot pg_dump dumped (read concurrently, in the
exporting transaction), with sequence values taken from the dump's own SEQUENCE SET entries.
The directory must be the caller's own and writable by nobody else; every file is created in it
relative to its descriptor, never through a link, and what killed backups left there is removed
first (`backup.safefiles`, `backup.leftovers`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from releaseops import dburl, pg
from releaseops.backup import dumpfiles, fingerprint, fingerprint_dump, leftovers, manifest
from releaseops.backup.catalog import Backup, file_stem
from releaseops.backup.dumpfiles import InProgress
from releaseops.backup.fingerprint import Fingerprint
from releaseops.backup.manifest import Facts, Manifest, Snapshot
from releaseops.backup.safefiles import SafeDir
from releaseops.backup.verification import (
    Check,
    Verification,
    migrations_check,
    toc_check,
)
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    BackupDirectoryUnsafe,
    BackupExists,
    BackupFailed,
    BackupVerificationFailed,
    ConfigurationError,
    DatabaseUnreachable,
    ToolFailed,
)
from releaseops.pg import restoremark
from releaseops.pg.archive import Toc, read_toc

# Level 1 took 0.40x the time of pg_dump's default level 6 for 12.8% more bytes (bench/README.md).
DEFAULT_COMPRESS = 1
SUFFIXES = {"custom": ".dump", "directory": ".dumpdir"}

Clock = Callable[[], datetime]
NAME_ATTEMPTS = 3


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create(
    db: DatabaseUrl | str,
    out_dir: Path,
    *,
    format: str = "custom",
    compress: int | None = None,
    jobs: int = 1,
    now: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Backup:
    """Dump `db` into `out_dir/<db>_YYYYMMDD_HHMMSS.dump`, verified, with its manifest.

    `out_dir` (made 0700 when missing) must be the caller's own and writable by nobody else,
    else BackupDirectoryUnsafe. What killed backups left in it is removed first: `removed`.
    """
    url = dburl.parse(db)
    level = DEFAULT_COMPRESS if compress is None else compress
    _validate_options(format, level, jobs)
    with _open(Path(out_dir)) as directory:
        removed = tuple(leftovers.clean(directory))
        work, started = _reserve(directory, url.dbname, format, now or _utcnow, sleep)
        try:
            made = _create(url, work, format, level, jobs, started)
        except DatabaseUnreachable as exc:
            raise BackupFailed(f"backup not taken: {exc}") from None
        finally:
            work.discard()
    return replace(made, removed=removed)


def _open(out_dir: Path) -> SafeDir:
    """The backup directory, made 0700 when missing; refused when others could write into it."""
    try:
        return SafeDir.open(out_dir, create=True)
    except BackupDirectoryUnsafe as exc:
        raise BackupDirectoryUnsafe(
            f"backup not taken: {exc}", path=exc.path, problems=exc.problems, fixes=exc.fixes
        ) from None


def _reserve(
    directory: SafeDir, dbname: str, format: str, clock: Clock, sleep: Callable[[float], None]
) -> tuple[InProgress, datetime]:
    """Claim the name for now by creating its held temporary; a taken name waits a second."""
    for _ in range(NAME_ATTEMPTS):
        started = clock().astimezone(UTC)
        final = f"{file_stem(dbname)}_{started:%Y%m%d_%H%M%S}{SUFFIXES[format]}"
        temp = f".{final}.partial"
        taken = [n for n in (final, manifest.sidecar(Path(final)).name) if directory.lstat(n)]
        if not taken:
            try:
                fd = directory.new_dir(temp) if format == "directory" else directory.new_file(temp)
            except FileExistsError:  # a backup running right now took this second
                pass
            else:
                return InProgress(directory, final, temp, fd), started
        # The name has one-second resolution (the checklist's format): two backups in the
        # same second, as in a quick rehearsal, take the next second instead of failing.
        sleep(1.0 - started.microsecond / 1_000_000 + 0.01)
    raise BackupExists(
        f"{directory.path / final} already exists; nothing was overwritten. Wait a second and "
        f"run the backup again, or choose another --out-dir."
    )


def _validate_options(format: str, level: int, jobs: int) -> None:
    if format not in SUFFIXES:
        raise ConfigurationError(f"unknown backup format {format!r}: use custom or directory")
    if not 0 <= level <= 9:
        raise ConfigurationError(f"compression level {level} is out of range: use 0-9")
    if jobs < 1 or (jobs > 1 and format != "directory"):
        raise ConfigurationError(
            f"--jobs {jobs} needs --format directory (pg_dump writes a custom archive serially)"
        )


def _create(
    url: DatabaseUrl, work: InProgress, format: str, level: int, jobs: int, started: datetime
) -> Backup:
    tool = pg.find("pg_dump")
    unfinished = restoremark.unfinished(url)
    if unfinished is not None:
        raise BackupFailed(
            f"backup not taken: {url.dbname} may be partly restored "
            f"({unfinished.describe()}); a dump of it is not a known-good backup. Run that "
            f"restore again first."
        )
    with Snapshot(url) as snap:
        pg.require_at_least(tool, snap.server_major)
        extra = [f"--compress={level}", f"--snapshot={snap.snapshot_id}"]
        if format == "custom":
            digest, size, files, streamed = dumpfiles.stream_custom(tool, url, extra, work.fd)
        else:
            digest, size, files, streamed = dumpfiles.dump_directory(tool, url, extra, jobs, work)
        facts = snap.facts()
    temp, final = work.temp_path, work.final_path
    toc = read_toc(temp)
    found = Manifest(
        file=final.name,
        format=format,
        sha256=digest,
        size=size,
        dbname=url.dbname,
        server=url.masked(),
        server_version=snap.server_version,
        pg_dump_version=tool.version,
        compress=level,
        started_at=started.isoformat(),
        finished_at=_utcnow().isoformat(),
        files=files,
        read_through_passed=streamed.passed,
        toc_entries=len(toc.entries),
        **_snapshot_fields(facts, temp, toc),
    )
    checks = _creation_checks(found, toc, streamed)
    verification = Verification(final, checks, found, toc)
    if not verification.is_verified:
        raise BackupVerificationFailed(
            f"the new backup failed verification and was discarded: {verification.explain()}"
        )
    manifest_path = manifest.write(final, found, directory=work.directory)
    dumpfiles.publish(work, is_dir=format == "directory")
    backup = Backup.from_manifest(final, found)
    return replace(backup, manifest_path=manifest_path, verification=verification)


def _snapshot_fields(facts: Facts, temp: Path, toc: Toc) -> dict[str, Any]:
    """The manifest fields read in the dumped snapshot."""
    return {
        "migrations_present": facts.migrations is not None,
        "migrations": facts.migrations or [],
        "row_counts": facts.row_counts,
        "snapshot_at": facts.snapshot_at,
        "system_identifier": facts.system_identifier,
        "system_identifier_note": facts.system_identifier_note,
        "fingerprint": _dumped_fingerprint(facts.fingerprint, temp, toc).as_dict(),
    }


def _dumped_fingerprint(found: Fingerprint, temp: Path, toc: Toc) -> Fingerprint:
    """The snapshot's fingerprint with sequence values as the dump will set them."""
    if not toc.ok:
        return found  # the verification fails on the listing and discards the dump
    try:
        values = fingerprint_dump.sequence_values(temp, toc.entries)
    except ToolFailed as exc:
        raise BackupFailed(f"backup not taken: reading its sequence values failed: {exc}") from exc
    return fingerprint.with_sequences(found, values)


def _creation_checks(found: Manifest, toc: Toc, streamed: Check) -> list[Check]:
    return [
        Check.ok("present", "written under a temporary name"),
        Check.ok("manifest", "written next to the dump"),
        Check.ok("size", f"{found.size} bytes counted while streaming"),
        Check.ok("checksum", f"sha256 {found.sha256} computed while streaming"),
        toc_check(toc),
        migrations_check(found, toc),
        streamed,
    ]
