"""Verification of a dump: named read-only checks, each passed or failed with a reason.

`pg_restore --list` reads only the table of contents at the front of an archive, so it passes on a
dump that was cut short. Only a full read-through (`pg_restore -f /dev/null`, which decompresses
every data block) and the checksum catch truncation and flipped bytes; both are checks here.
The file is read once: the same chunks feed the sha256 and pg_restore.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releaseops.backup import manifest
from releaseops.backup.manifest import Manifest
from releaseops.pg.archive import CHUNK, ReadThrough, Toc, hash_tree, read_toc, tree_digest

CHECK_NAMES = (
    "present",
    "manifest",
    "size",
    "checksum",
    "toc",
    "schema_migrations",
    "read_through",
)


@dataclass(frozen=True)
class Check:
    """One named verification step and its outcome."""

    name: str
    passed: bool
    detail: str

    @classmethod
    def ok(cls, name: str, detail: str) -> Check:
        """A passed check."""
        return cls(name, passed=True, detail=detail)

    @classmethod
    def fail(cls, name: str, detail: str) -> Check:
        """A failed check; `detail` says what was found and what it means."""
        return cls(name, passed=False, detail=detail)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Verification:
    """The outcome of every check on one dump; verified only when all of them passed."""

    path: Path
    checks: list[Check]
    manifest: Manifest | None = field(default=None, compare=False, repr=False)
    toc: Toc | None = field(default=None, compare=False, repr=False)

    @property
    def is_verified(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        """The checks that did not pass, in order."""
        return [c for c in self.checks if not c.passed]

    def explain(self) -> str:
        """One sentence per failed check, naming it; or a short confirmation."""
        if self.is_verified:
            return f"{self.path}: verified ({', '.join(c.name for c in self.checks)} passed)"
        lines = [f"{self.path} is NOT verified:"]
        lines += [f"  {c.name} check failed: {c.detail}" for c in self.failed]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence and --json."""
        return {
            "path": str(self.path),
            "verified": self.is_verified,
            "checks": [c.as_dict() for c in self.checks],
        }


def _read_file(path: Path, *, read_through: bool) -> tuple[str, int, Check | None]:
    """Hash a custom-format file once, feeding pg_restore from the same read when asked."""
    digest = hashlib.sha256()
    size = 0
    checker = ReadThrough() if read_through else None
    try:
        with path.open("rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if checker is not None:
                    checker.feed(chunk)
        return digest.hexdigest(), size, read_through_check(*checker.finish()) if checker else None
    finally:
        if checker is not None:
            checker.__exit__(None, None, None)


def _read_tree(path: Path, *, read_through: bool) -> tuple[str, int, Check | None]:
    with ReadThrough("directory", path) if read_through else _Nothing() as checker:
        files, size = hash_tree(path)
        check = read_through_check(*checker.finish()) if isinstance(checker, ReadThrough) else None
    return tree_digest(files), size, check


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def verify(path: Path, *, full: bool = True) -> Verification:
    """Run every check on `path` without changing anything; corrupt files are reported, not raised.

    With `full=False` the read-through is not repeated when the checksum proves the bytes are those
    that passed it when the backup was written (recorded in the manifest).
    """
    path = Path(path)
    if not path.exists():
        missing = Check.fail("present", f"no such file or directory: {path}")
        skipped = [Check.fail(n, "not run: the dump is missing") for n in CHECK_NAMES[1:]]
        return Verification(path, [missing, *skipped])
    checks = [Check.ok("present", f"{path} exists")]
    found, manifest_check = _load_manifest(path)
    checks.append(manifest_check)
    read_through = full or found is None or not found.read_through_passed
    reader = _read_tree if path.is_dir() else _read_file
    digest, size, rt_check = reader(path, read_through=read_through)
    checks += _content_checks(found, digest, size)
    toc = read_toc(path)
    checks.append(toc_check(toc))
    checks.append(migrations_check(found, toc))
    if rt_check is None:
        rt_check = _trusted_read_through(checks)
    checks.append(rt_check)
    return Verification(path, checks, found, toc)


def _load_manifest(path: Path) -> tuple[Manifest | None, Check]:
    where = manifest.sidecar(path)
    try:
        found = manifest.load(path)
    except FileNotFoundError:
        return None, Check.fail("manifest", f"no manifest {where.name} next to the dump")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, Check.fail("manifest", f"{where.name} is unreadable or malformed: {exc}")
    if found.file != path.name:
        return None, Check.fail("manifest", f"{where.name} describes {found.file}, not this dump")
    return found, Check.ok("manifest", f"{where.name} read")


def _content_checks(found: Manifest | None, digest: str, size: int) -> list[Check]:
    if found is None:
        reason = "not run: no usable manifest to compare with"
        return [Check.fail("size", reason), Check.fail("checksum", reason)]
    size_ok = size == found.size
    size_check = Check(
        "size",
        size_ok,
        f"{size} bytes as recorded"
        if size_ok
        else f"the dump has {size} bytes, the manifest recorded {found.size}: "
        f"it was truncated or replaced after it was written",
    )
    sum_ok = digest == found.sha256
    sum_check = Check(
        "checksum",
        sum_ok,
        f"sha256 {digest} matches the manifest"
        if sum_ok
        else f"sha256 of the dump is {digest}, the manifest recorded {found.sha256}: "
        f"the bytes changed after the backup was written (corruption or a partial copy)",
    )
    return [size_check, sum_check]


def toc_check(toc: Toc) -> Check:
    """The `toc` check: pg_restore --list could read the table of contents."""
    if not toc.ok:
        return Check.fail("toc", f"pg_restore --list failed: {toc.error}")
    return Check.ok("toc", f"pg_restore --list read {len(toc.entries)} entries")


def migrations_check(found: Manifest | None, toc: Toc) -> Check:
    """The `schema_migrations` check: the archive holds its data (when the table existed)."""
    if not toc.ok:
        return Check.fail("schema_migrations", "not run: the table of contents is unreadable")
    if toc.has_table_data(manifest.MIGRATIONS_TABLE):
        return Check.ok("schema_migrations", "the archive holds schema_migrations data")
    if found is not None and not found.migrations_present:
        return Check.ok(
            "schema_migrations",
            "the database had no schema_migrations table at backup time (recorded in the manifest)",
        )
    return Check.fail(
        "schema_migrations",
        "the table of contents has no TABLE DATA entry for schema_migrations: "
        "this dump cannot show which migrations were applied",
    )


def _trusted_read_through(checks: list[Check]) -> Check:
    if all(c.passed for c in checks):
        return Check.ok(
            "read_through",
            "passed when the backup was written; the checksum shows the bytes are unchanged",
        )
    return Check.fail("read_through", "not repeated: the checks above already failed")


def read_through_check(code: int, err: str) -> Check:
    """The `read_through` check from pg_restore's exit code and stderr tail."""
    if code == 0:
        return Check.ok("read_through", "pg_restore read every data block to the end")
    return Check.fail(
        "read_through",
        f"pg_restore could not read the whole archive (exit {code}): {err or 'no message'}; "
        f"the dump is truncated or corrupt",
    )
