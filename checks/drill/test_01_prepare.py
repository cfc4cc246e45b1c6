"""Restore drill, steps 1-2: URLs and preflight (checklist: backup/restore rehearsal drill)."""

import pytest

from releaseops import dburl
from releaseops.backup.drill import SYSTEM_DATABASES, same_server
from releaseops.runbook.deployment import run_command

pytestmark = pytest.mark.order(110)


@pytest.mark.item("drill.urls")
def test_drill_urls_prepared(target, evidence):
    """1. Prepare DB URLs (source, drill, admin)."""
    source, drill, admin = target.database_url, target.drill_url, target.admin_url
    evidence.json(
        "urls",
        {
            "source": source.masked(),
            "source (libpq)": source.masked(),
            "drill": drill.masked(),
            "admin": admin.masked(),
        },
    )
    refused = not dburl.is_safe_identifier(drill.dbname)
    assert not refused, (
        f"the drill database name {drill.dbname!r} is not a plain identifier (letters, digits, "
        f"_ . -, at most 63 characters): the drill refuses to drop or create it; set "
        f"DRILL_DB_NAME to a plain name like exam_restore_drill"
    )
    system = drill.dbname in SYSTEM_DATABASES
    assert not system, (
        f"the drill database {drill.dbname!r} is a PostgreSQL system database: the drill "
        f"would drop it; set DRILL_DB_NAME to a dedicated name like exam_restore_drill"
    )
    is_source = drill.dbname == source.dbname and same_server(drill, source)
    assert not is_source, (
        f"the drill database {drill.masked()} is the source database: the drill would drop it; "
        f"set DRILL_DB_NAME or DRILL_DATABASE_URL to a dedicated database"
    )
    elsewhere = not same_server(drill, admin)
    assert not elsewhere, (
        f"POSTGRES_ADMIN_URL ({admin.masked()}) is not on the drill database's server "
        f"({drill.masked()}): it cannot drop and create the drill database"
    )


@pytest.mark.item("drill.preflight")
def test_preflight_tooling_checks(target, db, evidence):
    """2. Run preflight tooling checks: python scripts/verify_repo.py --ops-preflight"""
    # The script defaults to the repository's migrations; the drill uses the target's.
    proc = run_command(
        target,
        'python scripts/verify_repo.py --ops-preflight --migrations-dir "$MIGRATIONS_DIR"',
        extra_env={
            "MIGRATIONS_DIR": str(target.migrations_dir),
            "BACKUP_DIR": str(target.backup_dir),
        },
    )
    evidence.text("verify_repo.py --ops-preflight", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"preflight exited {proc.returncode}:\n{proc.stdout[-1500:]}"
