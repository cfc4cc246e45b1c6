"""Schema drift: the live catalog against a scratch database built from the migration files.

`schema_drift()` creates a scratch database on the admin URL's server, copies the migration files
that the live database has applied into a temporary directory, lets `apply` run them there and
`after` add what the deployment adds beyond the files (the FTS declaration's columns, triggers
and indexes), then compares the two catalogs. No data is compared: schema_migrations rows, the
FTS bookkeeping rows, sequence values and large objects are data. Column positions are not
compared either: a column FTS sync added before a later migration's ADD COLUMN legitimately
sits elsewhere. Whatever else differs was changed by hand, outside the migrations.

The callables keep this module free of the migrations and FTS packages (they sit beside it).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from releaseops import dburl
from releaseops.backup import fingerprint, fingerprint_diff
from releaseops.backup.fingerprint_diff import FingerprintDiff
from releaseops.dburl import DatabaseUrl
from releaseops.errors import FingerprintError, ReleaseOpsError
from releaseops.pg.scratch import ScratchDatabase

IGNORED_ATTRIBUTES = ("position",)
EXPECTED = "the migrations"
LIVE = "the live database"


@dataclass(frozen=True)
class Drift:
    """The live database against the schema its applied migrations build."""

    live: str
    files: list[str]
    diff: FingerprintDiff

    @property
    def is_clean(self) -> bool:
        """True when the live catalog is exactly what the migrations build."""
        return self.diff.is_equal

    @property
    def drifted(self) -> list[str]:
        """The objects that differ, each named once."""
        return sorted({d.object for d in self.diff.differences})

    def explain(self) -> str:
        """One line per difference, with what it means for the operator."""
        if self.is_clean:
            return (
                f"{self.live} has exactly the schema of {len(self.files)} applied migration "
                f"files: {self.diff.compared}"
            )
        lines = [
            f"{self.live} differs from the schema its {len(self.files)} applied migration "
            f"files build: changed outside migrations/postgres/*.sql "
            f"(values are {EXPECTED} vs {LIVE}):",
            *(f"  {d.explain(EXPECTED, LIVE)}" for d in self.diff.differences),
            "Put each change into a migration file (or revert it by hand), then run this again.",
        ]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "live": self.live,
            "files": self.files,
            "clean": self.is_clean,
            "drifted": self.drifted,
            "diff": self.diff.as_dict(),
        }


def schema_drift(
    live: DatabaseUrl | str,
    admin: DatabaseUrl | str,
    files: Iterable[Path],
    apply: Callable[[DatabaseUrl, Path], object],
    after: Callable[[DatabaseUrl], object] | None = None,
) -> Drift:
    """Compare the live catalog with a scratch database built by `apply(url, dir)` + `after(url)`.

    `files` are the migration files the live database has applied, in order; they are copied
    into a temporary directory so the newer, pending files are not applied.
    """
    live, admin = dburl.parse(live), dburl.parse(admin)
    names = [Path(f).name for f in files]
    with tempfile.TemporaryDirectory(prefix="releaseops-drift-") as tmp:
        applied = copy_files(files, Path(tmp))
        with _scratch(admin) as scratch:
            apply(scratch, applied)
            if after is not None:
                after(scratch)
            expected, actual = _both(scratch, live)
    found = fingerprint_diff.diff(
        expected,
        actual,
        a_label=EXPECTED,
        b_label=LIVE,
        catalog_only=True,
        ignore_attributes=IGNORED_ATTRIBUTES,
    )
    return Drift(live.masked(), names, found)


def copy_files(files: Iterable[Path], directory: Path) -> Path:
    """Copy `files` into `directory` (kept byte for byte, so checksums stay the same)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, directory / Path(path).name)
    return directory


@contextlib.contextmanager
def _scratch(admin: DatabaseUrl) -> Iterator[DatabaseUrl]:
    """A scratch database; failing to create one says what the drift check needs."""
    holder = ScratchDatabase(admin)
    try:
        url = holder.__enter__()
    except (ReleaseOpsError, psycopg.Error) as exc:
        raise FingerprintError(
            f"cannot build the schema the migrations expect: creating a scratch database "
            f"through {admin.masked()} failed ({dburl.mask(str(exc)).strip()}). Set "
            f"POSTGRES_ADMIN_URL to a role that may CREATE DATABASE on this server."
        ) from exc
    try:
        yield url
    finally:
        holder.__exit__(None, None, None)


def _both(scratch: DatabaseUrl, live: DatabaseUrl) -> tuple[fingerprint.Fingerprint, ...]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        expected = pool.submit(fingerprint.take, scratch, catalog_only=True, workers=1)
        actual = pool.submit(fingerprint.take, live, catalog_only=True, workers=1)
        return expected.result(), actual.result()
