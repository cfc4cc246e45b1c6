"""Reading API_LOG_SOURCE: a log file (`file:PATH`) or a command's output (`cmd:COMMAND`).

`open_source` streams it as bytes (the log engine reads it once, in blocks, in constant memory);
`read_source` returns it as a list of text lines, for small logs and older callers.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from releaseops.dburl import mask
from releaseops.errors import LogSourceError


def _parse(source: str) -> tuple[str, str]:
    """('file', PATH) or ('cmd', COMMAND); LogSourceError for anything else."""
    kind, sep, rest = source.partition(":")
    if not sep or kind not in ("file", "cmd") or not rest.strip():
        raise LogSourceError(
            f"API_LOG_SOURCE {mask(source)!r} is not understood: use 'file:PATH' (a log file) "
            f"or 'cmd:COMMAND' (a command printing the log, e.g. "
            f"'cmd:./scripts/dc logs --no-log-prefix --tail=200 api').",
            source=source,
        )
    return kind, rest


def read_source(source: str, *, cwd: Path | None = None, timeout: float = 30) -> list[str]:
    """Read API_LOG_SOURCE: `file:PATH` reads the file, `cmd:COMMAND` runs it and takes stdout."""
    kind, rest = _parse(source)
    if kind == "file":
        return _split(_read_file(source, Path(rest.strip()), cwd))
    return _split(_run_command(source, rest, cwd, timeout))


@contextmanager
def open_source(
    source: str, *, cwd: Path | None = None, timeout: float = 30
) -> Iterator[IO[bytes]]:
    """API_LOG_SOURCE as a binary stream: the file, or the command's stdout while it runs.

    A command that fails, or runs longer than `timeout` seconds, raises LogSourceError when
    the stream is closed (after the reader has seen what it printed).
    """
    kind, rest = _parse(source)
    if kind == "cmd":
        with _command_stream(source, rest, cwd, timeout) as stream:
            yield stream
        return
    full = _full_path(Path(rest.strip()), cwd)
    try:
        handle = full.open("rb")
    except OSError as exc:
        raise _file_error(source, full, exc) from None
    with handle:
        yield handle


def _full_path(path: Path, cwd: Path | None) -> Path:
    return path if path.is_absolute() or cwd is None else cwd / path


def _file_error(source: str, full: Path, exc: OSError) -> LogSourceError:
    if isinstance(exc, FileNotFoundError):
        return LogSourceError(
            f"log file {full} (from API_LOG_SOURCE) does not exist. Point API_LOG_SOURCE at the "
            f"API's log file, or use 'cmd:...' to read it from a command.",
            source=source,
        )
    return LogSourceError(
        f"log file {full} (from API_LOG_SOURCE) cannot be read: {exc.strerror or exc}. "
        f"Check the path and its permissions.",
        source=source,
    )


def _read_file(source: str, path: Path, cwd: Path | None) -> str:
    """The file's text (relative paths from `cwd`); undecodable bytes kept as surrogates."""
    full = _full_path(path, cwd)
    try:
        return full.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        raise _file_error(source, full, exc) from None


def _argv(source: str, command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise LogSourceError(
            f"log command {mask(command)!r} cannot be split into arguments: {exc}. "
            f"Check its quotes.",
            source=source,
        ) from None


@contextmanager
def _command_stream(
    source: str, command: str, cwd: Path | None, timeout: float
) -> Iterator[IO[bytes]]:
    """The command's stdout as it runs; it is killed after `timeout` seconds."""
    argv = _argv(source, command)
    shown = mask(shlex.join(argv))
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise _start_error(source, shown, argv, exc) from None
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, expire)
        timer.start()
        assert proc.stdout is not None
        try:
            yield proc.stdout
            while proc.stdout.read(1 << 16):  # what the reader left; the timer still applies
                pass
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            code = proc.wait()
            timer.cancel()
        errors.seek(0)
        stderr = errors.read()
    if expired.is_set():
        raise _timeout_error(source, shown, timeout)
    if code != 0:
        raise _exit_error(source, shown, code, stderr)


def _start_error(source: str, shown: str, argv: list[str], exc: OSError) -> LogSourceError:
    if isinstance(exc, FileNotFoundError):
        return LogSourceError(
            f"log command {shown!r} cannot run: {argv[0]} not found. Install it, or give its "
            f"path in API_LOG_SOURCE.",
            source=source,
        )
    return LogSourceError(
        f"log command {shown!r} cannot run: {exc.strerror or exc}.", source=source
    )


def _timeout_error(source: str, shown: str, timeout: float) -> LogSourceError:
    return LogSourceError(
        f"log command {shown!r} did not finish within {timeout} s. Make it print a bounded "
        f"log (e.g. '--tail=200', no '--follow').",
        source=source,
    )


def _exit_error(source: str, shown: str, code: int, stderr: bytes) -> LogSourceError:
    tail = stderr.decode("utf-8", errors="replace").strip()[-500:]
    return LogSourceError(
        f"log command {shown!r} exited with code {code}: "
        f"{mask(tail) or '(no stderr)'}. Run it by hand to see why.",
        source=source,
    )


def _run_command(source: str, command: str, cwd: Path | None, timeout: float) -> str:
    """The command's stdout; a failure to run, a timeout or a non-zero exit is an error."""
    argv = _argv(source, command)
    shown = mask(shlex.join(argv))
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise _timeout_error(source, shown, timeout) from None
    except OSError as exc:
        raise _start_error(source, shown, argv, exc) from None
    if done.returncode != 0:
        raise _exit_error(source, shown, done.returncode, done.stderr)
    return bytes(done.stdout).decode("utf-8", errors="surrogateescape")


def _split(text: str) -> list[str]:
    """`text` as lines without their line endings (a trailing empty line is dropped)."""
    # Only "\n" ends a line: str.splitlines() would also split on U+2028 and form feeds,
    # which may sit unescaped inside a JSON string and would shift every line number after them.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
