"""A throwaway PostgreSQL cluster from local binaries, and the choice of cluster kind."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

import psycopg

from releaseops import pg
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ClusterError, ToolNotFound
from releaseops.rehearsal import reaper
from releaseops.service.children import die_with_parent

if TYPE_CHECKING:
    from releaseops.rehearsal.container import ContainerCluster

log = logging.getLogger(__name__)

Provider = Literal["local", "container", "auto"]
SUPERUSER = "releaseops"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
# Speed over durability: the cluster lives for one test session and is then deleted.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
    "log_min_messages": "warning",
}
# Password auth, md5 rather than SCRAM: SCRAM's 4096 PBKDF2 rounds cost about 5 ms of CPU per
# connection on each side, most of what a connection costs, and the suites of a rehearsal open
# tens of thousands. This cluster listens on 127.0.0.1 only and lives for one session. Its
# random password reaches initdb as its md5 hash, which md5 auth accepts in the password's
# place: it is as secret, and stays in the owner-only file initdb reads, deleted at once.
AUTH_METHOD = "md5"


# The cluster's files are scratch: on a RAM-backed tmpfs each CREATE DATABASE (hundreds of new
# files) cost 8 ms here, against 163 ms on the journaled disk. /dev/shm is used when it is a
# tmpfs with room to spare (a container's is often 64 MB); RELEASEOPS_PG_TMPDIR names the
# folder instead, or "" for the system's temporary folder.
RAM_DIR = Path("/dev/shm")
RAM_MIN_FREE = 2 * 1024**3
TMPDIR_VARIABLE = "RELEASEOPS_PG_TMPDIR"


def scratch_parent(
    ram_dir: Path = RAM_DIR,
    *,
    mounts: Path = Path("/proc/self/mounts"),
    min_free: int = RAM_MIN_FREE,
) -> Path | None:
    """The folder a throwaway cluster's directory goes in; None is the system's default."""
    chosen = os.environ.get(TMPDIR_VARIABLE)
    if chosen:
        if not Path(chosen).is_dir():
            raise ClusterError(
                f"{TMPDIR_VARIABLE}={chosen} is not a directory: create it (the server's OS user "
                f"must be able to enter it), or unset it to use /dev/shm or the temporary folder"
            )
        return Path(chosen)
    if chosen is not None:
        return None
    try:
        rows = [line.split() for line in mounts.read_text().splitlines()]
        fstypes = {row[1]: row[2] for row in rows if len(row) > 2}
        room = os.statvfs(ram_dir)
    except OSError:
        return None
    if fstypes.get(str(ram_dir)) != "tmpfs" or not os.access(ram_dir, os.W_OK | os.X_OK):
        return None
    return ram_dir if room.f_bavail * room.f_frsize >= min_free else None


def md5_password(password: str, user: str) -> str:
    """PostgreSQL's stored form of an md5 password: "md5" + md5(password + user)."""
    return "md5" + hashlib.md5((password + user).encode(), usedforsecurity=False).hexdigest()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Cluster(Protocol):
    """What the plugin needs of any throwaway cluster."""

    url: DatabaseUrl

    def start(self) -> Cluster:
        """Create and start; return self once it accepts connections."""

    def stop(self) -> None:
        """Stop and delete everything; safe to call twice."""


def _os_user() -> pwd.struct_passwd | None:
    """The non-root user to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("RELEASEOPS_PG_OS_USER", "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ClusterError(
            f"running as root, and PostgreSQL refuses to run as root; no OS user {name!r} exists. "
            f"Create one (useradd --system {name}) or set RELEASEOPS_PG_OS_USER to a non-root user."
        ) from None


class LocalCluster:
    """A private cluster from local binaries, in a temporary directory, on 127.0.0.1."""

    def __init__(self, *, port: int | None = None, bindir: Path | None = None) -> None:
        self.port = port or free_port()
        self.bindir = bindir
        self.password = secrets.token_urlsafe(24)
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.claim: reaper.Claim | None = None
        self.url = DatabaseUrl(
            dbname="postgres",
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=self.password,
        )

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs."""
        return self.process.pid if self.process else None

    @property
    def log_path(self) -> Path | None:
        """The server log, for failure messages."""
        return self.workdir / "postgres.log" if self.workdir else None

    def _binary(self, name: str) -> str:
        if self.bindir is not None:
            return str(self.bindir / name)
        try:
            return str(pg.locate(name))
        except ToolNotFound as exc:
            raise ClusterError(
                f"the embedded target needs the PostgreSQL server binaries ({name}): {exc}"
            ) from exc

    def _spawn_kwargs(self) -> dict[str, object]:
        # If the test process is killed outright, the postmaster gets SIGQUIT (immediate
        # shutdown) instead of living on as an orphan.
        user = _os_user()
        kwargs: dict[str, object] = {"preexec_fn": die_with_parent(signal.SIGQUIT)}
        if user is not None:
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        return kwargs

    def _prepare_workdir(self) -> Path:
        reaper.reap()
        self.claim = reaper.Claim("cluster")
        workdir = Path(tempfile.mkdtemp(prefix="releaseops-pg-", dir=scratch_parent()))
        self.workdir = workdir
        self.claim.add_folder(workdir)
        (workdir / "sock").mkdir()
        user = _os_user()
        if user is not None:
            for path in (workdir, workdir / "sock"):
                os.chown(path, user.pw_uid, user.pw_gid)
        return workdir

    def _write_pwfile(self, workdir: Path) -> Path:
        """The superuser password for initdb: readable by the server's user only, never reused."""
        pwfile = workdir / "pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            user = _os_user()
            if user is not None:
                os.fchown(out.fileno(), user.pw_uid, user.pw_gid)
            # A password that is already an md5 hash is stored as it is (never the plaintext).
            out.write(md5_password(self.password, SUPERUSER) + "\n")
        return pwfile

    def _initdb(self, workdir: Path) -> None:
        pwfile = self._write_pwfile(workdir)
        argv = [
            self._binary("initdb"),
            "-D",
            str(workdir / "data"),
            "-U",
            SUPERUSER,
            f"--auth={AUTH_METHOD}",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        try:  # the password file goes the moment initdb has read it, whatever happened
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=120,
                cwd=workdir,
                check=False,
                **self._spawn_kwargs(),
            )  # type: ignore[call-overload]
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ClusterError(f"initdb failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")

    def start(self) -> LocalCluster:
        """initdb, start the postmaster, wait until it accepts a password login."""
        workdir = self._prepare_workdir()
        try:
            self._initdb(workdir)
            self._spawn(workdir)
        except BaseException:
            self.stop()
            raise
        log.info("embedded PostgreSQL started on port %s (pid %s)", self.port, self.pid)
        return self

    def _spawn(self, workdir: Path) -> None:
        """Start the postmaster on the existing data directory and wait until it answers."""
        argv = [
            self._binary("postgres"),
            "-D",
            str(workdir / "data"),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={workdir / 'sock'}",
        ]
        for key, value in FAST_SETTINGS.items():
            argv += ["-c", f"{key}={value}"]
        with (workdir / "postgres.log").open("ab") as log_file:
            self.process = subprocess.Popen(  # type: ignore[call-overload]
                argv,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
                start_new_session=True,
                **self._spawn_kwargs(),
            )
        assert self.process is not None and self.claim is not None
        self.claim.track("postmaster", self.process.pid, signal.SIGQUIT)
        self._wait_ready()

    def halt(self) -> None:
        """Stop the server at once, keeping its data: like a crash (immediate shutdown).

        `resume()` starts it again on the same data and port; it recovers from its WAL.
        """
        process, self.process = self.process, None
        if process is not None:
            _shut_down(process, ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)))
        if self.claim is not None:
            self.claim.forget("postmaster")

    def resume(self) -> LocalCluster:
        """Start the halted server again on the same data directory and port."""
        if self.workdir is None:
            raise ClusterError("resume() needs a cluster that was started and halted, not stopped")
        if self.process is None:
            self._spawn(self.workdir)
        return self

    def _wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ClusterError(
                    f"postgres exited with {self.process.returncode}: {self._log_tail()}"
                )
            try:
                with psycopg.connect(self.url.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"postgres did not accept connections within {timeout} s: "
                        f"{exc}; log: {self._log_tail()}"
                    ) from None
            time.sleep(0.1)

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(errors="replace")[-1200:].strip()

    def stop(self) -> None:
        """Fast shutdown, escalating to SIGQUIT then SIGKILL; then delete the directory."""
        process, self.process = self.process, None
        if process is not None:
            _shut_down(
                process,
                ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)),
            )
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
            if workdir.exists():
                log.warning("could not remove %s", workdir)
        claim, self.claim = self.claim, None
        if claim is not None:
            claim.forget("postmaster")
            claim.release()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _shut_down(
    process: subprocess.Popen[bytes], steps: tuple[tuple[signal.Signals, float], ...]
) -> None:
    """Send each signal in turn until the process has exited."""
    for sig, wait in steps:
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            log.warning("postgres pid %s ignored %s; escalating", process.pid, sig.name)


def make_cluster(provider: Provider = "local") -> LocalCluster | ContainerCluster:
    """Pick the cluster kind: `auto` means a container where Docker answers, else local binaries."""
    from releaseops.rehearsal.container import ContainerCluster, docker_available

    if provider == "container" or (provider == "auto" and docker_available()):
        return ContainerCluster()
    return LocalCluster()
