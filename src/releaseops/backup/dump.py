"""Backups: take a verified pg_dump with its manifest (listing and pruning live in catalog).

A backup is written under a hidden temporary name, hashed while pg_dump streams it, read through
by `pg_restore -f /dev/null` at the same time (the second core), and renamed to its final name only
after every check passed. An interrupted or failed run leaves nothing that looks finished. Its
manifest carries the fingerprint of the very snapshot pg_dump dumped (read concurrently, in the
exporting transaction), with sequence values taken from the dump's own SEQUENCE SET entries.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from releaseops import dburl, pg
from releaseops.backup import fingerprint, fingerprint_dump, manifest
from releaseops.backup.catalog import (
    Backup,
    file_stem,
    remove,
)
from releaseops.backup.fingerprint import Fingerprint
from releaseops.backup.manifest import Facts, Manifest, Snapshot
from releaseops.backup.verification import (
    Check,
    Verification,
    migrations_check,
    read_through_check,
    toc_check,
)
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    BackupExists,
    BackupFailed,
    BackupVerificationFailed,
    ConfigurationError,
    DatabaseUnreachable,
    ToolFailed,
)
from releaseops.pg import restoremark
from releaseops.pg.archive import CHUNK, ReadThrough, Toc, hash_tree, read_toc, tree_digest

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
    """Dump `db` into `out_dir/<db>_YYYYMMDD_HHMMSS.dump`, verified, with its manifest."""
    url = dburl.parse(db)
    level = DEFAULT_COMPRESS if compress is None else compress
    _validate_options(format, level, jobs)
    out_dir = _prepare_dir(Path(out_dir))
    final, started = _free_name(out_dir, url.dbname, format, now or _utcnow, sleep)
    temp = out_dir / f".{final.name}.partial"
    try:
        return _create(url, final, temp, format, level, jobs, started)
    except DatabaseUnreachable as exc:
        raise BackupFailed(f"backup not taken: {exc}") from None
    finally:
        remove(temp)


def _free_name(
    out_dir: Path, dbname: str, format: str, clock: Clock, sleep: Callable[[float], None]
) -> tuple[Path, datetime]:
    """The artifact name for now; a name taken in this very second waits for the next one."""
    for _ in range(NAME_ATTEMPTS):
        started = clock().astimezone(UTC)
        final = out_dir / f"{file_stem(dbname)}_{started:%Y%m%d_%H%M%S}{SUFFIXES[format]}"
        if not (final.exists() or manifest.sidecar(final).exists()):
            return final, started
        # The name has one-second resolution (the checklist's format): two backups in the
        # same second, as in a quick rehearsal, take the next second instead of failing.
        sleep(1.0 - started.microsecond / 1_000_000 + 0.01)
    raise BackupExists(
        f"{final} already exists; nothing was overwritten. Wait a second and run the backup "
        f"again, or choose another --out-dir."
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


def _prepare_dir(out_dir: Path) -> Path:
    if not out_dir.exists():
        out_dir.mkdir(parents=True, mode=0o700)
        out_dir.chmod(0o700)
    return out_dir


def _create(
    url: DatabaseUrl,
    final: Path,
    temp: Path,
    format: str,
    level: int,
    jobs: int,
    started: datetime,
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
            digest, size, files, streamed = _dump_custom(tool, url, extra, temp)
        else:
            digest, size, files, streamed = _dump_directory(tool, url, extra, jobs, temp)
        facts = snap.facts()
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
    manifest_path = manifest.write(final, found)
    _publish(temp, final)
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


def _dump_custom(
    tool: pg.Tool, url: DatabaseUrl, extra: list[str], temp: Path
) -> tuple[str, int, dict[str, str], Check]:
    """Stream pg_dump's stdout into the file, the hash and pg_restore at once (one pass)."""
    argv = pg.build_argv(tool, ["--format=custom", *extra], url)
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as err, ReadThrough() as checker:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=pg.child_env(url))
        try:
            assert proc.stdout is not None
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb", buffering=0) as out:
                while chunk := proc.stdout.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    checker.feed(chunk)
                    size += len(chunk)
                os.fsync(out.fileno())
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        streamed = read_through_check(*checker.finish())
        if code != 0:
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
            failure = pg.failure("pg_dump", code, stderr, argv)
            raise BackupFailed(f"backup not taken: {failure}")
    return digest.hexdigest(), size, {}, streamed


def _dump_directory(
    tool: pg.Tool, url: DatabaseUrl, extra: list[str], jobs: int, temp: Path
) -> tuple[str, int, dict[str, str], Check]:
    """pg_dump -Fd (parallel when asked); then hash its files while pg_restore reads them."""
    args = ["--format=directory", f"--jobs={jobs}", f"--file={temp}", *extra]
    proc = pg.run(tool.name, args, db=url, check=False)
    if proc.returncode != 0:
        failure = pg.failure("pg_dump", proc.returncode, proc.stderr, [str(tool.path), *args])
        raise BackupFailed(f"backup not taken: {failure}")
    temp.chmod(0o700)
    for path in temp.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    with ReadThrough("directory", temp) as checker:
        files, size = hash_tree(temp)
        streamed = read_through_check(*checker.finish())
    return tree_digest(files), size, files, streamed


def _publish(temp: Path, final: Path) -> None:
    """Give the finished dump its final name without ever replacing an existing one."""
    if temp.is_dir():
        temp.rename(final)
    else:
        os.link(temp, final)
        temp.unlink()
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
