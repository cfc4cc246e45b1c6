"""Whether a directory may hold backups: the writer's own, writable by nobody else, no link.

Whoever can write into a backup directory can plant a symbolic link where a backup writes (a
root backup would overwrite any file through it) or a dump that a rollback restores, so a
directory that its group or others can write, or that another user owns, is refused.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from releaseops.errors import BackupDirectoryUnsafe

OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _who(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _login(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def problems(found: os.stat_result, euid: int | None = None) -> list[str]:
    """What makes a directory with status `found` unsafe for backups; empty when nothing does."""
    euid = os.geteuid() if euid is None else euid
    wrong: list[str] = []
    if found.st_uid != euid:
        wrong.append(f"it is owned by {_who(found.st_uid)}, not by {_who(euid)} who writes there")
    writers = [
        w
        for w, bit in (("its group", stat.S_IWGRP), ("others", stat.S_IWOTH))
        if found.st_mode & bit
    ]
    if writers:
        mode = stat.S_IMODE(found.st_mode)
        wrong.append(f"it is writable by {' and '.join(writers)} (mode {mode:04o})")
    return wrong


def fixes(path: Path, found: os.stat_result, euid: int | None = None) -> list[str]:
    """The commands that make the directory with status `found` safe."""
    euid = os.geteuid() if euid is None else euid
    out = [f"chown {_login(euid)} {path}"] if found.st_uid != euid else []
    if found.st_mode & OTHERS_WRITE:
        out.append(f"chmod 700 {path}")
    return out


def refuse(path: Path, found: os.stat_result) -> BackupDirectoryUnsafe:
    """The error for directory `path` with status `found`: what is wrong and the fix."""
    return BackupDirectoryUnsafe.found(path, problems(found), fixes(path, found))


def refuse_link(path: Path) -> BackupDirectoryUnsafe:
    """The error for a backup directory that is a symbolic link."""
    target = os.readlink(path)
    return BackupDirectoryUnsafe.found(
        path,
        [f"it is a symbolic link (to {target}), which backups never write through"],
        [f"use the directory itself, {path.resolve()}, instead"],
    )
