"""The files of one backup being written: its held temporary, how pg_dump fills it, publishing.

The temporary (`.<dump>.partial`) is created and held (locked) in the checked backup directory
(`backup.safefiles`). pg_dump either streams a custom archive through us into it, or writes a
directory archive itself into the empty directory we made. The finished dump gets its final
name relative to the directory's descriptor, never replacing anything.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from releaseops import pg
from releaseops.backup import safefiles
from releaseops.backup.safefiles import SafeDir
from releaseops.backup.verification import Check, read_through_check
from releaseops.dburl import DatabaseUrl
from releaseops.errors import BackupFailed, ConnectionLost
from releaseops.pg.archive import CHUNK, ReadThrough, hash_tree, tree_digest

# What libpq reports, through pg_dump, when the server went away in the middle of the dump.
_LOST = (
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "could not receive data from server",
    "no connection to the server",
    "SSL SYSCALL error: EOF detected",
)


@dataclass(frozen=True)
class InProgress:
    """One backup being written: its held temporary (file or directory), and its final name."""

    directory: SafeDir
    final: str
    temp: str
    fd: int

    @property
    def final_path(self) -> Path:
        """Where the finished dump will be."""
        return self.directory.path / self.final

    @property
    def temp_path(self) -> Path:
        """Where it is written meanwhile."""
        return self.directory.path / self.temp

    def discard(self) -> None:
        """Remove the temporary (unless it was published) and let go of it."""
        try:
            self.directory.remove(self.temp)
        finally:
            os.close(self.fd)


def failed(code: int, stderr: str, argv: list[str]) -> BackupFailed | ConnectionLost:
    """pg_dump's failure; ConnectionLost (exit 3) when libpq says the server went away."""
    failure = pg.failure("pg_dump", code, stderr, argv)
    if any(sign in stderr for sign in _LOST):
        return ConnectionLost.during(f"pg_dump stopped mid-dump ({failure}); no backup was written")
    return BackupFailed(f"backup not taken: {failure}")


def stream_custom(
    tool: pg.Tool, url: DatabaseUrl, extra: list[str], fd: int
) -> tuple[str, int, dict[str, str], Check]:
    """Stream pg_dump's stdout into the file, the hash and pg_restore at once (one pass)."""
    argv = pg.build_argv(tool, ["--format=custom", *extra], url)
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as err, ReadThrough() as checker:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=pg.child_env(url))
        try:
            assert proc.stdout is not None
            with os.fdopen(fd, "wb", closefd=False) as out:  # buffered: no short writes
                while chunk := proc.stdout.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    checker.feed(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(fd)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        streamed = read_through_check(*checker.finish())
        if code != 0:
            err.seek(0)
            raise failed(code, err.read().decode("utf-8", "replace"), argv)
    return digest.hexdigest(), size, {}, streamed


def dump_directory(
    tool: pg.Tool, url: DatabaseUrl, extra: list[str], jobs: int, work: InProgress
) -> tuple[str, int, dict[str, str], Check]:
    """pg_dump -Fd into the held directory (parallel when asked); hash it while pg_restore reads.

    pg_dump writes into an existing directory only when it is empty, and follows a link to
    one: it gets the very directory we made, by its descriptor (/proc/self/fd/N), which it
    inherits along with the lock, so the temporary stays held while any pg_dump writes to it.
    """
    temp = work.temp_path
    into = f"/proc/self/fd/{work.fd}" if Path("/proc/self/fd").is_dir() else str(temp)
    args = ["--format=directory", f"--jobs={jobs}", f"--file={into}", *extra]
    argv = pg.build_argv(tool, args, url)
    with tempfile.TemporaryFile() as err:
        env = pg.child_env(url)
        done = subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=err, env=env, pass_fds=(work.fd,), check=False
        )
        code = done.returncode
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").replace(into, str(temp))
    if code != 0:
        raise failed(code, stderr, argv)
    held, named = os.fstat(work.fd), work.directory.lstat(work.temp)
    if named is None or (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
        raise BackupFailed(f"backup not taken: {temp} was replaced while pg_dump wrote it")
    safefiles.restrict(work.fd)
    with ReadThrough("directory", temp) as checker:
        files, size = hash_tree(temp)
        streamed = read_through_check(*checker.finish())
    return tree_digest(files), size, files, streamed


def publish(work: InProgress, *, is_dir: bool) -> None:
    """Give the finished dump its final name without ever replacing an existing one."""
    if is_dir:
        work.directory.rename_new(work.temp, work.final)
    else:
        work.directory.link(work.temp, work.final)
        work.directory.remove(work.temp)
    work.directory.sync()
