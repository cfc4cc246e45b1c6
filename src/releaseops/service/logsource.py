"""Reading API_LOG_SOURCE: a log file (`file:PATH`) or a command's output (`cmd:COMMAND`)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from releaseops.dburl import mask
from releaseops.errors import LogSourceError


def read_source(source: str, *, cwd: Path | None = None, timeout: float = 30) -> list[str]:
    """Read API_LOG_SOURCE: `file:PATH` reads the file, `cmd:COMMAND` runs it and takes stdout."""
    kind, sep, rest = source.partition(":")
    if not sep or kind not in ("file", "cmd") or not rest.strip():
        raise LogSourceError(
            f"API_LOG_SOURCE {mask(source)!r} is not understood: use 'file:PATH' (a log file) "
            f"or 'cmd:COMMAND' (a command printing the log, e.g. "
            f"'cmd:./scripts/dc logs --no-log-prefix --tail=200 api').",
            source=source,
        )
    if kind == "file":
        return _split(_read_file(source, Path(rest.strip()), cwd))
    return _split(_run_command(source, rest, cwd, timeout))


def _read_file(source: str, path: Path, cwd: Path | None) -> str:
    """The file's text (relative paths from `cwd`); undecodable bytes kept as surrogates."""
    full = path if path.is_absolute() or cwd is None else cwd / path
    try:
        return full.read_bytes().decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise LogSourceError(
            f"log file {full} (from API_LOG_SOURCE) does not exist. Point API_LOG_SOURCE at the "
            f"API's log file, or use 'cmd:...' to read it from a command.",
            source=source,
        ) from None
    except OSError as exc:
        raise LogSourceError(
            f"log file {full} (from API_LOG_SOURCE) cannot be read: {exc.strerror or exc}. "
            f"Check the path and its permissions.",
            source=source,
        ) from None


def _run_command(source: str, command: str, cwd: Path | None, timeout: float) -> str:
    """The command's stdout; a failure to run, a timeout or a non-zero exit is an error."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise LogSourceError(
            f"log command {mask(command)!r} cannot be split into arguments: {exc}. "
            f"Check its quotes.",
            source=source,
        ) from None
    shown = mask(shlex.join(argv))
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise LogSourceError(
            f"log command {shown!r} cannot run: {argv[0]} not found. Install it, or give its "
            f"path in API_LOG_SOURCE.",
            source=source,
        ) from None
    except subprocess.TimeoutExpired:
        raise LogSourceError(
            f"log command {shown!r} did not finish within {timeout} s. Make it print a bounded "
            f"log (e.g. '--tail=200', no '--follow').",
            source=source,
        ) from None
    except OSError as exc:
        raise LogSourceError(
            f"log command {shown!r} cannot run: {exc.strerror or exc}.", source=source
        ) from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", errors="replace").strip()[-500:]
        raise LogSourceError(
            f"log command {shown!r} exited with code {done.returncode}: "
            f"{mask(tail) or '(no stderr)'}. Run it by hand to see why.",
            source=source,
        )
    return bytes(done.stdout).decode("utf-8", errors="surrogateescape")


def _split(text: str) -> list[str]:
    """`text` as lines without their line endings (a trailing empty line is dropped)."""
    # Only "\n" ends a line: str.splitlines() would also split on U+2028 and form feeds,
    # which may sit unescaped inside a JSON string and would shift every line number after them.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
