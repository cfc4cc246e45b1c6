"""Print or write docs/checklist-map.md: each checklist item and the checks that verify it.

The repository is the one holding scripts/checklist_map.py, or for `releaseops checklist-map`
the nearest pyproject.toml up from the current directory; the checks are its checks/.

Exit codes:
  0   every item has a check and every check cites a known item
  1   an item has no check, or a check cites no item (or an unknown one); the map is still
      printed or written
  2   usage error, or the repository has no checks/ directory
  73  --write could not write docs/checklist-map.md (disk full, read-only, docs is not a
      directory); the old file is left as it was
  130 interrupted (Ctrl-C or SIGTERM); the map file was not changed
  141 stdout was closed early (e.g. | head) and no problem was found

Example:  python scripts/checklist_map.py --write
     or:  releaseops checklist-map --write
"""

from releaseops.cli.checklist_map import main

raise SystemExit(main())
