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

from releaseops.cli.backup import main

raise SystemExit(main())
