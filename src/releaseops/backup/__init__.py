"""Backups: create, catalog, manifest, verify, restore, drill.

`backup.create()` takes a verified dump with its manifest; `backup.verify()` checks one;
`backup.rollback_candidate()` names the dump a rollback would restore. Restore and the drill
are the modules `backup.restore` and `backup.drill`.
"""

from releaseops.backup.catalog import Backup, file_stem, list_backups, prune, rollback_candidate
from releaseops.backup.dump import DEFAULT_COMPRESS, NAME_ATTEMPTS, SUFFIXES, create
from releaseops.backup.verification import Verification, verify

__all__ = [
    "DEFAULT_COMPRESS",
    "NAME_ATTEMPTS",
    "SUFFIXES",
    "Backup",
    "Verification",
    "create",
    "file_stem",
    "list_backups",
    "prune",
    "rollback_candidate",
    "verify",
]
