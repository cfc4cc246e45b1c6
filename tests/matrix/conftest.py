"""The fault matrix's shared pieces: a private cluster, a role with a hostile password, scripts.

Every script runs as an operator would run it, with the database URL (password percent-encoded)
in DATABASE_URL and never in its arguments. Whatever a test saw (output, files) is searched
for the password and each fragment of it: nothing may leak, not even a piece.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import pytest

from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import create_database, drop_database
from releaseops.rehearsal.cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
# Every character a URL gives a meaning to, between six-character fragments that cannot
# turn up by chance: a leak of any part of the password is found by its fragments.
PASSWORD = "Kx9VqA@Lm4RtB:Pz8QaC/Wn3UeD%Yc6IoE#Hd5SxF?Jf7TbG Bg1NmH"
FRAGMENTS = re.split(r"[@:/%#? ]", PASSWORD)
ROLE = "matrix"
T = TypeVar("T")


def secrets_in(text: str | bytes) -> list[str]:
    """Which of the password, its encoded form and its fragments appear in `text`."""
    data = text.encode() if isinstance(text, str) else text
    needles = [PASSWORD, quote(PASSWORD, safe=""), *FRAGMENTS]
    return [n for n in needles if n.encode() in data]


def assert_no_secret(*texts: str, paths: tuple[Path, ...] = ()) -> None:
    """No output and no file under `paths` holds any part of the password."""
    __tracebackhide__ = True
    for text in texts:
        assert not secrets_in(text), f"password fragment {secrets_in(text)} in {text[:300]!r}"
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            found = secrets_in(path.read_bytes())
            assert not found, f"password fragment {found} in {path}"


def wait_for(probe: Callable[[], T | None], timeout: float = 30, every: float = 0.02) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up after {timeout} s"
        time.sleep(every)


class Matrix:
    """The private cluster and the role every script connects as."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.outputs: list[str] = []

    def url(self, dbname: str) -> DatabaseUrl:
        return DatabaseUrl(
            dbname=dbname,
            host="127.0.0.1",
            port=self.cluster.port,
            user=ROLE,
            password=PASSWORD,
        )

    def encoded(self, dbname: str) -> str:
        """The SQLAlchemy-style URL an operator exports, password percent-encoded."""
        return (
            f"postgresql+psycopg://{ROLE}:{quote(PASSWORD, safe='')}@127.0.0.1:"
            f"{self.cluster.port}/{dbname}"
        )

    def create(self, dbname: str) -> DatabaseUrl:
        create_database(self.cluster.url, dbname)
        with self.cluster.url.with_dbname("postgres").connect(autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" OWNER TO {ROLE}')
        return self.url(dbname)

    def drop(self, dbname: str) -> None:
        drop_database(self.cluster.url, dbname)

    def env(self, dbname: str | None, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        base.pop("DATABASE_URL", None)
        if dbname is not None:
            base["DATABASE_URL"] = self.encoded(dbname)
        return {**base, **extra}

    def run(
        self, name: str, *args: str, db: str | None, timeout: float = 120, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run scripts/<name> to the end; its output is kept for the secret search."""
        done = subprocess.run(
            [sys.executable, str(SCRIPTS / name), *args],
            cwd=ROOT,
            env=self.env(db, **extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.outputs += [done.stdout, done.stderr]
        assert_no_secret(done.stdout, done.stderr)
        return done

    def start(self, name: str, *args: str, db: str | None, **extra: str) -> subprocess.Popen[str]:
        """Start scripts/<name> in the background (read it with finish())."""
        return subprocess.Popen(
            [sys.executable, str(SCRIPTS / name), *args],
            cwd=ROOT,
            env=self.env(db, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
        out, err = proc.communicate(timeout=timeout)
        self.outputs += [out, err]
        assert_no_secret(out, err)
        return proc.returncode, out, err

    def crash_and_recover(self) -> None:
        """Stop the server at once (immediate shutdown), then start it again on its data."""
        self.cluster.halt()
        self.cluster.resume()


@pytest.fixture(scope="package")
def matrix() -> Iterator[Matrix]:
    """A private cluster the matrix may crash, with a role whose password is hostile."""
    with LocalCluster() as cluster:
        with cluster.url.connect(autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
            # Commits are durable as on a production server (the cluster's own default is
            # asynchronous, for speed): a crash keeps what was committed before it.
            conn.execute(f"ALTER ROLE {ROLE} SET synchronous_commit = on")
        found = Matrix(cluster)
        yield found
        assert cluster.log_path is not None
        assert_no_secret(cluster.log_path.read_text(errors="replace"))


@pytest.fixture(autouse=True)
def no_secret_in_artifacts(tmp_path: Path) -> Iterator[None]:
    """After each test, no file it left under its tmp_path holds any part of the password."""
    yield
    assert_no_secret(paths=(tmp_path,))


@pytest.fixture
def database(matrix: Matrix, request: pytest.FixtureRequest) -> Iterator[DatabaseUrl]:
    """A new database owned by the matrix role, dropped afterwards."""
    name = "m_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    db = matrix.create(name)
    yield db
    matrix.drop(name)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """Mount size-limited, owner-only tmpfs file systems under tmp_path (root only); unmounted."""
    if os.geteuid() != 0:
        pytest.fail("the fault matrix mounts tmpfs file systems and must run as root (CI does)")
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        # Owner-only, as a backup directory must be (a tmpfs root is 1777 by default).
        options = f"{options},mode=0700"
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], check=True)
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        if subprocess.run(["umount", str(point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], check=True)
