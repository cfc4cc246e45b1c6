"""Save a database's fingerprint to a file, for a later `releaseops compare`.

The fingerprint is read in one REPEATABLE READ READ ONLY snapshot under pinned settings: every
schema, extension, table, column, index, constraint, trigger, rule, function, type, sequence,
policy and comment, each with what a restore must reproduce; each sequence's last_value and
is_called; each large object's sha256; each table's row count and content digest (sum128: a
128-bit sum of row hashes that needs no sort; --content sorted: the sha256 of the sorted rows).
Owners and ACLs only with --owners; --catalog-only leaves the data out. The file is stable,
versioned JSON (0600); `-o -` prints it instead. Passwords never appear in it.

Exit codes:
  0   saved
  2   usage or configuration error (a role without the privileges pg_dump would need)
  3   the database is unreachable

Example:  releaseops fingerprint "$DATABASE_URL" -o before-release.fingerprint.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from releaseops import cli
from releaseops.backup import fingerprint
from releaseops.backup.fingerprint_content import CONTENT_MODES
from releaseops.cli import output


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, json_output=True)
    p.add_argument(
        "url",
        metavar="URL",
        nargs="?",
        type=cli.db_url,
        default=os.environ.get("DATABASE_URL"),
        help="database URL, SQLAlchemy or libpq style (default: $DATABASE_URL)",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save it")
    p.add_argument("--owners", action="store_true", help="also record owners and ACLs")
    p.add_argument("--catalog-only", action="store_true", help="the catalog only, no data")
    p.add_argument("--content", choices=CONTENT_MODES, default="sum128", help="table digest")
    p.add_argument(
        "--workers",
        type=int,
        default=fingerprint.DEFAULT_WORKERS,
        help=f"connections sharing the table hashing (default {fingerprint.DEFAULT_WORKERS})",
    )
    return p


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    if args.url is None:
        p.error("no database: pass URL or set DATABASE_URL")
    url = args.url if not isinstance(args.url, str) else cli.db_url(args.url)
    if args.workers < 1:
        p.error(f"--workers {args.workers}: use 1 or more")
    found = fingerprint.take(
        url,
        owners=args.owners,
        catalog_only=args.catalog_only,
        content_mode=args.content,
        workers=args.workers,
    )
    if args.output == "-":
        output.write(found.dumps())
        return 0
    path = found.save(Path(args.output))
    if args.json:
        cli.print_json({"file": str(path), "database": url.masked(), "summary": found.summary()})
    else:
        cli.print_lines([f"{path}: {found.summary()} ({url.masked()})"])
    return 0


def main(argv: list[str] | None = None) -> int:
    """`releaseops fingerprint URL -o FILE`: read and save one fingerprint."""
    p = build_parser()
    return cli.run(lambda: _body(p, argv))
