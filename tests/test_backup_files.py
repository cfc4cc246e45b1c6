"""Files in the backup directory: never through a planted link, never in a directory others can
write, and what killed backups left behind is named by preflight and removed by the next backup,
never while a live process still holds it."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import leftovers, manifest, safefiles
from releaseops.backup.catalog import file_stem
from releaseops.backup.safefiles import SafeDir
from releaseops.dburl import DatabaseUrl
from releaseops.errors import BackupDirectoryUnsafe
from releaseops.gate import runfolder
from releaseops.release import preflight_checks as checks
from releaseops.runbook import custody

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "scripts" / "backup_postgres.py"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NOWHERE = "postgresql://ops@127.0.0.1:1/exam"  # never reached: the directory is refused first
MIB = 1024 * 1024

# A process that creates a held temporary in a backup directory, writes into it and waits to be
# killed, as a backup killed in the middle of its dump would be.
HOLDER = """
import os, sys, time
from pathlib import Path
from releaseops.backup.safefiles import SafeDir
directory = SafeDir.open(Path(sys.argv[1]))
name, kind, size = sys.argv[2], sys.argv[3], int(sys.argv[4])
if kind == "directory":
    held = directory.new_dir(name)
    out = os.open("toc.dat", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=held)
else:
    out = directory.new_file(name)
os.write(out, b"x" * size)
print("holding", flush=True)
time.sleep(300)
"""


def at(seconds: int) -> Callable[[], datetime]:
    return lambda: T0 + timedelta(seconds=seconds)


def dump_name(db: DatabaseUrl, seconds: int = 0, suffix: str = ".dump") -> str:
    return f"{file_stem(db.dbname)}_{T0 + timedelta(seconds=seconds):%Y%m%d_%H%M%S}{suffix}"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def source(fresh_db: DatabaseUrl) -> DatabaseUrl:
    with fresh_db.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE questions AS SELECT g AS id FROM generate_series(1, 200) g")
    return fresh_db


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the backup directory that a planted link points at."""
    path = tmp_path / "outside" / "victim.conf"
    path.parent.mkdir()
    path.write_text("precious\n")
    return path


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture
def holder(backups: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start processes that hold a temporary in `backups` until killed; all killed afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(name: str, kind: str = "file", size: int = MIB) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(backups), name, kind, str(size)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "holding\n"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def killed(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


def script_env(db: DatabaseUrl) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BACKUP_DIR")}
    return {**base, "DATABASE_URL": db.sqlalchemy(with_password=True)}


def wait_for(probe: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"gave up after {timeout} s"
        time.sleep(0.02)


# --- the directory itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("permissions", "who"),
    [(0o777, "its group and others"), (0o770, "its group"), (0o1777, "its group and others")],
    ids=["world-writable", "group-writable", "sticky-like-tmp"],
)
def test_a_directory_others_can_write_is_refused_naming_its_mode_and_the_fix(
    backups, permissions, who
):
    backups.chmod(permissions)
    with pytest.raises(BackupDirectoryUnsafe, match=f"writable by {who}") as info:
        backup.create(NOWHERE, backups)
    message = str(info.value)
    assert message.startswith(f"backup not taken: {backups} is unsafe for backups")
    assert f"(mode {permissions:04o})" in message and f"Fix: chmod 700 {backups}" in message
    assert list(backups.iterdir()) == []
    assert mode(backups) == permissions  # refused, not silently "fixed"


def test_a_directory_owned_by_another_user_is_refused_naming_both_users(backups):
    os.chown(backups, 4242, 4242)
    with pytest.raises(BackupDirectoryUnsafe, match="owned by uid 4242, not by root") as info:
        backup.create(NOWHERE, backups)
    assert f"Fix: chown root {backups}" in str(info.value)
    assert list(backups.iterdir()) == []


def test_a_backup_directory_that_is_a_link_is_refused_naming_the_real_one(tmp_path, backups):
    link = tmp_path / "via-link"
    link.symlink_to(backups)
    with pytest.raises(BackupDirectoryUnsafe, match="is a symbolic link") as info:
        backup.create(NOWHERE, link)
    assert f"use the directory itself, {backups}, instead" in str(info.value)


def test_a_missing_directory_is_made_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        with SafeDir.open(tmp_path / "new" / "backups", create=True) as made:
            assert mode(made.path) == 0o700
    finally:
        os.umask(old)


@pytest.mark.parametrize("fault", ["world-writable", "another-owner", "a-link"])
def test_preflight_fails_the_backup_directory_row_saying_what_is_wrong(tmp_path, backups, fault):
    where, expected = backups, ""
    if fault == "world-writable":
        backups.chmod(0o777)
        expected = f"writable by its group and others (mode 0777). Fix: chmod 700 {backups}"
    elif fault == "another-owner":
        os.chown(backups, 4242, -1)
        expected = "owned by uid 4242, not by root (uid 0) who writes there. Fix: chown root"
    else:
        where = tmp_path / "via-link"
        where.symlink_to(backups)
        expected = f"symbolic link (to {backups})"
    row = checks.backup_dir(where)
    assert row.status == "FAIL" and "so backups refuse it" in row.reason
    assert expected in row.reason, row.reason


# --- planted links -----------------------------------------------------------------------------


def test_a_link_planted_at_the_dump_temporary_is_removed_never_written_through(
    source, backups, victim
):
    planted = backups / f".{dump_name(source)}.partial"
    planted.symlink_to(victim)
    made = backup.create(source, backups, now=at(0))
    assert victim.read_text() == "precious\n"
    assert made.verification is not None and made.verification.is_verified
    assert [found.name for found in made.removed] == [planted.name]
    assert f"  removed  {planted.name}" in "\n".join(made.lines())


def test_pg_dump_never_writes_through_a_link_planted_at_the_directory_temporary(
    source, backups, tmp_path
):
    outside = tmp_path / "outside-empty"
    outside.mkdir()  # pg_dump -Fd would write into an empty directory a link points at
    (backups / f".{dump_name(source, suffix='.dumpdir')}.partial").symlink_to(outside)
    made = backup.create(source, backups, format="directory", now=at(0))
    assert list(outside.iterdir()) == []
    assert backup.verify(made.path).is_verified
    assert mode(made.path) == 0o700 and all(mode(p) == 0o600 for p in made.path.iterdir())


def test_a_link_planted_at_the_final_name_is_neither_replaced_nor_followed(source, backups, victim):
    planted = backups / dump_name(source)
    planted.symlink_to(victim)
    moments = iter([at(0)(), at(1)()])
    made = backup.create(source, backups, now=lambda: next(moments), sleep=lambda _: None)
    assert made.path.name == dump_name(source, 1)
    assert planted.is_symlink() and victim.read_text() == "precious\n"


def test_a_manifest_rewritten_over_a_planted_link_replaces_the_link(source, backups, victim):
    made = backup.create(source, backups)
    assert made.manifest is not None
    made.manifest_path.unlink()
    made.manifest_path.symlink_to(victim)
    manifest.write(made.path, made.manifest)
    assert victim.read_text() == "precious\n"
    assert not made.manifest_path.is_symlink() and mode(made.manifest_path) == 0o600
    assert manifest.load(made.path) == made.manifest


def test_the_known_good_record_never_follows_a_link_planted_in_releases(source, backups, victim):
    made = backup.create(source, backups)
    releases = backups / custody.RELEASES_DIR
    releases.mkdir(mode=0o700)
    (releases / ".2026.1.json.partial").symlink_to(victim)
    custody.record(backups, "2026.1", made, "run-1")
    assert victim.read_text() == "precious\n"
    known = custody.load(backups, "2026.1")
    assert known is not None and known.sha256 == made.sha256
    assert mode(releases / "2026.1.json") == 0o600


def test_a_releases_directory_that_others_can_write_is_refused(backups):
    releases = backups / custody.RELEASES_DIR
    releases.mkdir()
    releases.chmod(0o777)
    with pytest.raises(BackupDirectoryUnsafe, match=f"{releases} is unsafe for backups"):
        safefiles.write_below(backups, custody.RELEASES_DIR, "r.json", b"{}\n")
    assert list(releases.iterdir()) == []


def test_release_facts_are_never_read_or_written_through_a_link(tmp_path, victim):
    (tmp_path / "release.json").symlink_to(victim)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        runfolder.write_release_facts(tmp_path, {"release_id": "r1"})
    assert victim.read_text() == "precious\n"


# --- what killed backups left behind -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "what"),
    [
        (".exam_20260102_030405.dump.partial", "file", "temporary dump"),
        (".exam_20260102_030405.dumpdir.partial", "directory", "temporary dump"),
        (".exam_20260102_030405.dump.manifest.json.partial", "file", "temporary manifest"),
    ],
    ids=["dump", "directory-dump", "manifest"],
)
def test_a_killed_writers_temporary_is_named_by_preflight_and_removed_by_the_next_backup(
    source, backups, holder, name, kind, what
):
    writer = holder(name, kind, size=MIB)
    held = checks.backup_dir(backups)
    assert held.status == "PASS", held.reason  # held by a live process: not stale
    killed(writer)
    row = checks.backup_dir(backups)
    assert row.status == "WARN"
    assert "1 stale file(s) (1.0 MiB)" in row.reason
    assert f"{name} (1.0 MiB, {what} of a backup of exam_20260102_030405" in row.reason
    assert (backups / name).exists()  # preflight only reports
    made = backup.create(source, backups)
    assert [(found.name, found.size) for found in made.removed] == [(name, MIB)]
    assert not (backups / name).exists()
    assert checks.backup_dir(backups).status == "PASS"


def test_an_orphan_manifest_is_removed_only_when_its_dump_is_gone_and_nobody_holds_it(
    backups, holder
):
    for stem in ("kept_20260102_030405", "orphan_20260102_030405", "running_20260102_030405"):
        (backups / f"{stem}.dump.manifest.json").write_text("{}\n")
    (backups / "kept_20260102_030405.dump").write_bytes(b"PGDMP")
    holder(".running_20260102_030405.dump.partial")  # between publishing manifest and dump
    with SafeDir.open(backups) as directory:
        found = leftovers.find(directory)
        assert [(f.name, f.what) for f in found] == [
            (
                "orphan_20260102_030405.dump.manifest.json",
                "manifest of orphan_20260102_030405.dump, which is missing",
            ),
        ]
        assert leftovers.clean(directory) == found
    assert sorted(p.name for p in backups.iterdir()) == [
        ".running_20260102_030405.dump.partial",
        "kept_20260102_030405.dump",
        "kept_20260102_030405.dump.manifest.json",
        "running_20260102_030405.dump.manifest.json",
    ]


def test_entries_that_are_no_backups_temporaries_are_never_touched(backups):
    names = ["notes.txt", ".other.partial", ".preflight-abc", "x.manifest.json", ".exam.partial"]
    for name in names:
        (backups / name).write_text("mine\n")
    (backups / "releases").mkdir()
    with SafeDir.open(backups) as directory:
        assert leftovers.clean(directory) == []
    assert sorted(p.name for p in backups.iterdir()) == sorted([*names, "releases"])


@pytest.mark.parametrize("format", ["custom", "directory"])
def test_a_running_backups_temporary_survives_a_concurrent_cleanup(source, backups, format):
    with source.connect() as locker:
        locker.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")  # pg_dump waits here
        proc = subprocess.Popen(
            [sys.executable, str(BACKUP), "--out-dir", str(backups), "--format", format],
            env=script_env(source),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: list(backups.glob(".*.partial")))
        [partial] = backups.glob(".*.partial")
        with SafeDir.open(backups) as directory:
            assert leftovers.clean(directory) == []
        assert partial.exists()
        assert checks.backup_dir(backups).status == "PASS"
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert backup.verify(Path(out.splitlines()[0])).is_verified


def pg_dump_child(pid: int) -> int | None:
    """The pg_dump writing the dump (not the one that reported its version)."""
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if Path(argv[0].decode()).name == "pg_dump" and b"--format=directory" in argv:
                return int(child)
    return None


def pg_dump_waits_on_a_lock(db: DatabaseUrl) -> bool:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'"
        ).fetchone()
    return row is not None and row[0] > 0


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_directory_dump_stays_held_while_an_orphaned_pg_dump_still_writes_it(source, backups):
    with source.connect() as locker:
        locker.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen(
            [sys.executable, str(BACKUP), "--out-dir", str(backups), "--format", "directory"],
            env=script_env(source),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: pg_dump_child(proc.pid))
        dumper = pg_dump_child(proc.pid)
        assert dumper is not None
        # Killed before pg_dump took the backup's exported snapshot, the script would take the
        # snapshot with it and pg_dump would fail (rightly); wait until it waits on the table.
        wait_for(lambda: pg_dump_waits_on_a_lock(source))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert alive(dumper)
        [partial] = backups.glob(".*.partial")
        with SafeDir.open(backups) as directory:
            assert leftovers.clean(directory) == []  # pg_dump inherited the lock
        assert partial.is_dir()
    wait_for(lambda: not alive(dumper), timeout=60)
    with SafeDir.open(backups) as directory:
        assert [found.name for found in leftovers.clean(directory)] == [partial.name]
    assert list(backups.iterdir()) == []
