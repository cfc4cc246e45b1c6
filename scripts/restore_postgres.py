r"""Restore a verified dump into --db: pg_restore --clean --if-exists --no-owner --no-privileges.

This replaces everything in the target database, so --confirm-db must repeat the target's
database name. Before pg_restore runs, the command checks that the local pg_restore reads the
dump's archive version and is not older than the target server, and verifies the dump against its
manifest (checksum, table of contents, schema_migrations data). Errors that pg_restore would
ignore ("errors ignored on restore: N") fail the restore. Prints what was restored and how long
it took (the restore time objective).

Exit codes:
  0   restored
  2   usage or configuration error
  3   database unreachable
  4   pg_restore missing or older than the server
  22  the dump does not exist
  24  pg_restore failed or ignored errors (the target may be partly restored)
  25  --confirm-db does not match the target database
  26  the dump failed verification
  27  the archive is too new for this pg_restore, or was taken from a newer server
  130 interrupted (the target may be partly restored)

Example:  python scripts/restore_postgres.py --db "$DATABASE_URL" \
              --dump "$BACKUP_FILE" --confirm-db exam
"""

from __future__ import annotations

import sys
from pathlib import Path

from releaseops import cli
from releaseops.backup import restore
from releaseops.errors import ReleaseOpsError


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__, db=True, json_output=True)
    p.add_argument("--dump", type=Path, required=True, metavar="FILE", help="the dump to restore")
    p.add_argument(
        "--confirm-db", default="", metavar="NAME", help="the target database's name, repeated"
    )
    p.add_argument("--jobs", type=int, default=1, help="parallel pg_restore jobs")
    p.add_argument(
        "--no-clean", action="store_true", help="do not drop existing objects first (no --clean)"
    )
    args = p.parse_args(argv)
    db = cli.require_db(args, p)
    try:
        report = restore.restore(
            db, args.dump, confirm_db=args.confirm_db, jobs=args.jobs, clean=not args.no_clean
        )
    except ReleaseOpsError as exc:
        return cli.fail(exc)
    except KeyboardInterrupt:
        print("error: interrupted; the target may be partly restored", file=sys.stderr)
        return 130
    if args.json:
        cli.print_json(report.as_dict())
    else:
        cli.print_lines(report.lines())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
