"""Take a verified backup of --db: <db>_YYYYMMDD_HHMMSS.dump plus a JSON manifest next to it.

The dump goes into backups/ under the current directory ($BACKUP_DIR or --out-dir override). It
is written under a temporary name, hashed (sha256) while pg_dump streams it, read through to the
end by pg_restore at the same time, and renamed only when every check passed; files are 0600,
a directory this command creates is 0700. The first line printed is the path of the dump.

Other modes:
  --verify FILE          check an existing dump: present, checksum, pg_restore --list,
                         schema_migrations data, full read-through (no database needed)
  --rollback-candidate   print the newest verified backup of --db's database taken on
                         --db's own server (a same-named dump of another server is never
                         offered; --before ISO-TIME: the newest taken before that time)
  --keep N               after a successful backup, delete older verified backups of the same
                         database, keeping the N newest verified ones (never the newest)

Exit codes:
  0   done (verified)
  2   usage or configuration error
  3   database unreachable (refused, wrong password, or the connection was lost)
  4   pg_dump/pg_restore missing or older than the server
  20  backup failed: pg_dump failed, the disk is full, or --out-dir cannot be written
      (nothing finished-looking was left behind)
  21  verification failed
  22  the dump to verify does not exist
  23  no verified rollback candidate
  130 interrupted (Ctrl-C or SIGTERM); the temporary file was removed
  141 stdout was closed early (e.g. | head); the backup itself was written and verified

Example:  python scripts/backup_postgres.py --db "$DATABASE_URL"
     or:  releaseops backup --db "$DATABASE_URL"
"""

from __future__ import annotations

import argparse
import errno
import os
from datetime import datetime
from pathlib import Path

from releaseops import backup, cli
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    BackupFailed,
    BackupNotFound,
    BackupVerificationFailed,
    ReleaseOpsError,
)
from releaseops.pg import identity

VERIFY_FAILED_EXIT = BackupVerificationFailed.exit_code
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, db=True, json_output=True)
    p.add_argument(
        "--out-dir",
        type=Path,
        default=Path(os.environ.get("BACKUP_DIR") or "backups"),
        help="where backups go (default: $BACKUP_DIR, else backups/ in the current directory)",
    )
    p.add_argument("--format", choices=sorted(backup.SUFFIXES), default="custom")
    p.add_argument("--jobs", type=int, default=1, help="parallel jobs (--format directory only)")
    p.add_argument(
        "--compress",
        type=int,
        default=backup.DEFAULT_COMPRESS,
        help=f"pg_dump compression level 0-9 (default {backup.DEFAULT_COMPRESS}: fastest gzip)",
    )
    p.add_argument("--keep", type=int, metavar="N", help="prune to the N newest verified backups")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--verify", type=Path, metavar="FILE", help="verify FILE and exit")
    mode.add_argument("--rollback-candidate", action="store_true", help="print it and exit")
    p.add_argument("--before", type=datetime.fromisoformat, help="with --rollback-candidate")
    return p


def _verify(args: argparse.Namespace) -> int:
    if not args.verify.exists():
        raise BackupNotFound(
            f"{args.verify} does not exist; list the backups with ls -lt {args.verify.parent}/ "
            f"(or find the newest verified one with --rollback-candidate)"
        )
    result = backup.verify(args.verify)
    if args.json:
        cli.print_json(result.as_dict())
    elif result.is_verified:
        cli.print_lines([str(args.verify), result.explain()])
    else:
        # Never a bare path first: `... --verify F | head -1` must not look like a good dump.
        cli.print_lines([f"NOT VERIFIED: {args.verify}", result.explain()])
    return 0 if result.is_verified else VERIFY_FAILED_EXIT


def _show(args: argparse.Namespace, made: backup.Backup, extra: list[str]) -> None:
    if args.json:
        cli.print_json({**made.as_dict(), "pruned": extra})
    else:
        cli.print_lines([*made.lines(), *(f"  pruned {path}" for path in extra)])


def write_failure(out_dir: Path, exc: OSError) -> BackupFailed:
    """How an OSError while writing into `out_dir` reads: one line, exit 20."""
    if exc.errno in _DISK_FULL:
        return BackupFailed(
            f"backup not taken: no space left on the device of {out_dir} ({exc.strerror}); "
            f"the temporary files were removed. Free space there, or point --out-dir "
            f"(or BACKUP_DIR) at a disk with room for the dump"
        )
    return BackupFailed(
        f"backup not taken: cannot write into {out_dir} ({exc.strerror or exc}). Choose a "
        f"writable directory with --out-dir (or BACKUP_DIR)"
    )


def _create(args: argparse.Namespace, db: DatabaseUrl) -> backup.Backup:
    try:
        return backup.create(
            db, args.out_dir, format=args.format, compress=args.compress, jobs=args.jobs
        )
    except ReleaseOpsError:
        raise
    except OSError as exc:  # the library's own errors above include OSError subclasses
        raise write_failure(args.out_dir, exc) from exc


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    if args.verify is not None:
        return _verify(args)
    db = cli.require_db(args, p)
    if args.rollback_candidate:
        server = identity.probe(db).system_identifier
        found = backup.rollback_candidate(
            args.out_dir, db.dbname, before=args.before, server=server
        )
        _show(args, found, [])
        return 0
    made = _create(args, db)
    pruned = [] if args.keep is None else backup.prune(args.out_dir, db.dbname, args.keep)
    _show(args, made, [str(path) for path in pruned])
    return 0


def main(argv: list[str] | None = None) -> int:
    """`releaseops backup`: take, verify or find a backup."""
    p = build_parser()
    return cli.run(lambda: _body(p, argv), interrupted="no backup was written")
