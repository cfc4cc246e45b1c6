"""Ownership records of what a run started, and the reaping of what killed runs left behind.

A run that starts a cluster or a service writes a record into a private directory: its own pid
with that pid's start time, each process it started (pid, start time, command line, the signal
that stops it) and each temporary folder it made (path, device, inode). The record goes away
when the run stops what it started.

A record whose owner is gone, or whose pid now belongs to another process (the start time
differs), is a dead run's. `reap()` stops each recorded process that is still provably the one
recorded (same start time and command line), deletes each recorded folder that is still
provably the one recorded (a directory, not a symlink, same device and inode), then drops the
record. Nothing else is touched: a pid that was reused, a folder that was replaced, a record
of a live run. The parent-death signal (service.children.die_with_parent) stops most leftovers the
moment a run dies; this catches the rest (a process started off the main thread, a folder).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from releaseops.errors import ClusterError
from releaseops.rehearsal.lifetime import Folder, Proc, this_process

log = logging.getLogger(__name__)

RUN_DIR_ENV = "RELEASEOPS_RUN_DIR"


def run_dir() -> Path:
    """Where records live: $RELEASEOPS_RUN_DIR, else <tmp>/releaseops-runs-<uid>."""
    value = os.environ.get(RUN_DIR_ENV)
    return Path(value) if value else Path(tempfile.gettempdir()) / f"releaseops-runs-{os.geteuid()}"


def private_dir(path: Path) -> Path:
    """`path` as a directory only we can write (created 0700); ClusterError when it is not."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise ClusterError(
            f"{path} holds the records of what test runs started, but it is not a directory "
            f"that only uid {os.geteuid()} can write (mode {stat.filemode(info.st_mode)}, owner "
            f"uid {info.st_uid}). Remove it, or point {RUN_DIR_ENV} at a private directory"
        )
    return path


# --- records -----------------------------------------------------------------------------------


@dataclass
class Ownership:
    """What one run started: written by the run, read by later runs."""

    kind: str
    owner: Proc
    processes: dict[str, Proc] = field(default_factory=dict)
    folders: list[Folder] = field(default_factory=list)

    def owner_is_dead(self) -> bool:
        """True when the owning process is gone or its pid now names another process."""
        now = Proc.observe(self.owner.pid)
        return now is None or now.started != self.owner.started

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the record file."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ownership:
        """Read a record written by as_dict()."""

        def proc(raw: dict[str, Any]) -> Proc:
            return Proc(
                int(raw["pid"]),
                int(raw["started"]),
                tuple(raw["cmdline"]),
                int(raw["stop_signal"]),
            )

        return cls(
            kind=str(data["kind"]),
            owner=proc(data["owner"]),
            processes={name: proc(raw) for name, raw in data["processes"].items()},
            folders=[
                Folder(str(f["path"]), int(f["device"]), int(f["inode"])) for f in data["folders"]
            ],
        )


class Claim:
    """A live run's record of one thing it started: rewritten as it changes, removed at the end."""

    def __init__(self, kind: str, directory: Path | None = None) -> None:
        self.directory = private_dir(directory or run_dir())
        self.ownership = Ownership(kind, this_process())
        self.path = self.directory / f"{kind}-{os.getpid()}-{secrets.token_hex(4)}.json"

    def _write(self) -> None:
        temp = self.path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.ownership.as_dict(), out)
        temp.replace(self.path)

    def track(self, name: str, pid: int, stop_signal: int) -> None:
        """Record the process `pid` (as it is now) under `name`, replacing an earlier one."""
        found = Proc.observe(pid, stop_signal)
        if found is not None:
            self.ownership.processes[name] = found
            self._write()

    def forget(self, name: str) -> None:
        """The process `name` was stopped by its owner."""
        if self.ownership.processes.pop(name, None) is not None:
            self._write()

    def add_folder(self, path: Path) -> None:
        """Record a temporary folder this run made."""
        self.ownership.folders.append(Folder.observe(path))
        self._write()

    def release(self) -> None:
        """Drop the record once what it names is gone; a leftover keeps it for a later reap."""
        if any(p.is_running() for p in self.ownership.processes.values()):
            return
        if any(os.path.lexists(f.path) for f in self.ownership.folders):
            return
        self.path.unlink(missing_ok=True)


def read(path: Path) -> Ownership | None:
    """The record at `path`; None when it cannot be read (half written, malformed)."""
    try:
        return Ownership.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def reap_one(path: Path, ownership: Ownership) -> list[str]:
    """Stop and delete what a dead run's record proves to be its own; lines saying what."""
    done: list[str] = []
    stopped_all = True
    for name, proc in ownership.processes.items():
        if not proc.is_running():
            continue
        if proc.stop():
            done.append(
                f"stopped {ownership.kind} {name} pid {proc.pid} of dead run {ownership.owner.pid}"
            )
        else:
            stopped_all = False
            log.warning(
                "could not stop %s pid %s left by run %s", name, proc.pid, ownership.owner.pid
            )
    if not stopped_all:
        return done  # a folder a live process still uses stays; the record too
    for folder in ownership.folders:
        existed = os.path.lexists(folder.path)
        if folder.remove():
            if existed:
                done.append(f"deleted {folder.path} of dead run {ownership.owner.pid}")
        elif folder.is_same():
            log.warning("could not delete %s left by run %s", folder.path, ownership.owner.pid)
            return done
    path.unlink(missing_ok=True)
    return done


def reap(directory: Path | None = None) -> list[str]:
    """Reap every dead run's leftovers (see the module doc); never raises, one line per action."""
    try:
        where = private_dir(directory or run_dir())
        paths = sorted(where.glob("*.json"))
    except (OSError, ClusterError) as exc:
        log.warning("not reaping leftovers of earlier runs: %s", exc)
        return []
    done: list[str] = []
    for path in paths:
        ownership = read(path)
        if ownership is None or not ownership.owner_is_dead():
            continue
        try:
            done += reap_one(path, ownership)
        except OSError as exc:
            log.warning("could not reap %s: %s", path, exc)
    for line in done:
        log.info("%s", line)
    return done
