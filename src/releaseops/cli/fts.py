"""Sync or check the full-text search columns the service declares (FTS_SPEC).

The declaration is --spec module:attribute, else $FTS_SPEC, else fts_spec under
[tool.releaseops] in the repository's pyproject.toml (the same one the checks verify): for
scripts/init_fts.py the repository that holds it, for `releaseops fts` the nearest
pyproject.toml up from the current directory.

--sync creates what is missing (tsvector column, trigger, GIN index), backfills stale rows in
batches and records the run in releaseops_fts_sync; running it again changes nothing.
--check changes nothing and exits 1 when any row is stale or the database differs from the spec.

Exit codes:
  0   --sync: the database matches the spec; --check: clean
  1   --check: stale rows or drift found (run --sync)
  2   usage or configuration error (no or malformed FTS declaration, bad URL)
  3   database unreachable, or the connection was lost during the sync (batches already
      committed stay; run --sync again once the server is back)
  8   the schema lacks a declared table or column (apply the migrations first), or the sync
      failed on the database
  130 interrupted (Ctrl-C or SIGTERM): --check changed nothing; --sync keeps the backfill
      batches it committed, run it again to finish
  141 stdout was closed early (e.g. | head); the sync or check itself finished

Example:  python scripts/init_fts.py --db "$DATABASE_URL" --sync
     or:  releaseops fts --db "$DATABASE_URL" --sync
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from releaseops import cli, fts
from releaseops.fts import spec as fts_spec
from releaseops.release import project

STALE_EXIT = 1


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, db=True, json_output=True)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--sync", action="store_true", help="make the database match the spec")
    mode.add_argument("--check", action="store_true", help="report stale rows and drift; read-only")
    p.add_argument("--batch-size", type=int, default=fts.BATCH_SIZE, help="rows per backfill batch")
    p.add_argument("--spec", metavar="MODULE:ATTR", help="the FTS declaration (default $FTS_SPEC)")
    return p


def _show(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        cli.print_json(data)
    else:
        cli.print_lines(lines)


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    db = cli.require_db(args, p)
    ref = args.spec or os.environ.get("FTS_SPEC") or project.setting(cli.repo_root(), "fts_spec")
    spec = fts_spec.load(ref)
    if args.sync:
        report = fts.sync(db, spec, batch_size=args.batch_size)
        _show(args, report.as_dict(), report.lines())
        return 0
    result = fts.check(db, spec)
    _show(args, result.as_dict(), result.explain().splitlines())
    return 0 if result.is_clean else STALE_EXIT


def main(argv: list[str] | None = None) -> int:
    """`releaseops fts`: sync or check the declared full-text search columns."""
    p = build_parser()
    return cli.run(
        lambda: _body(p, argv),
        interrupted=(
            "--check changed nothing; --sync keeps the backfill batches it committed, "
            "run it again to finish"
        ),
    )
