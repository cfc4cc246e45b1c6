"""What killed backups left in a backup directory, found (preflight) and removed (every backup).

A backup killed mid-way leaves its temporary dump (`.<dump>.partial`, a file or a pg_dump
directory), its manifest's temporary (`.<dump>.manifest.json.partial`), or, killed between
publishing the manifest and the dump, a manifest whose dump is missing. Every temporary is held
(locked) by the process writing it (`backup.safefiles`), so one whose lock can be taken is
stale, and a running backup's never is: not even while an orphaned pg_dump still writes into a
directory dump, since pg_dump inherits the lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from releaseops.backup.manifest import MANIFEST_SUFFIX
from releaseops.backup.safefiles import SafeDir

_DUMP = r"(?P<dump>.+_\d{8}_\d{6}\.(?:dump|dumpdir))"
_TEMPORARY = re.compile(rf"^\.{_DUMP}(?P<manifest>{re.escape(MANIFEST_SUFFIX)})?\.partial$")
_MANIFEST = re.compile(rf"^{_DUMP}{re.escape(MANIFEST_SUFFIX)}$")


@dataclass(frozen=True)
class Leftover:
    """A stale entry of a backup directory: its name, the bytes it holds, and what it is."""

    name: str
    size: int
    what: str

    def describe(self) -> str:
        """`name (size, what)`, as preflight and the backup's output show it."""
        return f"{self.name} ({human(self.size)}, {self.what})"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and evidence."""
        return {"name": self.name, "size": self.size, "what": self.what}


def human(size: int) -> str:
    """Bytes as a short string (`12.3 MiB`)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def find(directory: SafeDir) -> list[Leftover]:
    """The stale entries of `directory`, left in place (none where the file system has no locks)."""
    return _sweep(directory, remove=False)


def clean(directory: SafeDir) -> list[Leftover]:
    """Remove the stale entries of `directory`; returns what was removed."""
    return _sweep(directory, remove=True)


def _sweep(directory: SafeDir, *, remove: bool) -> list[Leftover]:
    found: list[Leftover] = []
    with directory.sweeping() as locked:
        if not locked:
            return found
        for name in directory.names():  # temporaries (".") sort before the manifests
            what = _what(directory, name)
            if what is None:
                continue
            size = directory.size(name)
            stale = directory.remove_if_stale(name) if remove else directory.is_stale(name)
            if stale:
                found.append(Leftover(name, size, what))
    return found


def _what(directory: SafeDir, name: str) -> str | None:
    """What entry `name` would be if stale; None for anything a sweep never touches."""
    temporary = _TEMPORARY.match(name)
    if temporary is not None:
        kind = "manifest" if temporary.group("manifest") else "dump"
        return f"temporary {kind} of a backup of {temporary.group('dump')} that did not finish"
    manifest = _MANIFEST.match(name)
    if manifest is None:
        return None
    dump = manifest.group("dump")
    if directory.lstat(dump) is not None:
        return None
    held = f".{dump}.partial"
    if directory.lstat(held) is not None and not directory.is_stale(held):
        return None  # a running backup between publishing its manifest and its dump
    return f"manifest of {dump}, which is missing"
