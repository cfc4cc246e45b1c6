"""Restore drill, steps 1-2: URLs and preflight (checklist: backup/restore rehearsal drill)."""

import pytest

from releaseops import rollout

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
    assert drill.dbname != source.dbname or (drill.host, drill.port) != (
        source.host,
        source.port,
    ), (
        f"the drill database {drill.masked()} is the source database: the drill would drop it; "
        f"set DRILL_DB_NAME or DRILL_DATABASE_URL to a dedicated database"
    )
    assert (drill.host, drill.port) == (admin.host, admin.port), (
        f"POSTGRES_ADMIN_URL ({admin.masked()}) is not on the drill database's server "
        f"({drill.masked()}): it cannot drop and create the drill database"
    )


@pytest.mark.item("drill.preflight")
def test_preflight_tooling_checks(target, evidence):
    """2. Run preflight tooling checks: python scripts/verify_repo.py --ops-preflight"""
    proc = rollout.run_script(target, "python scripts/verify_repo.py --ops-preflight")
    evidence.text("verify_repo.py --ops-preflight", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"preflight exited {proc.returncode}:\n{proc.stdout[-1500:]}"
