"""A throwaway PostgreSQL cluster for the embedded target: local binaries or a container."""

from __future__ import annotations

import contextlib
import ctypes
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
from typing import Literal, Protocol

import psycopg

from releaseops import pgtools
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ClusterError, DockerUnavailable, ToolNotFound

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
_PR_SET_PDEATHSIG = 1


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


def _die_with_parent() -> None:
    # Runs in the child after the uid switch: if the test process is killed outright, the
    # postmaster gets SIGQUIT instead of living on as an orphan.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


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
            return str(pgtools.locate(name))
        except ToolNotFound as exc:
            raise ClusterError(
                f"the embedded target needs the PostgreSQL server binaries ({name}): {exc}"
            ) from exc

    def _spawn_kwargs(self) -> dict[str, object]:
        user = _os_user()
        kwargs: dict[str, object] = {"preexec_fn": _die_with_parent}
        if user is not None:
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        return kwargs

    def _prepare_workdir(self) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix="releaseops-pg-"))
        self.workdir = workdir
        (workdir / "sock").mkdir()
        user = _os_user()
        if user is not None:
            for path in (workdir, workdir / "sock"):
                os.chown(path, user.pw_uid, user.pw_gid)
        return workdir

    def _initdb(self, workdir: Path) -> None:
        pwfile = workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        user = _os_user()
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        argv = [
            self._binary("initdb"),
            "-D",
            str(workdir / "data"),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        try:
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
            log_file = (workdir / "postgres.log").open("wb")
            with log_file:
                self.process = subprocess.Popen(  # type: ignore[call-overload]
                    argv,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=workdir,
                    start_new_session=True,
                    **self._spawn_kwargs(),
                )
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("embedded PostgreSQL started on port %s (pid %s)", self.port, self.pid)
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
        if process is not None and process.poll() is None:
            for sig, wait in (
                (signal.SIGINT, STOP_TIMEOUT),
                (signal.SIGQUIT, 5.0),
                (signal.SIGKILL, 5.0),
            ):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    log.warning("postgres pid %s ignored %s; escalating", process.pid, sig.name)
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
            if workdir.exists():
                log.warning("could not remove %s", workdir)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ContainerCluster:
    """A cluster in a testcontainers PostgresContainer; needs a reachable Docker engine."""

    def __init__(self, image: str = "postgres:15-alpine") -> None:
        self.image = image
        self.password = secrets.token_urlsafe(24)
        self.url = DatabaseUrl(
            dbname="postgres", host="127.0.0.1", port=0, user=SUPERUSER, password=self.password
        )
        self._container: object | None = None

    def start(self) -> ContainerCluster:
        """Start the container; DockerUnavailable when no engine answers."""
        from docker.errors import DockerException

        try:  # testcontainers >= 4.9 moved the module and deprecated the old path
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer

        reason = docker_unavailable_reason()
        if reason is not None:
            raise DockerUnavailable(
                f"no Docker engine is reachable ({reason}); use --pg-provider local to run on "
                f"local PostgreSQL binaries"
            )
        try:
            container = PostgresContainer(
                self.image, username=SUPERUSER, password=self.password, dbname="postgres"
            )
        except DockerException as exc:
            raise DockerUnavailable(f"Docker refused the container: {exc}") from None
        container.start()
        self._container = container
        self.url = DatabaseUrl(
            dbname="postgres",
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
            user=SUPERUSER,
            password=self.password,
        )
        return self

    def stop(self) -> None:
        """Stop and remove the container."""
        container, self._container = self._container, None
        if container is not None:
            container.stop()  # type: ignore[attr-defined]

    def __enter__(self) -> ContainerCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def docker_unavailable_reason(environ: dict[str, str] | None = None) -> str | None:
    """None when the Docker engine's socket accepts a connection, else why not."""
    # Probe the socket ourselves: docker-py leaks its socket when the engine is absent.
    host = (environ if environ is not None else os.environ).get(
        "DOCKER_HOST", "unix:///var/run/docker.sock"
    )
    family, address = _docker_address(host)
    if family is None:
        return f"unsupported DOCKER_HOST {host!r}"
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        try:
            sock.connect(address)
        except OSError as exc:
            return f"{host}: {exc.strerror or exc}"
    return None


def _docker_address(host: str) -> tuple[socket.AddressFamily | None, str | tuple[str, int]]:
    if host.startswith("unix://"):
        return socket.AF_UNIX, host[len("unix://") :]
    if host.startswith("tcp://"):
        hostname, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
        if port.isdigit():
            return socket.AF_INET, (hostname, int(port))
    return None, host


def docker_available() -> bool:
    """True when a Docker engine answers a ping."""
    return docker_unavailable_reason() is None


def make_cluster(provider: Provider = "local") -> LocalCluster | ContainerCluster:
    """Pick the cluster kind: `auto` means a container where Docker answers, else local binaries."""
    if provider == "container" or (provider == "auto" and docker_available()):
        return ContainerCluster()
    return LocalCluster()
