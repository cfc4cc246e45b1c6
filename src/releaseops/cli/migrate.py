"""Apply pending migrations from migrations/postgres/ to --db, each in its own transaction.

Files are NNNN_snake_case_name.sql, applied in version order under an advisory lock, each
together with its schema_migrations row (see docs/migrations.md). Before applying, the runner
refuses when an applied file was edited (checksum mismatch), an applied file is gone (missing),
the database has versions newer than every file (future), or a pending file is older than the
newest applied one (out of order; allow with --allow-out-of-order). Apply, --status and
--baseline all refuse a database that a restore marked and did not finish (see
docs/backup-restore.md): its schema and its schema_migrations may be half restored.

Exit codes:
  0   done, or nothing to do (--status: everything applied, nothing pending)
  2   usage or configuration error (bad URL, bad duration)
  3   database unreachable, or the connection was lost during the run (the file in progress
      was not recorded; run again once the server is back)
  10  a migration file breaks the naming rule, has a bad directive or is empty/unparsable
  11  refused: checksum mismatch, missing file, future version or out of order (or --baseline
      on a database with history); --status: the same problems found
  12  failed: a migration's SQL failed (rolled back, not recorded), was blocked past
      lock_timeout, or left an INVALID index
  13  lock timeout: another runner held the migration lock longer than --lock-wait
  14  --status only: files are pending (apply would run them)
  30  refused: a restore into this database did not finish (the error names the dump and when
      it started); run that restore again until it finishes
  130 interrupted (Ctrl-C or SIGTERM): files applied before stay applied, the file in
      progress was not recorded
  141 stdout was closed early (e.g. | head); every file was still applied

Examples:
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL"
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL" --status --json
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL" --baseline 0003
  releaseops migrate --db "$DATABASE_URL"

"""

from __future__ import annotations

import argparse
from pathlib import Path

from releaseops import cli, migrations
from releaseops.cli.boundary import unreachable
from releaseops.errors import ReleaseOpsError

EXIT_PENDING = 14
EXIT_REFUSED = 11


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, db=True, json_output=True, dry_run=True)
    p.add_argument(
        "--dir",
        type=Path,
        default=cli.migrations_dir(),
        help=f"migrations directory (default: $MIGRATIONS_DIR, else {migrations.DEFAULT_DIR})",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--status", action="store_true", help="report every version's state; change nothing"
    )
    mode.add_argument(
        "--baseline",
        metavar="VERSION",
        help="adopt an existing database: record files up to VERSION as applied, run nothing",
    )
    p.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="apply pending files older than the newest applied version",
    )
    p.add_argument(
        "--lock-wait",
        type=float,
        default=migrations.DEFAULT_LOCK_WAIT_S,
        metavar="SECONDS",
        help="how long to wait for another runner's lock (default: %(default)s)",
    )
    p.add_argument(
        "--lock-timeout",
        default=migrations.DEFAULT_LOCK_TIMEOUT,
        metavar="DURATION",
        help="PostgreSQL lock_timeout for each migration (default: %(default)s)",
    )
    p.add_argument(
        "--statement-timeout",
        default=migrations.DEFAULT_STATEMENT_TIMEOUT,
        metavar="DURATION",
        help="PostgreSQL statement_timeout for each migration (default: %(default)s)",
    )
    return p


def show_status(args: argparse.Namespace) -> int:
    """--status: every version's state; the exit code tells clean, pending or refused."""
    status = migrations.status(args.db, args.dir)
    if args.json:
        cli.print_json(status.as_dict())
    else:
        cli.print_lines(status.lines())
    if status.has_conflicts or status.out_of_order:
        return EXIT_REFUSED
    return EXIT_PENDING if status.pending else 0


def show_progress(applied: migrations.AppliedFile) -> None:
    """Printed as each file commits, so a later failure does not hide what was applied."""
    cli.print_lines([applied.line()])


def apply(args: argparse.Namespace) -> int:
    """Apply the pending files (or list them with --dry-run)."""
    report = migrations.apply(
        args.db,
        args.dir,
        dry_run=args.dry_run,
        allow_out_of_order=args.allow_out_of_order,
        lock_wait_s=args.lock_wait,
        lock_timeout=args.lock_timeout,
        statement_timeout=args.statement_timeout,
        progress=None if args.json else show_progress,
    )
    if args.json:
        cli.print_json(report.as_dict())
    elif args.dry_run:
        cli.print_lines(report.lines())
    else:
        cli.print_lines([report.summary()])
    return 0


def run(args: argparse.Namespace) -> int:
    """The mode the flags chose: --status, --baseline or apply."""
    if args.status:
        return show_status(args)
    if args.baseline is None:
        return apply(args)
    report = migrations.baseline(args.db, args.dir, args.baseline, lock_wait_s=args.lock_wait)
    if args.json:
        cli.print_json(report.as_dict())
    else:
        cli.print_lines(report.lines())
    return 0


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    args.db = cli.require_db(args, p)
    if not args.json:
        cli.print_lines([f"target {args.db.masked()}, migrations {args.dir}"])
    try:
        return run(args)
    except ReleaseOpsError as exc:
        if args.json:
            shown = unreachable(exc) or exc
            cli.print_json({"error": str(shown), "exit_code": shown.exit_code})
        raise


def main(argv: list[str] | None = None) -> int:
    """`releaseops migrate`: apply, report or baseline the schema migrations."""
    p = build_parser()
    return cli.run(
        lambda: _body(p, argv),
        interrupted=(
            "files applied before stay applied; the file in progress was not recorded "
            "(a no-transaction file keeps the statements it finished). Run again to continue"
        ),
    )
