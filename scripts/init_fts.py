"""Sync or check the full-text search columns the service declares (FTS_SPEC).

The declaration is --spec module:attribute, else $FTS_SPEC, else fts_spec under
[tool.releaseops] in this repository's pyproject.toml (the same one the checks verify).

--sync creates what is missing (tsvector column, trigger, GIN index), backfills stale rows in
batches and records the run in releaseops_fts_sync; running it again changes nothing.
--check changes nothing and exits 1 when any row is stale or the database differs from the spec.

Example:  python scripts/init_fts.py --db "$DATABASE_URL" --sync
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from releaseops import cli, fts
from releaseops.errors import ReleaseOpsError
from releaseops.fts import spec as fts_spec
from releaseops.release import project

REPO = Path(__file__).resolve().parents[1]

STALE_EXIT = 1


def _show(args: Any, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        cli.print_json(data)
    else:
        cli.print_lines(lines)


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__, db=True, json_output=True)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--sync", action="store_true", help="make the database match the spec")
    mode.add_argument("--check", action="store_true", help="report stale rows and drift; read-only")
    p.add_argument("--batch-size", type=int, default=fts.BATCH_SIZE, help="rows per backfill batch")
    p.add_argument("--spec", metavar="MODULE:ATTR", help="the FTS declaration (default $FTS_SPEC)")
    args = p.parse_args(argv)
    db = cli.require_db(args, p)
    try:
        ref = args.spec or os.environ.get("FTS_SPEC") or project.setting(REPO, "fts_spec")
        spec = fts_spec.load(ref)
        if args.sync:
            report = fts.sync(db, spec, batch_size=args.batch_size)
            _show(args, report.as_dict(), report.lines())
            return 0
        result = fts.check(db, spec)
    except ReleaseOpsError as exc:
        return cli.fail(exc)
    _show(args, result.as_dict(), result.explain().splitlines())
    return 0 if result.is_clean else STALE_EXIT


if __name__ == "__main__":
    raise SystemExit(main())
