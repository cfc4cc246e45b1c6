"""Schema drift: the live schema against what the applied migration files build.

A scratch database is built from the files the target has applied (never the pending ones)
plus the service's FTS declaration, and the catalogs are compared (no data). A column, index,
constraint or trigger changed by hand outside the migrations shows as a difference.
"""

from __future__ import annotations

from pathlib import Path

from releaseops import fts, migrations
from releaseops.backup import fingerprint_drift
from releaseops.backup.fingerprint_drift import Drift
from releaseops.dburl import DatabaseUrl
from releaseops.fts import FtsSpec

APPLIED_STATES = ("applied", "mismatch")


def applied_files(db: DatabaseUrl, directory: Path) -> tuple[list[Path], list[str]]:
    """The migration files `db` has applied, and the applied versions that have no file."""
    status = migrations.status(db, directory)
    files = [directory / v.name for v in status.versions if v.state in APPLIED_STATES]
    return files, status.missing + status.future


def schema_drift(db: DatabaseUrl, admin: DatabaseUrl, files: list[Path], spec: FtsSpec) -> Drift:
    """Compare the live catalog with a scratch database built from `files` and `spec`."""
    return fingerprint_drift.schema_drift(
        db, admin, files, apply=migrations.apply, after=lambda scratch: fts.sync(scratch, spec)
    )
