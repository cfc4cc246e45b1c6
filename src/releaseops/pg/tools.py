"""PostgreSQL client tools: find them, read their versions, run them without secrets in argv."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ToolFailed, ToolNotFound, ToolVersionTooOld

TOOLS = ("pg_dump", "pg_restore", "psql")
SERVER_TOOLS = ("initdb", "postgres", "pg_ctl")
_VERSION = re.compile(r"\(PostgreSQL\)\s+(?P<version>(?P<major>\d+)(?:\.\d+)*)")
STDERR_TAIL_LINES = 12
# Debian/Ubuntu install each major version here; RELEASEOPS_PG_ROOT overrides it (tests use that).
DEFAULT_PG_ROOT = "/usr/lib/postgresql"


@dataclass(frozen=True)
class Tool:
    """One located client tool and the PostgreSQL version it reports."""

    name: str
    path: Path
    version: str
    major: int

    def as_dict(self) -> dict[str, str | int]:
        """Plain data for evidence."""
        return {
            "name": self.name,
            "path": str(self.path),
            "version": self.version,
            "major": self.major,
        }


def candidate_dirs(environ: Mapping[str, str] | None = None) -> list[str]:
    """Directories searched: PG_BINDIR, pg_config --bindir, newest /usr/lib/postgresql/*."""
    environ = os.environ if environ is None else environ
    dirs: list[str] = []
    if environ.get("PG_BINDIR"):
        dirs.append(environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config", path=environ.get("PATH"))
    if pg_config:
        out = _pg_config_bindir(pg_config)
        if out:
            dirs.append(out)
    root = Path(environ.get("RELEASEOPS_PG_ROOT", DEFAULT_PG_ROOT))
    versioned = sorted(root.glob("*/bin"), key=lambda p: _int_or_zero(p.parent.name), reverse=True)
    dirs.extend(str(p) for p in versioned)
    return list(dict.fromkeys(dirs))


@lru_cache(maxsize=8)
def _pg_config_bindir(pg_config: str) -> str:
    """`pg_config --bindir`, asked once per pg_config binary."""
    try:
        return subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _int_or_zero(text: str) -> int:
    return int(text) if text.isdigit() else 0


def locate(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """Path of tool `name`: PG_BINDIR, then pg_config --bindir, newest versioned dir, then PATH."""
    environ = os.environ if environ is None else environ
    searched = candidate_dirs(environ)
    for directory in searched:
        path = Path(directory) / name
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name, path=environ.get("PATH"))
    if found:
        return Path(found)
    raise ToolNotFound(name, [*searched, "PATH"])


def find(name: str, environ: Mapping[str, str] | None = None) -> Tool:
    """Locate `name` and read its version (`NAME --version`)."""
    path = locate(name, environ)
    version, major = _version_of(str(path))
    return Tool(name=name, path=path, version=version, major=major)


@lru_cache(maxsize=64)
def _version_of(path: str) -> tuple[str, int]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolFailed(Path(path).name, -1, str(exc), [path, "--version"]) from exc
    match = _VERSION.search(out.stdout)
    if out.returncode != 0 or not match:
        raise ToolFailed(
            Path(path).name,
            out.returncode,
            f"unexpected --version output: {out.stdout[:200]!r}",
            [path, "--version"],
        )
    return match.group("version"), int(match.group("major"))


def require_at_least(tool: Tool, server_major: int) -> None:
    """Raise ToolVersionTooOld when `tool` is older than the server's major version."""
    if tool.major < server_major:
        raise ToolVersionTooOld.for_server(tool.path, tool.major, server_major)


def server_major(db: DatabaseUrl) -> int:
    """The server's major version (server_version_num // 10000)."""
    with db.connect() as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def child_env(db: DatabaseUrl | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a tool: the caller's, minus stray PG* settings, plus the target's."""
    base = dict(os.environ if environ is None else environ)
    if db is not None:
        for key in [k for k in base if k.startswith("PG") and k not in ("PG_BINDIR", "PGPASSFILE")]:
            del base[key]
        base.update(db.env())
    base.setdefault("PGCONNECT_TIMEOUT", "10")
    return base


def build_argv(
    tool: Tool, args: Sequence[str], db: DatabaseUrl | None, db_flag: str = "--dbname"
) -> list[str]:
    """The argv for `tool`: connection details go through the environment, never the password."""
    argv = [str(tool.path)]
    if db is not None and db_flag:
        argv.append(f"{db_flag}={db.libpq(with_password=False)}")
    argv.extend(args)
    return argv


def run(
    name: str,
    args: Sequence[str],
    *,
    db: DatabaseUrl | None = None,
    db_flag: str = "--dbname",
    input_text: str | None = None,
    timeout: float | None = None,
    check: bool = True,
    environ: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run tool `name` with `args`; a non-zero exit raises ToolFailed with a masked stderr tail."""
    tool = find(name, environ)
    argv = build_argv(tool, args, db, db_flag)
    try:
        proc = subprocess.run(
            argv,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(db, environ),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(name, -1, f"timed out after {timeout} s", masked_argv(argv)) from exc
    if check and proc.returncode != 0:
        raise failure(name, proc.returncode, proc.stderr, argv)
    return proc


def failure(name: str, returncode: int, stderr: str, argv: Sequence[str]) -> ToolFailed:
    """A ToolFailed carrying the last lines of stderr, passwords masked."""
    tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
    return ToolFailed(name, returncode, dburl.mask(tail), masked_argv(argv))


def masked_argv(argv: Sequence[str]) -> list[str]:
    """Argv with any password masked, for messages and evidence."""
    return [dburl.mask(a) for a in argv]


def psql(db: DatabaseUrl, sql: str, *, timeout: float | None = 60) -> str:
    """Run one SQL text through psql (ON_ERROR_STOP, no psqlrc) and return its unaligned output."""
    proc = run(
        "psql",
        ["--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql],
        db=db,
        timeout=timeout,
    )
    return proc.stdout
