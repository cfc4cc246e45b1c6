"""Files in a backup directory: created and renamed relative to its descriptor, never via links.

A backup directory belongs to the user who writes it, and nobody else may write into it: whoever
can could plant a symbolic link where a backup writes (a root backup would overwrite any file on
the machine through it) or a dump that a rollback restores. `SafeDir.open` refuses such a
directory. Every file or directory made in one is created with O_EXCL|O_NOFOLLOW relative to the
directory's descriptor, and renamed relative to it.

Temporaries are *held*: the process that creates one locks it (flock) until it renames or
removes it, so a temporary whose lock can be taken was left by a process that is gone. Creating
takes the directory's own lock shared and sweeping (`backup.leftovers`) takes it exclusively, so
a sweep never sees a temporary between its creation and its lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from releaseops.backup import ownership

DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
EXISTING = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# flock is not offered everywhere (some network file systems): nothing is then provably stale.
_NO_LOCKS = {errno.EBADF, errno.EINVAL, errno.ENOLCK, errno.EOPNOTSUPP}


def _lock(fd: int, operation: int) -> bool:
    """Lock `fd` (flock `operation`); False where the file system offers no locks."""
    try:
        fcntl.flock(fd, operation)
    except OSError as exc:
        if exc.errno in _NO_LOCKS:
            return False
        raise
    return True


def _can_lock(fd: int) -> bool:
    """True when nobody holds `fd`'s file: its lock was taken (it stays ours until closed)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held (EWOULDBLOCK), or no locks here: not provably stale
        return False
    return True


def _open_dir(path: Path, name: str | Path, parent: int | None) -> int:
    try:
        return os.open(name, DIRECTORY, dir_fd=parent)
    except NotADirectoryError:
        if path.is_symlink():
            raise ownership.refuse_link(path) from None
        raise


class SafeDir:
    """An open directory: every name is relative to its descriptor, never followed as a link."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def open(cls, path: Path, *, create: bool = False, check: bool = True) -> SafeDir:
        """Open `path` (made 0700 when `create` and missing); with `check`, refuse it if unsafe."""
        path = Path(path)
        made = False
        if create and not os.path.lexists(path):
            with contextlib.suppress(FileExistsError):
                path.mkdir(parents=True, mode=PRIVATE_DIR)
                made = True
        return cls._checked(path, _open_dir(path, path, None), check=check, made=made)

    def sub(self, name: str, *, create: bool = False, check: bool = True) -> SafeDir:
        """Subdirectory `name`, opened relative to this one (made 0700 when `create`)."""
        made = False
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, PRIVATE_DIR, dir_fd=self.fd)
                made = True
        path = self.path / name
        return SafeDir._checked(path, _open_dir(path, name, self.fd), check=check, made=made)

    @classmethod
    def _checked(cls, path: Path, fd: int, *, check: bool, made: bool) -> SafeDir:
        found = os.fstat(fd)
        if check and ownership.problems(found):
            os.close(fd)
            raise ownership.refuse(path, found)
        if made:
            os.fchmod(fd, PRIVATE_DIR)
        return cls(path, fd)

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The entries of the directory, sorted."""
        return sorted(os.listdir(self.fd))

    def lstat(self, name: str) -> os.stat_result | None:
        """The status of entry `name` itself (a link is not followed), None when absent."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def read(self, name: str) -> bytes | None:
        """The bytes of regular file `name` (never through a link), None when absent."""
        try:
            fd = os.open(name, EXISTING, dir_fd=self.fd)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def size(self, name: str) -> int:
        """Bytes held by entry `name`: a file's size, or the sum of a directory's files."""
        found = self.lstat(name)
        if found is None:
            return 0
        if not stat.S_ISDIR(found.st_mode):
            return found.st_size
        total = 0
        for _, _, files, fd in os.fwalk(name, dir_fd=self.fd):
            for entry in files:
                with contextlib.suppress(OSError):
                    total += os.stat(entry, dir_fd=fd, follow_symlinks=False).st_size
        return total

    # --- creating and renaming -----------------------------------------------------------------

    def new_file(self, name: str) -> int:
        """Create file `name` (0600, O_EXCL|O_NOFOLLOW) and hold it; returns its descriptor."""
        with self._locked(fcntl.LOCK_SH):
            fd = os.open(name, NEW_FILE, PRIVATE_FILE, dir_fd=self.fd)
            _lock(fd, fcntl.LOCK_EX)
        return fd

    def new_dir(self, name: str) -> int:
        """Create directory `name` (0700, never via a link) and hold it; returns its descriptor."""
        with self._locked(fcntl.LOCK_SH):
            os.mkdir(name, PRIVATE_DIR, dir_fd=self.fd)
            fd = os.open(name, DIRECTORY, dir_fd=self.fd)
            os.fchmod(fd, PRIVATE_DIR)
            _lock(fd, fcntl.LOCK_EX)
        return fd

    def link(self, src: str, dst: str) -> None:
        """Give `src` the second name `dst`; an existing `dst` is never replaced."""
        os.link(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)

    def rename_new(self, src: str, dst: str) -> None:
        """Rename `src` to `dst`, which must not exist yet."""
        if self.lstat(dst) is not None:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(self.path / dst))
        os.rename(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def replace(self, src: str, dst: str) -> None:
        """Rename `src` to `dst`, replacing `dst` (a link there is replaced, not followed)."""
        os.replace(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def remove(self, name: str) -> None:
        """Delete entry `name` (a directory with its contents); a missing one is fine."""
        found = self.lstat(name)
        if found is not None and stat.S_ISDIR(found.st_mode):
            shutil.rmtree(name, dir_fd=self.fd)
        elif found is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=self.fd)

    def sync(self) -> None:
        """Flush the directory to disk (fsync), so renames in it survive a crash."""
        os.fsync(self.fd)

    def write_atomically(self, name: str, data: bytes) -> Path:
        """Write `name` through a held temporary (fsync, rename); an existing one is replaced."""
        temp = f".{name}.partial"
        fd = self._new_temp(temp)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            self.replace(temp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=self.fd)
            raise
        finally:
            os.close(fd)
        self.sync()
        return self.path / name

    def _new_temp(self, name: str) -> int:
        try:
            return self.new_file(name)
        except FileExistsError:
            with self.sweeping() as locked:
                if not (locked and self.remove_if_stale(name)):
                    raise
        return self.new_file(name)

    # --- sweeping ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[bool]:
        locked = _lock(self.fd, operation)
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(self.fd, fcntl.LOCK_UN)

    def sweeping(self) -> contextlib.AbstractContextManager[bool]:
        """Lock the directory exclusively (no temporary is being created); False: no locks here."""
        return self._locked(fcntl.LOCK_EX)

    def is_stale(self, name: str) -> bool:
        """Whether entry `name` is held by no live process (call it while sweeping)."""
        return self._stale(name, remove=False)

    def remove_if_stale(self, name: str) -> bool:
        """Remove entry `name` when no live process holds it (while sweeping); True if removed."""
        return self._stale(name, remove=True)

    def _stale(self, name: str, *, remove: bool) -> bool:
        found = self.lstat(name)
        if found is None:
            return False
        fd = -1  # a link, pipe or socket: no process of ours makes one, none holds it
        if stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode):
            try:
                fd = os.open(name, EXISTING, dir_fd=self.fd)
            except OSError:
                return False
        try:
            stale = fd < 0 or _can_lock(fd)
            if stale and remove:
                self.remove(name)
        finally:
            if fd >= 0:
                os.close(fd)
        return stale


def write_below(directory: Path, sub: str, name: str, data: bytes) -> Path:
    """Write `directory/sub/name` atomically; both directories checked, made 0700 when missing."""
    with SafeDir.open(directory, create=True) as top, top.sub(sub, create=True) as below:
        return below.write_atomically(name, data)


def restrict(fd: int) -> None:
    """Make the held directory `fd` and all below it owner-only (0700 directories, 0600 files)."""
    os.fchmod(fd, PRIVATE_DIR)
    for _, dirs, files, parent in os.fwalk(".", dir_fd=fd):
        for name in (*dirs, *files):
            try:
                entry = os.open(name, EXISTING, dir_fd=parent)
            except OSError:  # a link (O_NOFOLLOW) is left alone, never followed
                continue
            try:
                is_dir = stat.S_ISDIR(os.fstat(entry).st_mode)
                os.fchmod(entry, PRIVATE_DIR if is_dir else PRIVATE_FILE)
            finally:
                os.close(entry)
