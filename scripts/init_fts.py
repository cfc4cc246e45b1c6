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

from releaseops.cli.fts import main

raise SystemExit(main())
