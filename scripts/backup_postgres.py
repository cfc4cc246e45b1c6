"""Take a verified backup of --db: <db>_YYYYMMDD_HHMMSS.dump plus a JSON manifest next to it.

The dump goes into backups/ under the current directory ($BACKUP_DIR or --out-dir override). It
is written under a temporary name, hashed (sha256) while pg_dump streams it, read through to the
end by pg_restore at the same time, and renamed only when every check passed; files are 0600,
a directory this command creates is 0700. The first line printed is the path of the dump.

Other modes:
  --verify FILE          check an existing dump: present, checksum, pg_restore --list,
                         schema_migrations data, full read-through (no database needed)
  --rollback-candidate   print the newest verified backup of --db's database
                         (--before ISO-TIME: the newest taken before that time)
  --keep N               after a successful backup, delete older verified backups of the same
                         database, keeping the N newest verified ones (never the newest)

Exit codes:
  0   done (verified)
  2   usage or configuration error
  3   database unreachable
  4   pg_dump/pg_restore missing or older than the server
  20  backup failed (nothing finished-looking was left behind)
  21  verification failed
  22  the dump to verify does not exist
  23  no verified rollback candidate
  130 interrupted (Ctrl-C or SIGTERM); the temporary file was removed

Example:  python scripts/backup_postgres.py --db "$DATABASE_URL"
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from types import FrameType

from releaseops import backup, cli
from releaseops.errors import BackupVerificationFailed, ReleaseOpsError

VERIFY_FAILED_EXIT = BackupVerificationFailed.exit_code
INTERRUPTED_EXIT = 130


def build_parser() -> argparse.ArgumentParser:
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


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    # SIGTERM (a CI timeout, systemd stop) cleans up like Ctrl-C: no half-written dump remains.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.verify is not None:
            return _verify(args)
        db = cli.require_db(args, p)
        if args.rollback_candidate:
            found = backup.rollback_candidate(args.out_dir, db.dbname, before=args.before)
            _show(args, found, [])
            return 0
        made = backup.create(
            db, args.out_dir, format=args.format, compress=args.compress, jobs=args.jobs
        )
        pruned = [] if args.keep is None else backup.prune(args.out_dir, db.dbname, args.keep)
        _show(args, made, [str(path) for path in pruned])
    except ReleaseOpsError as exc:
        return cli.fail(exc)
    except KeyboardInterrupt:
        print("error: interrupted; no backup was written", file=sys.stderr)
        return INTERRUPTED_EXIT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
