"""The embedded target: a throwaway cluster plus the reference service, staged as a release."""

from __future__ import annotations

import logging
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from releaseops import backup, fts, migrations, record, restore
from releaseops.cluster import LocalCluster, Provider, make_cluster
from releaseops.container import ContainerCluster
from releaseops.dburl import DatabaseUrl
from releaseops.scratch import create_database, drop_database
from releaseops.service import ServiceProcess
from releaseops.target import SERVICE_KEYS

log = logging.getLogger(__name__)

DBNAME = "exam_prod_like"
DRILL_DBNAME = "exam_restore_drill"
# The runbook's freeze (checklist section 6, step 1).
FREEZE_FLAGS = {"DB_READ_ONLY": "1", "AI_AUTO_APPLY": "0", "RETRIEVAL_MODE": "bm25"}
LIVE_FLAGS = {"DB_READ_ONLY": "0", "AI_AUTO_APPLY": "1", "RETRIEVAL_MODE": "bm25"}
ROLLBACK_TRIGGER = "release rehearsal: rollback drill on the embedded target"


def _spec() -> fts.FtsSpec:
    from exambank.search_spec import SPEC

    return SPEC


class EmbeddedTarget:
    """Throwaway PostgreSQL + the exambank service, first at the previous release.

    The newest migration file is treated as the release being shipped: the service starts on
    the files before it (the previous release), `deploy()` applies it and restarts on the full
    directory, and the rollback puts the previous release back.
    """

    def __init__(
        self,
        repo_root: Path,
        workdir: Path,
        *,
        provider: Provider = "local",
        cluster: LocalCluster | ContainerCluster | None = None,
        dbname: str = DBNAME,
    ) -> None:
        self.repo_root = repo_root
        self.workdir = workdir
        self.provider = provider
        self.dbname = dbname
        # A cluster handed in belongs to the caller: we use it but never stop it.
        self.owns_cluster = cluster is None
        self.cluster: LocalCluster | ContainerCluster | None = cluster
        self.service: ServiceProcess | None = None
        self.db: DatabaseUrl | None = None
        self.token = secrets.token_urlsafe(24)
        self.secret_key = secrets.token_urlsafe(32)
        self.backup_dir = workdir / "backups"
        self.record_path = workdir / "release_record.toml"
        self.log_path = workdir / "api.log"
        self.migrations_dir = repo_root / "migrations" / "postgres"
        self.previous_dir = workdir / "previous-release" / "migrations"
        self.deployed_at: datetime | None = None
        self.predeploy_backup: backup.Backup | None = None
        self.rolled_back_from: backup.Backup | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, *, template: str | None = None) -> dict[str, str]:
        """Start everything at the previous release; return the deployment environment.

        With `template`, the database is copied from one that `stage_database()` prepared
        (much faster than migrating and seeding again). A failure tears down what started.
        """
        try:
            return self._start(template)
        except BaseException:
            self.stop()
            raise

    def _start(self, template: str | None) -> dict[str, str]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.cluster is None:
            self.cluster = make_cluster(self.provider)
            self.cluster.start()
        self._stage_previous_release()
        if template is None:
            self.db = self.stage_database(self.dbname)
        else:
            self.db = create_database(self.cluster.url, self.dbname, template=template)
        self._write_record()
        self.service = ServiceProcess(
            self._service_env(self.previous_dir, LIVE_FLAGS), self.log_path
        )
        self.service.start()
        return self.environ()

    def stage_database(self, name: str) -> DatabaseUrl:
        """Create `name` at the previous release: migrated, FTS synced, seeded."""
        assert self.cluster is not None
        self._stage_previous_release()
        db = create_database(self.cluster.url, name)
        migrations.apply(db, self.previous_dir)
        fts.sync(db, _spec())
        from exambank import seed

        seed.load(db, self.repo_root / "fixtures" / "seed.sql")
        return db

    def stop(self) -> None:
        """Stop the service, and the cluster when it is ours; best effort."""
        if self.service is not None:
            self.service.stop()
            self.service = None
        if self.cluster is not None and self.owns_cluster:
            self.cluster.stop()
        elif self.cluster is not None and self.db is not None:
            drop_database(self.cluster.url, self.db.dbname)
        self.cluster = None

    def _stage_previous_release(self) -> None:
        files = sorted(self.migrations_dir.glob("*.sql"))
        if self.previous_dir.exists():
            return
        self.previous_dir.mkdir(parents=True)
        for path in files[:-1] if len(files) > 1 else files:
            shutil.copy2(path, self.previous_dir / path.name)

    def _write_record(self, rollback: dict[str, Any] | None = None) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        data: dict[str, Any] = {
            "release_id": f"rehearsal-{now:%Y%m%d-%H%M%S}",
            "release_owner": "Release Rehearsal <release-owner@example.com>",
            "rollback_owner": "Rollback Rehearsal <rollback-owner@example.com>",
            "incident_channel": "#releaseops-rehearsal",
            "environment": "production",
            "staging_verified_at": now - timedelta(days=1),
            "rollout": {"db_read_only": False, "ai_auto_apply": True, "retrieval_mode": "bm25"},
        }
        if rollback:
            data["rollback"] = rollback
        record.write(data, self.record_path)

    # --- environment -------------------------------------------------------------------------

    def _service_env(self, migrations_dir: Path, flags: dict[str, str]) -> dict[str, str]:
        import os

        assert self.db is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            {
                "DATABASE_URL": self.db.sqlalchemy(with_password=True),
                "FLASK_CONFIG": "production",
                "SECRET_KEY": self.secret_key,
                "API_TOKENS": self.token,
                "CHECK_PENDING_MIGRATIONS": "1",
                "FAIL_ON_PENDING_MIGRATIONS": "1",
                "MIGRATIONS_DIR": str(migrations_dir),
                **flags,
            }
        )
        return env

    def environ(self) -> dict[str, str]:
        """The deployment environment as a user would export it for `--target env`."""
        assert self.db is not None and self.service is not None
        env = {k: self.service.environ[k] for k in SERVICE_KEYS}
        env.update(
            {
                "API_BASE_URL": self.service.base_url,
                "API_TOKEN": self.token,
                "API_LOG_SOURCE": f"file:{self.log_path}",
                "BACKUP_DIR": str(self.backup_dir),
                "RELEASE_RECORD": str(self.record_path),
                "DRILL_DATABASE_URL": self.db.with_dbname(self.drill_dbname).sqlalchemy(
                    with_password=True
                ),
                "POSTGRES_ADMIN_URL": self.db.with_dbname("postgres").libpq(with_password=True),
            }
        )
        return env

    @property
    def drill_dbname(self) -> str:
        """The drill database's name: the checklist's, or one derived from a test's database."""
        return DRILL_DBNAME if self.dbname == DBNAME else f"{self.dbname}_drill"

    # --- release steps (what a phase run alone needs first) ----------------------------------

    def restart_service(self, **flags: str) -> None:
        """Restart the service with new flags (the runbook's "apply, then restart")."""
        assert self.service is not None
        self.service.restart(**flags)

    def ensure_backup(self) -> backup.Backup:
        """The pre-deploy backup: the newest verified one taken before the deploy, or a new one."""
        assert self.db is not None
        if self.predeploy_backup is None:
            try:
                self.predeploy_backup = backup.rollback_candidate(self.backup_dir, self.db.dbname)
            except Exception:  # noqa: BLE001 - none yet: take one, as the gate would
                self.predeploy_backup = backup.create(self.db, self.backup_dir)
        return self.predeploy_backup

    def deploy(self) -> None:
        """Apply the release's migrations, sync FTS, restart on the new code's migrations."""
        assert self.db is not None and self.service is not None
        self.ensure_backup()
        migrations.apply(self.db, self.migrations_dir)
        fts.sync(self.db, _spec())
        self.restart_as_release()

    def restart_as_release(self, **flags: str) -> None:
        """Restart on the release's code (all migration files); the deploy moment is now."""
        self.restart_service(MIGRATIONS_DIR=str(self.migrations_dir), **flags)
        self.deployed_at = datetime.now(UTC)

    def ensure_deployed(self) -> None:
        """Deploy unless that already happened in this session."""
        if self.deployed_at is None:
            self.deploy()

    def freeze(self) -> None:
        """Block writes and risky automation, then restart (runbook step 1)."""
        self.restart_service(**FREEZE_FLAGS)

    def redeploy_previous(self) -> None:
        """Run the previous release's code again (migrations dir of the previous release)."""
        self.restart_service(MIGRATIONS_DIR=str(self.previous_dir))

    def record_rollback(self, status: str, dump: backup.Backup | None) -> None:
        """Write the rollback section of the embedded target's own release record."""
        section: dict[str, Any] = {
            "trigger": ROLLBACK_TRIGGER,
            "incident_at": datetime.now(UTC).replace(microsecond=0),
            "status": status,
        }
        if dump is not None:
            section["backup_file"] = str(dump.path)
            section["backup_sha256"] = dump.sha256
        self._write_record(section)

    def ensure_rolled_back(self) -> None:
        """Execute the whole rollback runbook unless that already happened in this session."""
        if self.rolled_back_from is not None:
            return
        assert self.db is not None
        self.ensure_deployed()
        self.record_rollback("in progress", None)
        self.freeze()
        candidate = backup.rollback_candidate(
            self.backup_dir, self.db.dbname, before=self.deployed_at
        )
        restore.restore(self.db, candidate.path, confirm_db=self.db.dbname)
        fts.sync(self.db, _spec())
        self.redeploy_previous()
        self.rolled_back_from = candidate
        self.record_rollback("rolled back", candidate)
