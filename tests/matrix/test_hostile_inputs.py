"""Fault matrix: a hostile backup directory, and hostile characters in the database password."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releaseops.backup.catalog import file_stem
from releaseops.backup.manifest import sidecar
from tests.matrix.conftest import FRAGMENTS, Matrix, assert_no_secret

pytestmark = pytest.mark.faults

HOSTILE = {"at": "@", "colon": ":", "slash": "/", "percent": "%", "hash": "#", "question": "?"}
HOSTILE["space"] = " "


@pytest.fixture
def small(matrix: Matrix, database):
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE questions AS SELECT g AS id FROM generate_series(1, 50) g")
    return database


def names_for_the_next_seconds(backups: Path, dbname: str, seconds: int = 20) -> list[Path]:
    """Every dump name a backup started within `seconds` from now can take."""
    now = datetime.now(UTC)
    stems = {
        f"{file_stem(dbname)}_{now + timedelta(seconds=s):%Y%m%d_%H%M%S}"
        for s in range(-1, seconds)
    }
    return [backups / f"{stem}.dump" for stem in sorted(stems)]


def test_a_symlink_planted_in_the_backup_directory_is_never_followed(matrix, small, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    victim = tmp_path / "outside" / "victim.conf"
    victim.parent.mkdir()
    victim.write_text("precious\n")
    for dump in names_for_the_next_seconds(backups, small.dbname):
        manifest = sidecar(dump)
        (backups / f".{manifest.name}.partial").symlink_to(victim)  # the manifest's temporary
    result = matrix.run("backup_postgres.py", "--out-dir", str(backups), db=small.dbname)
    assert victim.read_text() == "precious\n", "the backup wrote through a planted symlink"
    published = [p for p in backups.iterdir() if not p.name.startswith(".")]
    assert not [p for p in published if p.is_symlink()], published
    if result.returncode == 0:
        assert "verified" in result.stdout
    else:
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert published == []


def test_a_world_writable_backup_directory_is_refused_and_named_in_preflight(
    matrix, small, tmp_path
):
    backups = tmp_path / "backups"
    backups.mkdir()
    backups.chmod(0o777)
    result = matrix.run("backup_postgres.py", "--out-dir", str(backups), db=small.dbname)
    assert result.returncode != 0, "a backup went into a directory anyone can write"
    assert result.stderr.count("\n") == 1 and str(backups) in result.stderr
    assert "writable" in result.stderr
    assert list(backups.iterdir()) == []
    assert stat.S_IMODE(backups.stat().st_mode) == 0o777  # not silently "fixed" either
    preflight = matrix.run(
        "verify_repo.py", "--ops-preflight", "--backup-dir", str(backups), db=small.dbname
    )
    row = [line for line in preflight.stdout.splitlines() if line.startswith("backup directory")]
    assert row and " FAIL " in row[0] and "writable" in row[0], preflight.stdout


# --- hostile passwords -------------------------------------------------------------------------


def test_a_percent_encoded_hostile_password_works_through_every_script(matrix, small, tmp_path):
    backups = tmp_path / "backups"
    made = matrix.run("backup_postgres.py", "--out-dir", str(backups), db=small.dbname)
    assert made.returncode == 0, made.stderr
    [dump] = backups.glob("*.dump")
    target = matrix.create("m_hostile_target")
    try:
        restored = matrix.run(
            "restore_postgres.py",
            "--dump",
            str(dump),
            "--confirm-db",
            target.dbname,
            "--allow-cross-server",
            db=target.dbname,
        )
        assert restored.returncode == 0, restored.stderr
        empty = tmp_path / "migrations"
        empty.mkdir()
        status = matrix.run(
            "run_postgres_migrations.py", "--status", "--dir", str(empty), db=target.dbname
        )
        assert status.returncode == 0, status.stderr
        fts = matrix.run("init_fts.py", "--check", db=target.dbname)
        assert fts.returncode == 8 and "questions" in fts.stderr, fts.stderr  # reached the schema
        preflight = matrix.run("verify_repo.py", "--ops-preflight", db=target.dbname)
        rows = [r for r in preflight.stdout.splitlines() if r.startswith("database ")]
        assert rows and " PASS " in rows[0], preflight.stdout
    finally:
        matrix.drop(target.dbname)
    assert_no_secret(*matrix.outputs, paths=(tmp_path,))


SCRIPTS = [
    ("backup_postgres.py",),
    ("restore_postgres.py", "--dump", "/nonexistent.dump", "--confirm-db", "exam"),
    ("run_postgres_migrations.py", "--status"),
    ("init_fts.py", "--check"),
]


def test_an_unencoded_hostile_password_is_refused_in_one_line_by_every_script(matrix):
    runs = []
    for n, (name, char) in enumerate(HOSTILE.items()):
        password = f"{FRAGMENTS[n]}{char}{FRAGMENTS[n + 1]}"
        raw = f"postgresql://matrix:{password}@127.0.0.1:{matrix.cluster.port}/exam"
        script, *args = SCRIPTS[n % len(SCRIPTS)]
        runs.append((name, script, matrix.start(script, *args, db=None, DATABASE_URL=raw)))
    for name, script, proc in runs:
        code, out, err = matrix.finish(proc)
        assert code == 2, f"{script} with an unencoded {name}: {err}"
        assert err.count("\n") == 1 and "must be percent-encoded" in err, err
    assert_no_secret(*matrix.outputs)
