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

from __future__ import annotations

import argparse
from pathlib import Path

from releaseops import cli
from releaseops.backup import restore


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, db=True, json_output=True)
    p.add_argument("--dump", type=Path, required=True, metavar="FILE", help="the dump to restore")
    p.add_argument(
        "--confirm-db", default="", metavar="NAME", help="the target database's name, repeated"
    )
    p.add_argument("--jobs", type=int, default=1, help="parallel pg_restore jobs")
    p.add_argument(
        "--no-clean", action="store_true", help="do not drop existing objects first (no --clean)"
    )
    p.add_argument(
        "--allow-cross-server",
        action="store_true",
        help="restore a dump taken of another server or database anyway (deliberately)",
    )
    p.add_argument(
        "--no-prune",
        action="store_true",
        help="keep objects the dump does not hold (the database may then differ from the dump)",
    )
    return p


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    db = cli.require_db(args, p)
    report = restore.restore(
        db,
        args.dump,
        confirm_db=args.confirm_db,
        jobs=args.jobs,
        clean=not args.no_clean,
        origin="target",
        allow_cross_server=args.allow_cross_server,
        exact=not args.no_prune,
    )
    if args.json:
        cli.print_json(report.as_dict())
    else:
        cli.print_lines(report.lines())
    return 0


def main(argv: list[str] | None = None) -> int:
    """`releaseops restore`: replace the target database with a verified dump."""
    p = build_parser()
    return cli.run(lambda: _body(p, argv), interrupted="the target may be partly restored")
