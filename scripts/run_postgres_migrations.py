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

from releaseops.cli.migrate import main

raise SystemExit(main())
