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

from __future__ import annotations

import argparse
from pathlib import Path

from releaseops import cli, migrations
from releaseops.migrations import lint
from releaseops.release import preflight


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, db=True, json_output=True)
    p.add_argument(
        "--ops-preflight",
        action="store_true",
        help="run the release preflight (tools, database, migrations, backup space)",
    )
    p.add_argument(
        "--migrations-dir",
        type=Path,
        default=cli.migrations_dir(),
        help=f"migrations directory (default: $MIGRATIONS_DIR, else {migrations.DEFAULT_DIR})",
    )
    p.add_argument(
        "--backup-dir",
        type=Path,
        default=None,
        help="where backups are written (default: $BACKUP_DIR, else backups/)",
    )
    p.add_argument("--strict", action="store_true", help="treat WARN as failure too")
    return p


def repo_checks(args: argparse.Namespace) -> int:
    """The offline lint of the migration files."""
    report = lint.lint(args.migrations_dir)
    if args.json:
        cli.print_json(report.as_dict())
    else:
        cli.print_lines(report.lines())
    failed = not report.ok or (args.strict and bool(report.findings))
    return 1 if failed else 0


def ops_preflight(args: argparse.Namespace) -> int:
    """--ops-preflight: tools, database, migrations, backup directory and space."""
    report = preflight.run(
        db=args.db or None, migrations_dir=args.migrations_dir, backup_dir=args.backup_dir
    )
    if args.json:
        cli.print_json(report.as_dict())
    else:
        cli.print_lines(report.lines())
    failed = not report.ok or (args.strict and report.counts()["WARN"] > 0)
    return 1 if failed else 0


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    return ops_preflight(args) if args.ops_preflight else repo_checks(args)


def main(argv: list[str] | None = None) -> int:
    """`releaseops verify`: lint the migrations, or run the release preflight."""
    p = build_parser()
    return cli.run(lambda: _body(p, argv))
