"""Why apply (or a rehearsal) must refuse a database: each disagreement with the files."""

from __future__ import annotations

from releaseops.errors import (
    ChecksumMismatch,
    DatabaseAheadOfCode,
    MigrationFileMissing,
    MigrationsRefused,
    OutOfOrderMigration,
)
from releaseops.migrations.state import MigrationStatus


def refusal(current: MigrationStatus, *, allow_out_of_order: bool) -> MigrationsRefused | None:
    """Why apply (or a rehearsal) must not run against `current`, or None when it may."""
    checks: list[tuple[list[str], type[MigrationsRefused], str]] = [
        (
            current.mismatched,
            ChecksumMismatch,
            "Restore the applied text (see the diff in --status) and put the change in a new file",
        ),
        (current.missing, MigrationFileMissing, "Restore the deleted file(s) from version control"),
        (
            current.future,
            DatabaseAheadOfCode,
            "Deploy the code that has these files, or restore the pre-release backup",
        ),
    ]
    if not allow_out_of_order:
        checks.append(
            (
                current.out_of_order,
                OutOfOrderMigration,
                "Renumber the file after the newest applied version, or pass --allow-out-of-order",
            )
        )
    for names, kind, remedy in checks:
        if names:
            problems = [v.explain() for v in current.versions if v.state != "applied"]
            problems = [p for p in problems if not p.endswith(" is pending")]
            return kind(
                f"refusing to apply migrations: {'; '.join(problems)}. {remedy}",
                problems=problems,
            )
    return None
