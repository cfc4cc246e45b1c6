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

from releaseops.cli.migrate import main

raise SystemExit(main())
