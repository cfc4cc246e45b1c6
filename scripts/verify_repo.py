"""Verify the repository before a release: migration lint, and with --ops-preflight the tooling.

Without flags: lint migrations/postgres/*.sql with PostgreSQL's parser (naming and numbering,
empty or unparsable files, destructive statements without a '-- releaseops:destructive <reason>'
annotation, CONCURRENTLY outside a no-transaction file, BEGIN/COMMIT inside a file).
This mode is offline: it never connects to a database.

With --ops-preflight, a table of checks with PASS/WARN/FAIL and reasons:
  tool pg_dump / pg_restore / psql   present, with versions; too old for the server -> FAIL
  database                           reachable, server version (needs --db or DATABASE_URL)
  migrations lint                    as above; with a database, also index/constraint changes
                                     split from the table change they belong to (section 7)
  restore state                      a restore into the database that did not finish -> FAIL
  migrations state                   mismatch / missing / future / out of order -> FAIL
  backup directory                   writable (--backup-dir, else $BACKUP_DIR, else backups/)
  disk space                         free space where backups go >= the database's size
Rows that need a database WARN "not checked" when none is given.

Exit codes:
  0   no FAIL (warnings allowed unless --strict)
  1   some check FAILed (with --strict: or WARNed); an unreachable database is a FAIL row
  2   usage error
  130 interrupted (Ctrl-C or SIGTERM); nothing was changed
  141 stdout was closed early (e.g. | head) and no check FAILed

Examples:
  python scripts/verify_repo.py --ops-preflight
  python scripts/verify_repo.py --ops-preflight --db "$DATABASE_URL" --json
  releaseops verify --ops-preflight

"""

from releaseops.cli.verify import main

raise SystemExit(main())
