"""Fault matrix: backups killed, starved of disk and cut off from their server.

Whatever happens, the verified backup taken before stays verified and stays the rollback
candidate, the database is unchanged, and nothing that looks finished is left behind.
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import leftovers
from releaseops.backup.manifest import sidecar
from releaseops.backup.safefiles import SafeDir
from releaseops.dburl import DatabaseUrl
from releaseops.rehearsal.lifetime import Proc
from releaseops.release import preflight_checks
from tests.matrix.conftest import Matrix, assert_no_secret, wait_for

pytestmark = pytest.mark.faults

BIG_ROWS = (
    24_000  # 2 KiB of random bytes each: a dump of about 50 MB that compression cannot shrink
)


@dataclass(frozen=True)
class Big:
    """A database of about 50 MB, its verified backup, and what it holds."""

    db: DatabaseUrl
    backups: Path
    reference: backup.Backup
    contents: tuple[int, int]


def contents(db: DatabaseUrl) -> tuple[int, int]:
    with db.connect() as conn:
        row = conn.execute("SELECT count(*), sum(length(body)) FROM blobs").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture(scope="module")
def big(matrix: Matrix, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    # Dropped afterwards: a worker may set a module's fixture up again (pytest-xdist worksteal).
    db = matrix.create("m_big")
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgcrypto")
        conn.execute("CREATE TABLE blobs (id int PRIMARY KEY, body bytea NOT NULL)")
        conn.execute("ALTER TABLE blobs ALTER body SET STORAGE EXTERNAL")
        conn.execute(
            "INSERT INTO blobs SELECT g, gen_random_bytes(1024) || gen_random_bytes(1024) "
            "FROM generate_series(1, %s) g",
            (BIG_ROWS,),
        )
    backups = tmp_path_factory.mktemp("big") / "backups"
    reference = backup.create(db, backups)
    assert reference.size > 40_000_000
    try:
        yield Big(db, backups, reference, contents(db))
    finally:
        matrix.drop("m_big")


def partial_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob(".*.partial") if p.is_file())


def children(pid: int) -> list[Proc]:
    found = [
        Proc.observe(int(c)) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]
    return [p for p in found if p is not None]


def finished_looking(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def assert_nothing_lost(matrix: Matrix, big: Big) -> None:
    """The data is unchanged; the old backup is the only finished one and still the candidate.

    --rollback-candidate verifies the dump it names (size, checksum, listing).
    """
    __tracebackhide__ = True
    assert contents(big.db) == big.contents
    ref = big.reference.path
    assert finished_looking(big.backups) == sorted([ref.name, sidecar(ref).name])
    chosen = matrix.run(
        "backup_postgres.py",
        "--rollback-candidate",
        "--out-dir",
        str(big.backups),
        db=big.db.dbname,
    )
    assert chosen.returncode == 0 and str(ref) in chosen.stdout, chosen.stdout + chosen.stderr
    assert_no_secret(paths=(big.backups,))


@pytest.mark.parametrize("fraction", [0.3, 0.9], ids=["at-30-percent", "at-90-percent"])
def test_a_backup_killed_with_sigkill_leaves_no_finished_looking_dump(matrix, big, fraction):
    size = big.reference.size
    runner = matrix.start("backup_postgres.py", "--out-dir", str(big.backups), db=big.db.dbname)
    wait_for(lambda: partial_size(big.backups) >= fraction * size, timeout=60, every=0.002)
    helpers = children(runner.pid)  # pg_dump and the read-through pg_restore
    runner.send_signal(signal.SIGKILL)
    reached = partial_size(big.backups) / size
    code, out, err = matrix.finish(runner)
    assert code == -signal.SIGKILL and abs(reached - fraction) < 0.15, reached
    wait_for(lambda: not any(p.is_running() for p in helpers), timeout=10)
    assert_nothing_lost(matrix, big)
    assert_left_behind_is_named_then_removed(big.backups)


def assert_left_behind_is_named_then_removed(directory: Path) -> None:
    """Preflight names the killed backup's temporary and its size; a sweep removes just that.

    Every backup sweeps first; here the sweep runs alone, so the next test starts clean.
    """
    __tracebackhide__ = True
    stale = sorted(p.name for p in directory.glob(".*.partial"))
    assert stale, "the killed backup left no temporary"
    row = preflight_checks.backup_dir(directory)
    assert row.status == "WARN" and all(f"{n} (" in row.reason for n in stale), row.reason
    with SafeDir.open(directory) as opened:
        assert sorted(found.name for found in leftovers.clean(opened)) == stale
    assert not list(directory.glob(".*.partial"))


def test_the_server_stopped_in_the_middle_of_a_backup_then_a_rerun_succeeds(matrix, big):
    runner = matrix.start("backup_postgres.py", "--out-dir", str(big.backups), db=big.db.dbname)
    wait_for(lambda: partial_size(big.backups) >= 0.5 * big.reference.size, timeout=60, every=0.002)
    matrix.cluster.halt()
    code, out, err = matrix.finish(runner)
    matrix.cluster.resume()
    assert code == 3, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert contents(big.db) == big.contents
    ref = big.reference.path
    assert finished_looking(big.backups) == sorted([ref.name, sidecar(ref).name])
    again = matrix.run("backup_postgres.py", "--out-dir", str(big.backups), db=big.db.dbname)
    assert again.returncode == 0, again.stderr
    made = [n for n in finished_looking(big.backups) if n.endswith(".dump")]
    assert len(made) == 2
    for name in made:
        (big.backups / name).unlink()
        sidecar(big.backups / name).unlink()
    assert_no_secret(paths=(big.backups,))


# --- disk full ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bulky(matrix: Matrix) -> Iterator[DatabaseUrl]:
    """About 300 KB of dump: incompressible text, so a nearly full disk cannot take it."""
    db = matrix.create("m_bulky")
    with db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS body "
            "FROM generate_series(1, 8000) g"
        )
    try:
        yield db
    finally:
        matrix.drop("m_bulky")


def fill(directory: Path, leave_pages: int) -> None:
    """Fill the file system of `directory` until exactly `leave_pages` 4 KiB pages are free."""
    stats = os.statvfs(directory)
    with (directory / "filler.bin").open("wb") as out:
        out.write(b"\0" * (stats.f_bavail * stats.f_frsize - leave_pages * 4096))


def assert_disk_full(matrix: Matrix, db: DatabaseUrl, disk: Path) -> None:
    __tracebackhide__ = True
    result = matrix.run("backup_postgres.py", "--out-dir", str(disk), db=db.dbname)
    assert result.returncode == 20, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no space left" in result.stderr.lower()
    assert sorted(p.name for p in disk.iterdir()) == ["filler.bin"]


def test_disk_full_during_the_dump_leaves_only_what_was_there(matrix, bulky, tmpfs):
    disk = tmpfs("dump", "size=2m")
    fill(disk, leave_pages=16)  # 64 KiB for a dump of about 300 KiB
    assert_disk_full(matrix, bulky, disk)


def test_disk_full_during_the_manifest_write_leaves_only_what_was_there(
    matrix, bulky, tmp_path, tmpfs
):
    reference = backup.create(bulky, tmp_path / "reference")
    pages = -(-reference.path.stat().st_size // 4096)  # the dump fits, its manifest does not
    disk = tmpfs("manifest", "size=2m")
    fill(disk, leave_pages=pages)
    with pytest.raises(OSError, match="No space left on device") as info:
        backup.create(bulky, disk)
    frames = [(Path(f.filename).name, f.name) for f in traceback.extract_tb(info.tb)]
    assert ("manifest.py", "write") in frames, "the dump itself did not fit"
    assert_disk_full(matrix, bulky, disk)
    assert_no_secret(str(info.value), paths=(tmp_path,))
