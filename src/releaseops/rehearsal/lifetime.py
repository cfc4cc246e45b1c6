"""What a process and a folder provably are.

A `Proc` is a pid with its start time (clock ticks after boot, from /proc/<pid>/stat) and its
command line: a pid the kernel has since given to another process does not match. A `Folder` is
a path with its device and inode: a directory deleted and made again, or replaced by a symlink,
does not match. A child whose life ends with ours: `releaseops.service.children`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0
KILL_WAIT_S = 5.0


@dataclass(frozen=True)
class Proc:
    """A process as /proc shows it: pid, start time (clock ticks after boot), command line."""

    pid: int
    started: int
    cmdline: tuple[str, ...]
    stop_signal: int = int(signal.SIGTERM)

    @classmethod
    def observe(cls, pid: int, stop_signal: int = int(signal.SIGTERM)) -> Proc | None:
        """The live (not zombie) process `pid` now, or None when there is none."""
        try:
            raw_stat = Path(f"/proc/{pid}/stat").read_text()
            raw_cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        fields = raw_stat[raw_stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):  # a zombie has exited; only its parent's wait() is missing
            return None
        cmdline = tuple(part.decode(errors="replace") for part in raw_cmdline.split(b"\0") if part)
        return cls(pid, int(fields[19]), cmdline, int(stop_signal))

    def is_same(self, now: Proc | None) -> bool:
        """True when `now` is this very process: same pid, start time and command line."""
        return now is not None and (now.pid, now.started, now.cmdline) == (
            self.pid,
            self.started,
            self.cmdline,
        )

    def is_running(self) -> bool:
        """True while this very process lives (a reused pid does not count)."""
        return self.is_same(Proc.observe(self.pid))

    def stop(self) -> bool:
        """Send the stop signal, then SIGKILL; True once it is gone. Only ever this process."""
        for sig, wait in ((self.stop_signal, STOP_WAIT_S), (int(signal.SIGKILL), KILL_WAIT_S)):
            if not self.is_running():
                return True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            deadline = time.monotonic() + wait
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.05)
        return not self.is_running()


def this_process() -> Proc:
    """The calling process, as its record's owner."""
    found = Proc.observe(os.getpid())
    assert found is not None
    return found


@dataclass(frozen=True)
class Folder:
    """A directory a run made: its path, and the device and inode that prove it is the same."""

    path: str
    device: int
    inode: int

    @classmethod
    def observe(cls, path: Path) -> Folder:
        """The directory at `path` now."""
        info = path.lstat()
        return cls(str(path), info.st_dev, info.st_ino)

    def is_same(self) -> bool:
        """True when `path` is still this directory (not replaced, not a symlink)."""
        try:
            info = Path(self.path).lstat()
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and (info.st_dev, info.st_ino) == (
            self.device,
            self.inode,
        )

    def remove(self) -> bool:
        """Delete it when it is provably the same directory; True once it is gone."""
        if self.is_same():
            shutil.rmtree(self.path, ignore_errors=True)
        return not os.path.lexists(self.path)
