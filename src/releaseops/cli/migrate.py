"""Apply pending migrations from migrations/postgres/ to --db, each in its own transaction.

Files are NNNN_snake_case_name.sql, applied in version order under an advisory lock, each
together with its schema_migrations row (see docs/migrations.md). Before applying, the runner
refuses when an applied file was edited (checksum mismatch), an applied file is gone (missing),
the database has versions newer than every file (future), or a pending file is older than the
newest applied one (out of order; allow with --allow-out-of-order). Apply, --status and
--baseline all refuse a database that a restore marked and did not finish (see
docs/backup-restore.md): its schema and its schema_migrations may be half restored. A statement
blocked past --lock-timeout is tried again --lock-retries times, pausing --lock-retry-delay
seconds, doubled each time.

--rehearse rehearses the pending files instead (docs/migrations.md, "Rehearsal"): per
statement the locks taken, the tables rewritten, rows, duration and how long a SHARE or ACCESS
EXCLUSIVE lock stayed held; the rehearsal gate then judges them against the thresholds of the
release record's [migration] table (RELEASE_RECORD), else 10,000 rows or 64 MiB and 1,000 ms.
  --rehearse alone: on --db inside one transaction that is always rolled back, and it says so
      (statements that cannot run in a transaction are reported as not rehearsed).
  --rehearse --confirm-copy DRILL: on the drill database (DRILL_DATABASE_URL, else DRILL_DB_NAME,
      else <db>_restore_drill), which is recreated through POSTGRES_ADMIN_URL, restored from
      the release's known-good dump (recorded by the pre-deploy gate in
      $BACKUP_DIR/releases/<release id>.json) or --dump FILE, and migrated for real.
  --rehearse --confirm-copy <the --db database's name>: --db is itself a throwaway copy and
      is migrated for real.
--json prints {"statements": [{"file", "statement", "locks": [{"relation", "mode"}],
"rewritten", "rows", "ms", "blocking_lock_ms", ...}], "verdict": {...}, ...}.

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
  13  lock timeout: another runner held the migration lock longer than --lock-wait, or a
      statement stayed blocked past --lock-timeout through every retry (the message names
      the session holding the lock)
  14  --status only: files are pending (apply would run them)
  15  --rehearse: the gate failed: a statement failed on the copy, rewrote a table over the
      size threshold, or held a blocking lock on such a table past the lock budget
  16  --rehearse: not verified: a statement was not rehearsed (CONCURRENTLY or VACUUM inside
      the rolled-back transaction) or its locks could not be observed
  22  --rehearse --dump FILE: the dump does not exist
  23  --rehearse --confirm-copy DRILL: no known-good dump is recorded for the release; run the
      pre-deploy gate or pass --dump FILE
  26  --rehearse --confirm-copy DRILL: the dump failed verification
  29  --rehearse --confirm-copy DRILL: the dump is of another server or database (restore it
      anyway with --allow-cross-server)
  30  refused: a restore into this database did not finish (the error names the dump and when
      it started); run that restore again until it finishes
  130 interrupted (Ctrl-C or SIGTERM): files applied before stay applied, the file in
      progress was not recorded
  141 stdout was closed early (e.g. | head); every file was still applied

Examples:
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL"
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL" --status --json
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL" --baseline 0003
  python scripts/run_postgres_migrations.py --db "$DATABASE_URL" --rehearse --json
  releaseops migrate --db "$DATABASE_URL"
  releaseops migrate --rehearse --confirm-copy exam_restore_drill

"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from releaseops import cli, migrations
from releaseops.cli.boundary import unreachable
from releaseops.errors import ConfigurationError, ReleaseOpsError
from releaseops.migrations import rehearse
from releaseops.release import record
from releaseops.release import target as release_target
from releaseops.runbook import drillcopy

EXIT_PENDING = 14
EXIT_REFUSED = 11
EXIT_REHEARSAL_FAILED = 15
EXIT_REHEARSAL_NOT_VERIFIED = 16


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
    mode.add_argument(
        "--rehearse",
        action="store_true",
        help="rehearse the pending files and judge their locks and rewrites (see above)",
    )
    p.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="apply pending files older than the newest applied version",
    )
    _timing_options(p)
    _rehearsal_options(p)
    return p


def _timing_options(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--lock-retries",
        type=int,
        default=migrations.DEFAULT_LOCK_RETRIES,
        metavar="N",
        help="tries again a statement blocked past --lock-timeout N times (default: %(default)s)",
    )
    p.add_argument(
        "--lock-retry-delay",
        type=float,
        default=migrations.DEFAULT_LOCK_RETRY_DELAY_S,
        metavar="SECONDS",
        help="pause before the first retry, doubled for each next one (default: %(default)s)",
    )


def _rehearsal_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--confirm-copy",
        metavar="NAME",
        help="--rehearse: the name of the throwaway copy to migrate for real (the drill "
        "database, restored first, or --db's own database)",
    )
    p.add_argument(
        "--dump",
        type=Path,
        metavar="FILE",
        help="--rehearse --confirm-copy DRILL: restore the drill copy from FILE instead of the "
        "release's known-good dump",
    )
    p.add_argument(
        "--allow-cross-server",
        action="store_true",
        help="--rehearse --confirm-copy DRILL: restore a dump of another server or database",
    )


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
        lock_retries=args.lock_retries,
        lock_retry_delay_s=args.lock_retry_delay,
        progress=None if args.json else show_progress,
    )
    if args.json:
        cli.print_json(report.as_dict())
    elif args.dry_run:
        cli.print_lines(report.lines())
    else:
        cli.print_lines([report.summary()])
    return 0


def _environment(args: argparse.Namespace) -> release_target.Target:
    """The drill copy, admin URL, backup folder and release record, as the checks resolve them."""
    options = {"database_url": args.db.libpq(with_password=True)}
    return release_target.resolve(options, os.environ, repo_root=Path.cwd(), kind="env")


def _copy_rehearsal(
    args: argparse.Namespace, env: release_target.Target
) -> drillcopy.CopyRehearsal:
    """--confirm-copy DRILL: restore the drill copy from the known-good dump, rehearse there."""
    copy = env.drill_url
    if args.confirm_copy != copy.dbname:
        raise ConfigurationError(
            f"--confirm-copy {args.confirm_copy} names neither --db's database "
            f"({args.db.dbname}) nor the drill database ({copy.dbname}, from DRILL_DATABASE_URL, "
            f"DRILL_DB_NAME or <db>_restore_drill); pass one of them, or leave it out to "
            f"rehearse on --db in a transaction that is rolled back"
        )
    dump = args.dump or _known_good(args, env)
    return drillcopy.rehearse_on_copy(
        args.db,
        env.admin_url,
        copy.dbname,
        dump,
        args.dir,
        confirm_copy=args.confirm_copy,
        allow_cross_server=args.allow_cross_server,
        allow_out_of_order=args.allow_out_of_order,
        lock_timeout=args.lock_timeout,
        statement_timeout=args.statement_timeout,
    )


def _known_good(args: argparse.Namespace, env: release_target.Target) -> Path:
    if env.release_record is None:
        raise ConfigurationError(
            "no dump to restore the drill copy from: pass --dump FILE, or set RELEASE_RECORD "
            "so that the release's known-good dump, recorded by the pre-deploy gate, is used"
        )
    release_id = record.load(env.release_record).release_id
    return drillcopy.known_good_dump(env.backup_dir, release_id, args.db)


def _budget(env: release_target.Target) -> record.MigrationBudget:
    """The release record's [migration] thresholds, else the defaults."""
    if env.release_record is None:
        return record.MigrationBudget()
    return record.load(env.release_record).migration_budget


def rehearse_pending(args: argparse.Namespace) -> int:
    """--rehearse: on a restored drill copy, on --db declared a copy, or rolled back on --db."""
    if args.dry_run:
        raise ConfigurationError("--rehearse and --dry-run exclude each other; pass one of them")
    if args.dump is not None and args.confirm_copy in (None, args.db.dbname):
        raise ConfigurationError("--dump restores the drill copy: it needs --confirm-copy DRILL")
    env = _environment(args)
    budget = _budget(env)
    restored = None
    if args.confirm_copy is not None and args.confirm_copy != args.db.dbname:
        restored = _copy_rehearsal(args, env)
        report = restored.report
    else:
        report = rehearse.run(
            args.db,
            args.dir,
            confirm_copy=args.confirm_copy,
            allow_out_of_order=args.allow_out_of_order,
            lock_timeout=args.lock_timeout,
            statement_timeout=args.statement_timeout,
            lock_wait_s=args.lock_wait,
        )
    verdict = budget.gate(report)
    if args.json:
        data = report.as_dict()
        data.update(verdict=verdict.as_dict(), copy=restored.as_dict() if restored else None)
        cli.print_json(data)
    else:
        lines = restored.lines() if restored else report.lines()
        cli.print_lines([*lines, *_verdict_lines(verdict)])
    if verdict.failures:
        return EXIT_REHEARSAL_FAILED
    return EXIT_REHEARSAL_NOT_VERIFIED if verdict.not_verified else 0


def _verdict_lines(verdict: rehearse.RehearsalVerdict) -> list[str]:
    shown = verdict.limits_shown()
    if verdict.passed:
        return [f"rehearsal gate: passed (limits: {shown})"]
    return [f"rehearsal gate: {verdict.explain()}", f"limits: {shown}"]


def run(args: argparse.Namespace) -> int:
    """The mode the flags chose: --status, --baseline, --rehearse or apply."""
    if args.status:
        return show_status(args)
    if args.rehearse:
        return rehearse_pending(args)
    if args.confirm_copy is not None or args.dump is not None:
        raise ConfigurationError("--confirm-copy and --dump belong to --rehearse")
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
    """`releaseops migrate`: apply, report, baseline or rehearse the schema migrations."""
    p = build_parser()
    return cli.run(
        lambda: _body(p, argv),
        interrupted=(
            "files applied before stay applied; the file in progress was not recorded "
            "(a no-transaction file keeps the statements it finished). Run again to continue"
        ),
    )
