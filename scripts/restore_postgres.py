r"""Restore a verified dump into --db: pg_restore --clean --if-exists --no-owner --no-privileges.

This replaces everything in the target database, so --confirm-db must repeat the target's
database name. Before pg_restore runs, the command checks that the local pg_restore reads the
dump's archive version and is not older than the target server, and verifies the dump against its
manifest (checksum, table of contents, schema_migrations data), and that the manifest names this
very database on this very server (system identifier): a same-named dump of another server,
such as staging, is refused unless --allow-cross-server. Errors that pg_restore would ignore
("errors ignored on restore: N") fail the restore. Afterwards, objects the dump does not hold (a
table or extension created after it was taken) are dropped so the database equals the dump;
--no-prune keeps them. Prints what was restored and how long it took (the restore time
objective).

Right before pg_restore starts, the target is marked as being restored (which dump, since
when). Only a restore that finished removes the mark; until then the migration runner
(run_postgres_migrations.py exits 30), preflight and the checks refuse the database.

Exit codes:
  0   restored
  2   usage or configuration error
  3   database unreachable (refused, wrong password, or the connection was lost)
  4   pg_restore missing or older than the server
  22  the dump does not exist
  24  pg_restore failed or ignored errors (the target may be partly restored, and stays
      marked as such until a restore finishes)
  25  --confirm-db does not match the target database
  26  the dump failed verification
  27  the archive is too new for this pg_restore, or was taken from a newer server
  29  the dump is of another server or database (nothing was changed)
  130 interrupted (Ctrl-C or SIGTERM; the target may be partly restored)
  141 stdout was closed early (e.g. | head); the restore itself finished

Example:  python scripts/restore_postgres.py --db "$DATABASE_URL" \
              --dump "$BACKUP_FILE" --confirm-db exam
     or:  releaseops restore --db "$DATABASE_URL" --dump "$BACKUP_FILE" --confirm-db exam
"""

from releaseops.cli.restore import main

raise SystemExit(main())
