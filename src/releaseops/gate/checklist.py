"""The release checklist as data: every item with a stable id, its section and its text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One line of docs/release-operations-checklist.md."""

    id: str
    section: str
    text: str


SECTIONS = {
    "0": "0) HTTP request log standard",
    "1": "1) Pre-deploy gate (ordered)",
    "drill": "Backup/restore rehearsal drill (non-prod target)",
    "2": "2) Deploy execution (ordered)",
    "3": "3) Post-deploy verification (must pass)",
    "4": "4) No-Go / blocking conditions",
    "5": "5) Rollback completeness checklist",
    "6": "6) Rollback procedure (validated commands)",
    "7": "7) Destructive-change standard",
    "8": "8) Canonical operation commands",
}

_ITEMS = [
    ("log.format", "0", "Request log lines are JSON (machine-parseable)."),
    ("log.fields", "0", "Required fields: request_id, route, status, latency, error_code."),
    (
        "log.request_id",
        "0",
        "request_id: correlation ID from X-Request-ID header or generated UUID.",
    ),
    ("pre.owners", "1", "Confirm release owner, rollback owner, and incident channel."),
    ("pre.env", "1", "Confirm target env is loaded (DATABASE_URL, FLASK_CONFIG, secrets)."),
    (
        "pre.migration_flags",
        "1",
        "Confirm migration guard flags: CHECK_PENDING_MIGRATIONS=1, "
        "FAIL_ON_PENDING_MIGRATIONS=1 (production).",
    ),
    (
        "pre.write_flags",
        "1",
        "Confirm write safety flags match rollout plan: DB_READ_ONLY (normally 0 before release), "
        "AI_AUTO_APPLY, RETRIEVAL_MODE.",
    ),
    ("pre.tools", "1", "Verify tooling availability: pg_dump, pg_restore, psql."),
    (
        "pre.baseline",
        "1",
        "Run repository baseline checks: python scripts/verify_repo.py --ops-preflight",
    ),
    (
        "pre.backup",
        "1",
        'Create pre-deploy DB backup: python scripts/backup_postgres.py --db "$DATABASE_URL"',
    ),
    ("pre.record", "1", "Record backup file path and release timestamp."),
    (
        "pre.slo_baseline",
        "1",
        "Record the request-log baseline before the deploy: per route, 5xx rate and latency.",
    ),
    ("drill.urls", "drill", "1. Prepare DB URLs (source, drill, admin)."),
    (
        "drill.preflight",
        "drill",
        "2. Run preflight tooling checks: python scripts/verify_repo.py --ops-preflight",
    ),
    (
        "drill.backup",
        "drill",
        "3. Take a backup and capture the newest artifact (pg_restore --list).",
    ),
    ("drill.restore", "drill", "4. Recreate drill DB and restore."),
    (
        "drill.migrations",
        "drill",
        "5. Validate post-restore state: run_postgres_migrations.py on the drill DB.",
    ),
    ("drill.fts", "drill", "5. Validate post-restore state: init_fts.py --sync on the drill DB."),
    (
        "drill.schema_migrations",
        "drill",
        "5. Validate post-restore state: schema_migrations on the drill DB.",
    ),
    (
        "drill.rehearse",
        "drill",
        "5. Rehearse the pending migrations on the drill copy: no statement rewrites or blocks "
        "a large table past the release's budget.",
    ),
    (
        "drill.previous_release",
        "drill",
        "5. The previous release's smoke paths (reads and writes) pass against the migrated "
        "drill copy (expand/contract).",
    ),
    (
        "deploy.migrate",
        "2",
        'Apply Postgres migrations: python scripts/run_postgres_migrations.py --db "$DATABASE_URL"',
    ),
    (
        "deploy.fts",
        "2",
        'Sync FTS metadata: python scripts/init_fts.py --db "$DATABASE_URL" --sync',
    ),
    ("deploy.restart", "2", "Deploy/restart services: ./scripts/dc up -d --build"),
    (
        "deploy.health",
        "2",
        "Verify app health and startup migration checks: ./scripts/dc logs --tail=200 api",
    ),
    ("post.health", "3", "API health check returns success."),
    ("post.crud", "3", "/manage CRUD smoke path works."),
    ("post.retrieval", "3", "Retrieval returns expected candidates for a known query."),
    ("post.ai", "3", "AI classification flow behaves as expected for current AI_AUTO_APPLY."),
    ("post.no_mismatch", "3", "No migration mismatch errors in API logs."),
    (
        "post.slo",
        "3",
        "Error rate and latency have not regressed against the pre-deploy baseline.",
    ),
    ("nogo.backup", "4", "Backup command fails or backup file is missing/corrupt."),
    ("nogo.migration", "4", "Migration command fails or reports checksum/version mismatch."),
    ("nogo.api_start", "4", "API cannot start cleanly after deploy."),
    ("nogo.smoke", "4", "Core smoke flows (auth/manage/retrieval) fail."),
    ("nogo.rollback_candidate", "4", "Rollback backup candidate cannot be identified."),
    (
        "nogo.slo",
        "4",
        "Error rate or latency regresses beyond the release's budget after the deploy.",
    ),
    ("rbc.trigger", "5", "Trigger condition and incident timestamp recorded."),
    (
        "rbc.frozen",
        "5",
        "Writes blocked (DB_READ_ONLY=1) and high-risk auto actions disabled (AI_AUTO_APPLY=0).",
    ),
    ("rbc.restored", "5", "DB restore performed from known-good dump."),
    ("rbc.migrations", "5", "schema_migrations state verified after restore."),
    ("rbc.fts", "5", "FTS re-synced after restore."),
    ("rbc.smoke", "5", "API/UI smoke checks pass on rolled-back state."),
    (
        "rbc.status",
        "5",
        "Release status communicated (rolled back) with backup file and verification evidence.",
    ),
    (
        "rb.freeze",
        "6",
        "1. Freeze risky behavior and block writes "
        "(DB_READ_ONLY=1, AI_AUTO_APPLY=0, RETRIEVAL_MODE=bm25), then restart services.",
    ),
    ("rb.libpq_url", "6", "2. Convert SQLAlchemy URI for libpq CLI tools (pg_restore, psql)."),
    ("rb.select_dump", "6", "3. Select restore target dump and verify file exists."),
    (
        "rb.restore",
        "6",
        "4. Restore database (pg_restore --clean --if-exists --no-owner --no-privileges).",
    ),
    ("rb.verify_migrations", "6", "5. Verify migration state after restore."),
    ("rb.fts", "6", "6. Re-sync FTS metadata."),
    ("rb.smoke", "6", "7. Run smoke checks and keep DB_READ_ONLY=1 until verification passes."),
    (
        "rb.reopen",
        "6",
        "8. Re-open writes only after explicit go decision (DB_READ_ONLY=0 + restart).",
    ),
    ("dc.location", "7", "Keep schema changes in migrations/postgres/*.sql."),
    ("dc.same_unit", "7", "Include related index/constraint changes in the same migration unit."),
    ("dc.staging_first", "7", "Apply in dev/staging first, then production."),
    (
        "cmd.canonical",
        "8",
        "Canonical operation commands (backup, migrations, FTS sync, deploy) are available.",
    ),
]

ITEMS: dict[str, Item] = {i: Item(i, s, t) for i, s, t in _ITEMS}

# Section 4: each No-Go condition is the verdict of specific checks (see verdict.py).
NO_GO_ITEMS = [item for item in ITEMS.values() if item.section == "4"]


def item(item_id: str) -> Item:
    """The checklist item `item_id`; KeyError names the known ids."""
    try:
        return ITEMS[item_id]
    except KeyError:
        raise KeyError(f"unknown checklist item {item_id!r}; known: {', '.join(ITEMS)}") from None
