"""Fault-injection harness: a staged target per test, the real checks run against it.

Each test gets its own database (copied from a prepared template), its own service process,
backup folder and release record; it breaks one thing, runs `pytest checks/<phase> --target
env` in a subprocess, and reads the verdict and the per-check outcomes from evidence.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from releaseops.rehearsal.embedded import EmbeddedTarget
from releaseops.rehearsal.previous import command_for
from releaseops.rehearsal.snapshot import Snapshot
from releaseops.release import record
from releaseops.runbook import previous_command
from tests.faults.deployment import deployment  # noqa: F401 - the fixture, for every phase
from tests.forkserver import ForkServer
from tests.scripting import LEAN_PYTEST

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "faults_template"
# Every staged target of a session has this name (one at a time per test process).
STAGED_DB = "fault_staged"
# The SLO gate on a staged target: enough traffic for its checks to decide (8 requests on each
# route), and a latency budget that 8 requests can never exceed by chance. Only the SLO gate's
# own fault tests (test_slo.py) judge a release's latency, with the record's defaults
# (SLO_DEFAULTS); the other faults need the SLO checks to end, and to stay out of their way.
FAULT_SLO = {"traffic_requests": 64, "min_requests": 8, "latency_budget_ms": 10_000}
# Phases whose checks never reach the running service: a staged target's service left unstarted
# (`staged(serve=False)`) stays so through their runs. A run of another phase starts it first,
# unless the test already restarted it with its own flags or stopped it.
WITHOUT_SERVICE = {"drill"}


@dataclass
class PhaseRun:
    """The outcome of one `pytest checks/<phase>` run."""

    returncode: int
    stdout: str
    stderr: str
    evidence: dict[str, Any]
    folder: Path

    @property
    def checks(self) -> list[dict[str, Any]]:
        return self.evidence.get("checks", [])

    def outcome(self, check_id: str) -> str:
        found = [c["outcome"] for c in self.checks if c["check_id"] == check_id]
        assert found, f"no check {check_id!r} ran; ran: {[c['check_id'] for c in self.checks]}"
        return found[0]

    def ids(self, outcome: str) -> set[str]:
        return {c["check_id"] for c in self.checks if c["outcome"] == outcome}

    @property
    def failed(self) -> set[str]:
        return self.ids("failed")

    @property
    def not_verified(self) -> set[str]:
        """Checks that did not verify their item: not verified, or blocked by another check."""
        return self.ids("not verified") | self.ids("blocked")

    @property
    def blocked(self) -> set[str]:
        return self.ids("blocked")

    def reason_ids(self) -> list[str]:
        return [r["check_id"] for r in self.reasons]

    def message(self, check_id: str) -> str:
        return next(c["message"] for c in self.checks if c["check_id"] == check_id)

    @property
    def decision(self) -> str:
        return self.evidence.get("verdict", {}).get("decision", "(no verdict)")

    @property
    def reasons(self) -> list[dict[str, Any]]:
        return self.evidence.get("verdict", {}).get("reasons", [])

    def conditions(self) -> set[str]:
        return {c for r in self.reasons for c in r["conditions"]}

    def artifacts_text(self) -> str:
        """Every text artifact of the run plus its terminal output, for secret greps."""
        texts = [self.stdout, self.stderr]
        for path in self.folder.rglob("*"):
            if path.is_file() and path.suffix in {".json", ".md", ".html", ".xml", ".toml", ".log"}:
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)

    def describe(self) -> str:
        return (
            f"exit {self.returncode}, verdict {self.decision}, failed {sorted(self.failed)}, "
            f"not verified {sorted(self.not_verified)}\n{self.stdout[-3000:]}"
        )


@dataclass
class Staged:
    """One staged target: break it, then run a phase against it."""

    target: EmbeddedTarget
    tmp: Path
    overrides: dict[str, str] = field(default_factory=dict)
    runner: ForkServer | None = None

    @property
    def db(self):
        return self.target.db

    def environ(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PG", "DATABASE_URL", "API_", "DRILL_", "RELEASE_"))
        }
        env.update(self.target.environ())
        # How this env target starts its previous release for the drill (expand/contract).
        env[previous_command.VARIABLE] = command_for(self.target)
        env.update(self.overrides)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, phase: str, *args: str) -> PhaseRun:
        if phase.split("/")[0] not in WITHOUT_SERVICE:
            self.target.serve()
        reports = self.tmp / "reports"
        argv = [
            f"checks/{phase}",
            "--target",
            "env",
            "-p",
            "no:cacheprovider",
            *LEAN_PYTEST,
            "--reports-dir",
            str(reports),
            "-q",
            *args,
        ]
        returncode, stdout, stderr = self._pytest(argv)
        folder = (reports / "latest").resolve()
        evidence_file = folder / "evidence.json"
        evidence = json.loads(evidence_file.read_text()) if evidence_file.exists() else {}
        return PhaseRun(returncode, stdout, stderr, evidence, folder)

    def _pytest(self, argv: list[str]) -> tuple[int, str, str]:
        """`python -m pytest <argv>` from the repository root, forked from a warm process."""
        if self.runner is not None:
            return self.runner.run(
                argv, env=self.environ(), cwd=REPO, workdir=self.tmp, timeout=300
            )
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *argv],
            cwd=REPO,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def execute(self) -> tuple[str, ...]:
        """Flags that let deploy/rollback steps change this env target."""
        return ("--execute", "--confirm-db", self.db.dbname)

    def drill_execute(self) -> tuple[str, ...]:
        """Flags that let the drill recreate its database on this env target."""
        return ("--execute", "--confirm-db", self.target.drill_dbname)

    def sql(self, statement: str) -> None:
        with self.db.connect(autocommit=True) as conn:
            conn.execute(statement)

    def edit_record(self, **changes: Any) -> None:
        path = self.target.record_path
        data = record.load(path).as_toml_dict()
        for key, value in changes.items():
            table, _, name = key.rpartition("__")
            if table:
                data.setdefault(table, {})[name] = value
            else:
                data[key] = value
        record.write(data, path)

    def append_log(self, line: str) -> None:
        with self.target.log_path.open("a") as log:
            log.write(line + "\n")

    def append_mismatch_event(self, file_name: str) -> None:
        """The line the service's startup guard writes when an applied file was edited."""
        self.append_log(
            json.dumps(
                {
                    "level": "ERROR",
                    "logger": "exambank.startup",
                    "message": f"migration mismatch: {file_name} was edited after it was applied",
                    "event": "migration_check",
                    "state": "mismatch",
                    "refused": False,
                    "mismatched": [file_name],
                    "timestamp": datetime.now(UTC).isoformat(),
                }
            )
        )

    def migrations_copy(self) -> Path:
        """A copy of migrations/postgres the test may edit; the checks are pointed at it."""
        copy = self.tmp / "migrations"
        shutil.copytree(self.target.migrations_dir, copy)
        self.overrides["MIGRATIONS_DIR"] = str(copy)
        return copy


@pytest.fixture(scope="session")
def fault_template(pg_cluster, tmp_path_factory) -> str:
    stager = EmbeddedTarget(
        REPO, tmp_path_factory.mktemp("template"), cluster=pg_cluster, dbname=TEMPLATE
    )
    stager.stage_database(TEMPLATE)
    return TEMPLATE


def _staged_target(pg_cluster, workdir: Path) -> EmbeddedTarget:
    return EmbeddedTarget(
        REPO,
        workdir,
        cluster=pg_cluster,
        dbname=STAGED_DB,
        workers=1,
        slo_table=FAULT_SLO,
    )


def _kept_after(
    pg_cluster, workdir: Path, runbook: Callable[[EmbeddedTarget], None], name: str, **start
) -> Snapshot:
    """A staged target started with `start`, brought on by `runbook`, then kept as `name`."""
    target = _staged_target(pg_cluster, workdir)
    target.start(**start)
    try:
        runbook(target)
        return target.snapshot(name)
    finally:
        target.stop()


@pytest.fixture(scope="session")
def deployed_snapshot(pg_cluster, fault_template, tmp_path_factory) -> Snapshot:
    """The staged target after the runbook's deploy (backup, SLO baseline, migration, FTS,
    restart on the release's code), kept once per test process."""
    workdir = tmp_path_factory.mktemp("deployed")
    deploy = EmbeddedTarget.ensure_deployed
    return _kept_after(pg_cluster, workdir, deploy, "faults_deployed", template=fault_template)


@pytest.fixture(scope="session")
def rolled_back_snapshot(pg_cluster, deployed_snapshot, tmp_path_factory) -> Snapshot:
    """The deployed target after the runbook's rollback (freeze, restore of the pre-deploy
    dump, FTS sync, the previous release with writes blocked), kept once per test process."""
    workdir = tmp_path_factory.mktemp("rolled-back")
    rollback = EmbeddedTarget.ensure_rolled_back
    return _kept_after(
        pg_cluster, workdir, rollback, "faults_rolled_back", snapshot=deployed_snapshot
    )


SNAPSHOTS = {"deployed": "deployed_snapshot", "rolled back": "rolled_back_snapshot"}


@pytest.fixture
def staged(request, pg_cluster, fault_template, fork_server, tmp_path):
    """A target at the previous release: what the pre-deploy gate and the drill expect.

    `@pytest.mark.staged("deployed")` or `("rolled back")` starts it in that state instead,
    copied from a snapshot of a target on which the runbook ran that far.
    `@pytest.mark.staged(serve=False)` leaves its service set up but not started: it starts on
    first need (a phase run other than the drill's, a runbook step, a restart with the test's
    own flags), in the state the test wants, instead of starting and then restarting. A test
    that breaks the database before its run keeps the default: the service must have started
    on the healthy database, as in production.
    """
    marks = list(request.node.iter_markers("staged"))
    states = [m.args[0] for m in marks if m.args]
    kept = None
    if states:
        if states[0] not in SNAPSHOTS:
            raise pytest.UsageError(f"staged({states[0]!r}): expected one of {[*SNAPSHOTS]}")
        kept = request.getfixturevalue(SNAPSHOTS[states[0]])
    serve = all(m.kwargs.get("serve", True) for m in marks)
    target = _staged_target(pg_cluster, tmp_path / "target")
    target.start(template=fault_template, snapshot=kept, serve=serve)
    try:
        yield Staged(target, tmp_path, runner=fork_server)
    finally:
        target.stop()
