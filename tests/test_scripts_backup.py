"""scripts/backup_postgres.py (`releaseops backup`) as operators run it, one test per exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.cli import backup as cli_backup
from releaseops.dburl import DatabaseUrl
from releaseops.rehearsal.cluster import free_port

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "scripts" / "backup_postgres.py"


def run(
    script: Path, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BACKUP_DIR")}
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
        check=False,
    )


def sqlalchemy(db: DatabaseUrl) -> str:
    return db.sqlalchemy(with_password=True)


@pytest.fixture
def source(fresh_db: DatabaseUrl) -> DatabaseUrl:
    with fresh_db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, checksum text, "
            "applied_at timestamptz DEFAULT now(), file_name text, execution_ms int)"
        )
        conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES ('0001', 'x')")
        conn.execute("CREATE TABLE questions AS SELECT g AS id FROM generate_series(1, 50) g")
    return fresh_db


def only_dump(directory: Path) -> Path:
    dumps = sorted(directory.glob("*.dump"))
    assert len(dumps) == 1, dumps
    return dumps[0]


def test_checklist_backup_command_writes_into_backups_of_the_current_directory(source, tmp_path):
    result = run(BACKUP, "--db", sqlalchemy(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dump = only_dump(tmp_path / "backups")
    assert Path(result.stdout.splitlines()[0]) == Path("backups") / dump.name
    assert "verified" in result.stdout
    assert source.password not in result.stdout + result.stderr


def test_database_url_from_the_environment_and_backup_dir(source, tmp_path):
    env = {"DATABASE_URL": sqlalchemy(source), "BACKUP_DIR": str(tmp_path / "env_dir")}
    result = run(BACKUP, env=env)
    assert result.returncode == 0, result.stderr
    only_dump(tmp_path / "env_dir")


def test_out_dir_overrides_backup_dir_from_the_repo_root(source, tmp_path):
    env = {"BACKUP_DIR": str(tmp_path / "ignored")}
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path / "o"), env=env)
    assert result.returncode == 0, result.stderr
    only_dump(tmp_path / "o")
    assert not (tmp_path / "ignored").exists()


def test_json_output_carries_path_checksum_and_verification(source, tmp_path):
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path), "--json")
    data = json.loads(result.stdout)
    assert data["verification"]["verified"] is True
    assert Path(data["path"]).exists() and len(data["sha256"]) == 64
    assert source.password not in result.stdout


def test_backup_against_a_stopped_server_exits_3_as_its_help_says(tmp_path):
    url = f"postgresql+psycopg://ops:hunter2-secret@127.0.0.1:{free_port()}/exam"
    result = run(BACKUP, "--db", url, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(
        "error: backup not taken: cannot connect to postgresql://ops:***@"
    )
    assert result.stderr.count("\n") == 1
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert not list((tmp_path / "backups").iterdir())


def test_interrupted_backup_removes_its_temporary_file(source, tmp_path):
    with source.connect() as locker:
        locker.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")  # pg_dump waits here
        proc = subprocess.Popen(
            [sys.executable, str(BACKUP), "--db", sqlalchemy(source)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("backups/.*.partial")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob("backups/.*.partial")), "the backup never started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted; no backup was written" in err
    assert list((tmp_path / "backups").iterdir()) == []


def test_wrong_password_exits_3_and_prints_no_password(source, tmp_path):
    wrong = source.sqlalchemy(with_password=True).replace(source.password, "wrong-pass-123")
    result = run(BACKUP, "--db", wrong, cwd=tmp_path)
    assert result.returncode == 3
    assert "password authentication failed" in result.stderr
    assert "wrong-pass-123" not in result.stdout + result.stderr
    assert not list((tmp_path / "backups").glob("*.dump"))


def test_verify_flag_passes_a_good_dump_and_names_the_failed_check(source, tmp_path):
    run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path))
    dump = only_dump(tmp_path)
    good = run(BACKUP, "--verify", str(dump))
    assert good.returncode == 0 and "verified" in good.stdout
    dump.write_bytes(dump.read_bytes()[:-64])
    bad = run(BACKUP, "--verify", str(dump), "--json")
    assert bad.returncode == 21
    failed = {c["name"] for c in json.loads(bad.stdout)["checks"] if not c["passed"]}
    assert {"size", "checksum", "read_through"} <= failed


def test_keep_prunes_older_verified_backups(source, tmp_path):
    old = [
        backup.create(source, tmp_path, now=lambda day=day: datetime(2020, 1, day, tzinfo=UTC))
        for day in (1, 2)
    ]
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path), "--keep", "2")
    assert result.returncode == 0, result.stderr
    assert f"pruned {old[0].path}" in result.stdout
    assert sorted(tmp_path.glob("*.dump"))[0] == old[1].path
    assert len(list(tmp_path.glob("*.dump"))) == 2


def test_rollback_candidate_flag_prints_the_newest_verified_dump(source, tmp_path):
    run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path))
    result = run(
        BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path), "--rollback-candidate"
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.splitlines()[0]) == only_dump(tmp_path)
    empty = run(
        BACKUP,
        "--db",
        sqlalchemy(source),
        "--out-dir",
        str(tmp_path / "none"),
        "--rollback-candidate",
    )
    assert empty.returncode == 23 and "No-Go" in empty.stderr


def test_help_explains_and_ends_with_an_example():
    result = run(BACKUP, "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout and "Exit codes:" in result.stdout


def test_verify_of_a_corrupt_dump_never_prints_a_bare_path_first(tmp_path):
    dump = tmp_path / "x_20260101_000000.dump"
    dump.write_bytes(b"PGDMP garbage")
    result = run(BACKUP, "--verify", str(dump))
    assert result.returncode != 0
    assert result.stdout.splitlines()[0] == f"NOT VERIFIED: {dump}"


# --- exit codes in process: the same main() the script and `releaseops backup` run ------------


def test_verify_of_a_missing_dump_exits_22_in_one_line(tmp_path, capsys):
    assert cli_backup.main(["--verify", str(tmp_path / "gone.dump")]) == 22
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {tmp_path / 'gone.dump'} does not exist")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--format", "custom", "--jobs", "2"], "needs --format directory", id="jobs"),
        pytest.param(["--compress", "12"], "compression level 12 is out of range", id="level"),
    ],
)
def test_configuration_errors_exit_2_in_one_line(source, tmp_path, capsys, args, message):
    code = cli_backup.main(["--db", sqlalchemy(source), "--out-dir", str(tmp_path), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_usage_error_exits_2_in_one_masked_line(monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli_backup.main(["--out-dir", "x", "postgresql://u:hunter2@h/db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments" in err
    assert "hunter2" not in err


def test_missing_pg_dump_exits_4_naming_the_fix(source, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("RELEASEOPS_PG_ROOT", str(tmp_path / "none"))
    monkeypatch.delenv("PG_BINDIR", raising=False)
    assert cli_backup.main(["--db", sqlalchemy(source), "--out-dir", str(tmp_path / "o")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: pg_dump not found") and "PG_BINDIR" in err
    assert not list((tmp_path / "o").glob("*"))


# --- faults: disk full, unwritable directory, closed stdout -----------------------------------


@pytest.fixture
def mount_tmpfs(tmp_path):
    """Mount size-limited (or read-only) tmpfs file systems under tmp_path; unmount them after."""
    if os.geteuid() != 0:
        pytest.skip("not verified: mounting a size-limited tmpfs needs root (CI runs as root)")
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
        subprocess.run(["umount", str(point)], check=True)


@pytest.fixture
def bulky(source):
    """About 300 KB of dump: incompressible text, so a nearly full disk cannot take it."""
    with source.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS body "
            "FROM generate_series(1, 8000) g"
        )
    return source


def fill(directory: Path, leave_pages: int) -> None:
    """Fill the file system of `directory` until exactly `leave_pages` 4 KiB pages are free."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    with (directory / "filler.bin").open("wb") as out:
        out.write(b"\0" * (free - leave_pages * 4096))
    assert os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize == leave_pages * 4096


def only_filler(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == ["filler.bin"]


def assert_one_line_disk_full(result: subprocess.CompletedProcess[str], where: Path) -> None:
    assert result.returncode == 20, result.stderr
    assert result.stderr == (
        f"error: backup not taken: no space left on the device of {where} (No space left on "
        f"device); the temporary files were removed. Free space there, or point --out-dir (or "
        f"BACKUP_DIR) at a disk with room for the dump\n"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_disk_full_during_the_dump_is_one_line_and_leaves_nothing(bulky, mount_tmpfs):
    disk = mount_tmpfs("full", "size=2m")
    fill(disk, leave_pages=16)  # 64 KiB for a dump of about 300 KiB
    result = run(BACKUP, "--db", sqlalchemy(bulky), "--out-dir", str(disk))
    assert_one_line_disk_full(result, disk)
    only_filler(disk)


def test_disk_full_while_writing_the_manifest_is_one_line_and_leaves_nothing(
    bulky, tmp_path, mount_tmpfs
):
    reference = backup.create(bulky, tmp_path / "reference")
    pages = -(-reference.path.stat().st_size // 4096)  # the dump fits, its manifest does not
    disk = mount_tmpfs("manifest", "size=2m")
    fill(disk, leave_pages=pages)
    with pytest.raises(OSError, match="No space left on device") as info:
        backup.create(bulky, disk)
    frames = [(Path(f.filename).name, f.name) for f in traceback.extract_tb(info.tb)]
    assert ("manifest.py", "write") in frames, frames
    only_filler(disk)
    result = run(BACKUP, "--db", sqlalchemy(bulky), "--out-dir", str(disk))
    assert_one_line_disk_full(result, disk)
    only_filler(disk)


@pytest.mark.parametrize("where", ["read-only", "under-a-file"])
def test_an_unwritable_out_dir_is_one_line_exit_20(source, tmp_path, mount_tmpfs, where):
    if where == "read-only":
        out_dir = mount_tmpfs("ro", "size=1m,ro")
        reason = "Read-only file system"
    else:
        (tmp_path / "plain").write_text("not a directory\n")
        out_dir = tmp_path / "plain" / "backups"
        reason = "Not a directory"
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(out_dir))
    assert result.returncode == 20
    assert result.stderr == (
        f"error: backup not taken: cannot write into {out_dir} ({reason}). Choose a writable "
        f"directory with --out-dir (or BACKUP_DIR)\n"
    )


def test_closed_stdout_exits_141_after_a_verified_backup(source, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, str(BACKUP), "--db", sqlalchemy(source), "--out-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line: `... | head -0`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert err == (
        "error: stdout was closed before all output was written (broken pipe); the command's "
        "work itself was done\n"
    )
    assert backup.verify(only_dump(tmp_path)).is_verified
