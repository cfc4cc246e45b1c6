"""The embedded target: a throwaway cluster plus the reference service, staged as a release."""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from releaseops import backup, fts, migrations
from releaseops.dburl import DatabaseUrl
from releaseops.fts import spec as fts_spec
from releaseops.pg import identity
from releaseops.pg.scratch import create_database, drop_database
from releaseops.rehearsal import snapshot as snapshots
from releaseops.rehearsal.cluster import Cluster, Provider, make_cluster
from releaseops.rehearsal.process import ServiceProcess
from releaseops.rehearsal.snapshot import Snapshot
from releaseops.release import record
from releaseops.release import target as release_target
from releaseops.release.target import SERVICE_KEYS
from releaseops.runbook import custody, steps
from releaseops.runbook.deployment import LIVE_FLAGS, Step
from releaseops.service import slo, slogate, smoke

log = logging.getLogger(__name__)

DBNAME = "exam_prod_like"
DRILL_DBNAME = "exam_restore_drill"
ROLLBACK_TRIGGER = "release rehearsal: rollback drill on the embedded target"
# A rehearsal's own SLO traffic: 30 requests on every route, enough for the SLO gate to decide
# (docs/slo.md), a few seconds per window instead of the record's default 800.
REHEARSAL_SLO = {"traffic_requests": 240, "min_requests": 25}
# The reference service's FTS declaration, handed to the library through configuration.
FTS_SPEC = "exambank.search_spec:SPEC"


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
        cluster: Cluster | None = None,
        dbname: str = DBNAME,
        workers: int = 2,
        slo_table: Mapping[str, Any] = REHEARSAL_SLO,
    ) -> None:
        self.repo_root = repo_root
        self.slo_table = dict(slo_table)
        self.workers = workers
        self.workdir = workdir
        self.provider = provider
        self.dbname = dbname
        # A cluster handed in belongs to the caller: we use it but never stop it.
        self.owns_cluster = cluster is None
        self.cluster: Cluster | None = cluster
        self.service: ServiceProcess | None = None
        self.db: DatabaseUrl | None = None
        self.token = secrets.token_urlsafe(24)
        self.secret_key = secrets.token_urlsafe(32)
        self.backup_dir = workdir / "backups"
        self.record_path = workdir / "release_record.toml"
        self.log_path = workdir / "api.log"
        self.migrations_dir = repo_root / "migrations" / "postgres"
        self.previous_dir = workdir / "previous-release" / "migrations"
        self.release_id = f"rehearsal-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        self.deployed_at: datetime | None = None
        self.predeploy_backup: backup.Backup | None = None
        self.rolled_back_from: backup.Backup | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(
        self,
        *,
        template: str | None = None,
        snapshot: Snapshot | None = None,
        serve: bool = True,
    ) -> dict[str, str]:
        """Start everything at the previous release; return the deployment environment.

        With `template`, the database is copied from one that `stage_database()` prepared
        (much faster than migrating and seeding again). With `snapshot`, everything starts in
        the state a snapshot kept (`rehearsal.snapshot`), e.g. deployed or rolled back. With
        `serve=False` the service is set up (port, environment) but starts only on `serve()`,
        a runbook step's restart or `restart_service()`: one start, in the state it is needed
        in. A failure tears down what started.
        """
        try:
            if snapshot is not None:
                return self._start_from(snapshot, serve=serve)
            return self._start(template, serve=serve)
        except BaseException:
            self.stop()
            raise

    def _start(self, template: str | None, *, serve: bool) -> dict[str, str]:
        self._start_cluster()
        assert self.cluster is not None
        if template is None:
            self.db = self.stage_database(self.dbname)
        else:
            self.db = create_database(self.cluster.url, self.dbname, template=template)
        self._write_record()
        return self._start_service(self.previous_dir, LIVE_FLAGS, serve=serve)

    def _start_from(self, kept: Snapshot, *, serve: bool) -> dict[str, str]:
        self._start_cluster()
        assert self.cluster is not None
        snapshots.restore_files(kept, self)
        self.dbname, self.release_id = kept.dbname, kept.release_id
        self.db = snapshots.restore_database(kept, self.cluster.url)
        self.deployed_at = kept.deployed_at
        self.predeploy_backup = snapshots.find_backup(self.backup_dir, kept.predeploy_backup)
        self.rolled_back_from = snapshots.find_backup(self.backup_dir, kept.rolled_back_from)
        if self.rolled_back_from is not None:  # the record names the dump by its path
            self.record_rollback("rolled back", self.rolled_back_from)
        code = self.previous_dir if kept.previous_code else self.migrations_dir
        return self._start_service(code, kept.flags, serve=serve)

    def snapshot(self, template: str) -> Snapshot:
        """Stop the service and keep this target's state for other targets to start in.

        The database becomes the template `template`; this target is left without one.
        """
        return snapshots.take(self, template)

    def _start_cluster(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.cluster is None:
            self.cluster = make_cluster(self.provider)
            self.cluster.start()
        self._stage_previous_release()

    def _start_service(
        self, code: Path, flags: Mapping[str, str], *, serve: bool
    ) -> dict[str, str]:
        self.service = ServiceProcess(
            self._service_env(code, dict(flags)), self.log_path, workers=self.workers
        )
        if serve:
            self.service.start()
        return self.environ()

    def serve(self) -> None:
        """Make the service's deferred first start (`start(serve=False)`), if it is still due."""
        assert self.service is not None
        self.service.serve()

    def stage_database(self, name: str) -> DatabaseUrl:
        """Create `name` at the previous release: migrated, FTS synced, seeded."""
        assert self.cluster is not None
        self._stage_previous_release()
        db = create_database(self.cluster.url, name)
        migrations.apply(db, self.previous_dir)
        fts.sync(db, fts_spec.load(FTS_SPEC))
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
            "release_id": self.release_id,
            "release_owner": "Release Rehearsal <release-owner@example.com>",
            "rollback_owner": "Rollback Rehearsal <rollback-owner@example.com>",
            "incident_channel": "#releaseops-rehearsal",
            "environment": "production",
            "staging_verified_at": now - timedelta(days=1),
            "rollout": {"db_read_only": False, "ai_auto_apply": True, "retrieval_mode": "bm25"},
            "slo": self.slo_table,
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
                "FTS_SPEC": FTS_SPEC,
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

    # --- the runbook's Deployment, and the phases a run alone needs first -----------------------

    def restart(self, step: Step, flags: Mapping[str, str]) -> str:
        """Restart the service for a runbook step (the `Deployment` protocol).

        `deploy` starts the release's code (every migration file), `redeploy-previous` the
        previous release's; `freeze` keeps the code that runs.
        """
        code = {"deploy": self.migrations_dir, "redeploy-previous": self.previous_dir}.get(step)
        extra = {"MIGRATIONS_DIR": str(code)} if code is not None else {}
        self.restart_service(**extra, **flags)
        if step == "deploy":
            self.deployed_at = datetime.now(UTC)
        return f"restarted the embedded service for {step} with {dict(flags)}"

    def restart_service(self, *, app: str | None = None, **environ: str) -> None:
        """Restart the service process with these variables changed (no runbook step).

        `app` serves another app factory (`module:callable`) from now on; "" the reference one.
        """
        assert self.service is not None
        self.service.restart(app=app, **environ)

    def as_target(self) -> release_target.Target:
        """The rehearsal as the checks see it: an embedded Target over `environ()`."""
        return release_target.resolve({}, self.environ(), repo_root=self.repo_root, kind="embedded")

    def ensure_backup(self) -> backup.Backup:
        """The pre-deploy backup the gate recorded, or a new one recorded as the gate would."""
        assert self.db is not None
        if self.predeploy_backup is None:
            known = custody.load(self.backup_dir, self.release_id)
            if known is not None:
                self.predeploy_backup = custody.select(
                    self.backup_dir, self.release_id, identity.probe(self.db)
                ).backup
            else:
                self.predeploy_backup = backup.create(self.db, self.backup_dir)
                custody.record(self.backup_dir, self.release_id, self.predeploy_backup, "rehearsal")
        return self.predeploy_backup

    def ensure_deployed(self) -> None:
        """Run the runbook's deploy (section 2) unless that already happened in this session.

        What the gate records first is recorded first here too: the known-good dump and the
        request-log baseline the post-deploy SLO comparison is measured against.
        """
        if self.deployed_at is None:
            self.ensure_backup()
            self.ensure_slo_baseline()
            steps.deploy(self.as_target(), self)

    def ensure_slo_baseline(self) -> None:
        """The release's SLO baseline, recorded now from real traffic unless the gate did."""
        if slo.load_baseline(self.backup_dir, self.release_id) is not None:
            return
        self.serve()  # the traffic needs the previous release running
        assert self.service is not None
        target = self.as_target()
        slogate.record_baseline(
            f"file:{self.log_path}",
            self.service.base_url,
            self.release_id,
            self.backup_dir,
            slo.Budget.from_mapping(record.load(self.record_path).slo_budget.as_dict()),
            smoke.load_queries(target.retrieval_queries),
            token=self.token,
        )

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
        """Run the runbook's rollback (section 6) unless that already happened in this session."""
        if self.rolled_back_from is not None:
            return
        assert self.db is not None
        self.ensure_deployed()
        self.record_rollback("in progress", None)
        candidate = custody.select(self.backup_dir, self.release_id, identity.probe(self.db)).backup
        steps.rollback(self.as_target(), self, candidate.path)
        self.rolled_back_from = candidate
        self.record_rollback("rolled back", candidate)
