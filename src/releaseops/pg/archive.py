"""Reading pg_dump archives: the table of contents, a full read-through, content hashes.

`pg_restore --list` reads only the table of contents at the front of an archive, so it succeeds on
a dump that was cut short. `pg_restore -f /dev/null` decompresses and parses every data block,
which is what catches truncation and most corruption.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from releaseops import pg
from releaseops.dburl import mask

CHUNK = 1 << 20
QUEUE_CHUNKS = 64  # at most 64 MiB waiting for the read-through
_HEADER = re.compile(r"^;\s+(?P<key>[A-Za-z ]+):\s*(?P<value>.*)$")


@dataclass(frozen=True)
class Toc:
    """What `pg_restore --list` says about an archive."""

    ok: bool
    entries: list[str]
    header: dict[str, str]
    error: str = ""

    def has_table_data(self, table: str) -> bool:
        """True when the archive holds the data of `table` (in any schema)."""
        pattern = re.compile(rf"\bTABLE DATA \S+ {re.escape(table)}\b")
        return any(pattern.search(e) for e in self.entries)


def read_toc(path: Path) -> Toc:
    """Run `pg_restore --list` on `path` and parse its header and entries."""
    proc = pg.run("pg_restore", ["--list", str(path)], check=False)
    if proc.returncode != 0:
        return Toc(ok=False, entries=[], header={}, error=_tail(proc.stderr))
    header: dict[str, str] = {}
    entries: list[str] = []
    for line in proc.stdout.splitlines():
        match = _HEADER.match(line)
        if match:
            header[match.group("key").strip()] = match.group("value").strip()
        elif line.strip() and not line.startswith(";"):
            entries.append(line)
    return Toc(ok=True, entries=entries, header=header)


class ReadThrough:
    """`pg_restore -f /dev/null` fed from Python: decompresses and parses every byte it is given."""

    def __init__(self, archive_format: str = "custom", source: Path | None = None) -> None:
        tool = pg.find("pg_restore")
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish
        argv = [str(tool.path), f"--format={archive_format}", "--file", os.devnull]
        if source is not None:
            argv.append(str(source))
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if source is not None else subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        # A queue and a writer thread decouple pg_restore from the producer: pg_dump never
        # waits for the read-through while the queue has room.
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._writer: threading.Thread | None = None
        if source is None:
            self._writer = threading.Thread(target=self._write, name="read-through", daemon=True)
            self._writer.start()

    def _write(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        broken = False
        while (chunk := self._queue.get()) is not None:
            if broken:
                continue
            try:
                stdin.write(chunk)
            except (BrokenPipeError, ValueError):
                broken = True  # pg_restore gave up; keep draining so the producer never blocks
        with contextlib.suppress(BrokenPipeError, ValueError):
            stdin.close()

    def feed(self, chunk: bytes) -> None:
        """Queue one chunk for pg_restore (blocks only while the queue is full)."""
        if self._writer is not None:
            self._queue.put(chunk)

    def finish(self) -> tuple[int, str]:
        """Close the input, wait for pg_restore; its exit code and the tail of its stderr."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        code = self.proc.wait()
        self._stderr.seek(0)
        err = _tail(self._stderr.read().decode("utf-8", "replace"))
        self._stderr.close()
        return code, err

    def __enter__(self) -> ReadThrough:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
        if not self._stderr.closed:
            self._stderr.close()


def _tail(text: str, lines: int = 3) -> str:
    return mask(" ".join(text.strip().splitlines()[-lines:]))


def tree_digest(files: dict[str, str]) -> str:
    """One sha256 for a directory-format dump: over `sha256  name` lines sorted by name."""
    listing = "".join(f"{files[name]}  {name}\n" for name in sorted(files))
    return hashlib.sha256(listing.encode()).hexdigest()


def hash_tree(root: Path) -> tuple[dict[str, str], int]:
    """Per-file sha256 of a directory-format dump, and its total size."""
    files: dict[str, str] = {}
    size = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        files[path.relative_to(root).as_posix()] = digest.hexdigest()
    return files, size
