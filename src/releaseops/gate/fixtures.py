"""The checks' fixtures: the target and its resources, evidence, and each phase's preparation.

Registered by `releaseops.gate.plugin` (its `pytest_plugins`). The heavier modules (embedded
target, record, logs, HTTP) are imported inside the fixtures that need them: `pytest tests`
loads this plugin too and should not pay for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError, ReleaseOpsError
from releaseops.gate import gating, runfolder
from releaseops.gate.evidence import Collector
from releaseops.gate.plugin import OPTIONS, RECORDER_KEY, pg_provider
from releaseops.gate.recorder import EVIDENCE_KEY, Recorder, skip_message
from releaseops.release import target as ro_target
from releaseops.release.target import Target

if TYPE_CHECKING:
    from releaseops.rehearsal.embedded import EmbeddedTarget
    from releaseops.release.database import Database
    from releaseops.release.record import ReleaseRecord
    from releaseops.runbook.custody import Selection
    from releaseops.runbook.deployment import Deployment
    from releaseops.runbook.previous import PreviousRelease
    from releaseops.service.resource import Service
    from releaseops.service.smoke import KnownQuery


def _options(config: pytest.Config) -> dict[str, Any]:
    names = [flag[2:].replace("-", "_") for flag in OPTIONS]
    names += ["target", "execute", "confirm_db", "probe_timeout", "allow_cross_server"]
    return {name: config.getoption(name) for name in names}


@pytest.fixture(scope="session")
def embedded_target(request: pytest.FixtureRequest) -> Iterator[EmbeddedTarget | None]:
    """The embedded target when the run points at it (else None); torn down at the end."""
    options = _options(request.config)
    resolved = ro_target.resolve(options, repo_root=request.config.rootpath)
    recorder = request.config.stash.get(RECORDER_KEY, None)
    if resolved.kind != "embedded" or (recorder is not None and recorder.root("no-target")):
        yield None
        return
    workdir = (
        recorder.folder
        if recorder
        else request.config.rootpath / "reports" / runfolder.new_run_id("embedded")
    ) / "embedded"
    from releaseops.rehearsal.embedded import EmbeddedTarget

    provider = pg_provider(request.config)
    embedded = EmbeddedTarget(request.config.rootpath, workdir, provider=provider)
    try:
        try:
            embedded.start()
        except ReleaseOpsError as exc:
            if recorder is None:
                pytest.skip(f"not verified: {exc}")
            recorder.add_root("target-start", f"the embedded target could not start: {exc}")
            pytest.skip(skip_message(recorder.root("target-start") or recorder.roots[-1]))
        if recorder is not None:
            recorder.redactor.add(embedded.token, embedded.secret_key)
            if embedded.db and embedded.db.password:
                recorder.redactor.add(embedded.db.password)
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, embedded_target: EmbeddedTarget | None) -> Target:
    """Where the checks point, resolved once; the database is asked who it is."""
    options = _options(request.config)
    environ = embedded_target.environ() if embedded_target is not None else None
    kind: ro_target.Kind = "embedded" if embedded_target is not None else "env"
    resolved = ro_target.resolve(options, environ, repo_root=request.config.rootpath, kind=kind)
    recorder = request.config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        recorder.redactor.add(*resolved.secrets())
        recorder.meta["target"] = resolved.describe()
        recorder.waivers = _waivers(resolved)
        _describe_subject(recorder, resolved)
    return resolved


def _describe_subject(recorder: Recorder, resolved: Target) -> None:
    """Fill the verdict's subject; an unreachable database becomes the run's root cause."""
    from releaseops.backup import restore
    from releaseops.pg import identity
    from releaseops.release import record

    subject = recorder.subject
    subject.kind = resolved.kind
    if resolved.release_record is not None:
        with contextlib.suppress(ReleaseOpsError, OSError):
            subject.release_id = record.load(resolved.release_record).release_id
    try:
        db = resolved.database_url
        subject.database = db.masked()
        server = identity.probe(db)
    except ReleaseOpsError as exc:
        recorder.add_root("target-database", f"the target database is unreachable: {exc}")
        return
    subject.system_identifier = server.system_identifier
    subject.server_version = server.server_version
    recorder.meta["server"] = server.as_dict()
    unfinished = restore.unfinished(db)
    if unfinished is not None and "rollback" not in recorder.scope.phases:
        # Only the rollback's own restore may run on it: that is what clears the mark.
        recorder.add_root(
            "target-database",
            f"the target database may be partly restored: {unfinished}; run that restore again",
        )


def _waivers(resolved: Target) -> dict[str, dict[str, Any]]:
    """Active waivers by check id; one whose justification or approver is a placeholder is void."""
    from releaseops.release import record

    if resolved.release_record is None:
        return {}
    try:
        loaded = record.load(resolved.release_record)
    except ReleaseOpsError:
        return {}
    active = record.active_waivers(loaded, datetime.now(UTC))
    return {
        check: {
            "justification": w.justification,
            "approved_by": w.approved_by,
            "expires": w.expires.isoformat(),
        }
        for check, w in active.items()
        if not (record.is_placeholder(w.justification) or record.is_placeholder(w.approved_by))
    }


@pytest.fixture(scope="session")
def deployment(target: Target, embedded_target: EmbeddedTarget | None) -> Deployment:
    """How the runbook restarts the service: RESTART_COMMAND, or the embedded rehearsal."""
    from releaseops.runbook.deployment import CommandDeployment

    return embedded_target if embedded_target is not None else CommandDeployment(target)


@pytest.fixture(scope="session")
def db(request: pytest.FixtureRequest, target: Target) -> DatabaseUrl:
    """The target database; every check needing it is blocked when it cannot be reached."""
    recorder = request.config.stash.get(RECORDER_KEY, None)
    root = recorder.root("target-database") if recorder is not None else None
    if root is not None:
        pytest.skip(skip_message(root))
    return target.database_url


@pytest.fixture(scope="session")
def database(db: DatabaseUrl) -> Database:
    """The target database as a resource: identity, migrations, schema head."""
    from releaseops.release.database import Database

    return Database(db)


@pytest.fixture(scope="session")
def rollback_selection(target: Target, database: Database) -> Selection:
    """The dump the rollback restores: named in the release record, else the gate's record."""
    from releaseops.release import record
    from releaseops.runbook import custody

    if target.release_record is None:
        raise ConfigurationError("no release record: set RELEASE_RECORD or pass --release-record")
    loaded = record.load(target.release_record)
    named = loaded.rollback.backup_file if loaded.rollback else None
    explicit = None
    if named:
        explicit = Path(named) if Path(named).is_absolute() else target.repo_root / named
    return custody.select(
        target.backup_dir,
        loaded.release_id,
        database.identity(),
        explicit=explicit,
        allow_cross_server=target.allow_cross_server,
    )


@pytest.fixture
def release_record(target: Target) -> ReleaseRecord:
    """The release record, read afresh for each check (a rollback updates it as it goes)."""
    from releaseops.release import record

    if target.release_record is None:
        raise ConfigurationError(
            "no release record: set RELEASE_RECORD or pass --release-record "
            "(see fixtures/release_record.example.toml)"
        )
    return record.load(target.release_record)


@pytest.fixture(scope="session")
def api_url(target: Target) -> str:
    """The service's base URL; the check is not verified when none is configured."""
    if not target.api_base_url:
        pytest.skip("not verified: no API_BASE_URL / --api-base-url configured")
    return target.api_base_url


@pytest.fixture
def api(target: Target, api_url: str) -> Iterator[requests.Session]:
    """A requests session carrying the bearer token and a default timeout."""
    from releaseops.service import http as ro_http

    with ro_http.session(target.api_token) as session:
        yield session


@pytest.fixture
def service(api: requests.Session, api_url: str) -> Service:
    """The deployed service as a resource: its /health and its API description."""
    from releaseops.service.resource import Service

    return Service(api, api_url)


@pytest.fixture
def api_logs(target: Target) -> Callable[[], list[str]]:
    """Read the service log (API_LOG_SOURCE) as lines, on demand."""
    from releaseops.service import logcheck

    source = target.api_log_source
    if not source:
        pytest.skip("not verified: no API_LOG_SOURCE / --api-log-source configured")
    return lambda: logcheck.read_source(source, cwd=target.repo_root)


@pytest.fixture
def run_folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The evidence folder of this run (a temporary folder outside a checks run)."""
    recorder = request.config.stash.get(RECORDER_KEY, None)
    return recorder.folder if recorder is not None else tmp_path


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Collector:
    """Attach what this check saw to its report row and to evidence.json."""
    recorder = request.config.stash.get(RECORDER_KEY, None)
    records = request.node.stash.setdefault(EVIDENCE_KEY, [])
    return Collector(records, recorder.redactor if recorder else None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One report row per known retrieval query (RETRIEVAL_QUERIES, fixtures/queries.toml)."""
    if "known_query" not in metafunc.fixturenames:
        return
    from releaseops.service import smoke

    options = _options(metafunc.config)
    resolved = ro_target.resolve(options, repo_root=metafunc.config.rootpath)
    queries = smoke.load_queries(resolved.retrieval_queries)
    metafunc.parametrize("known_query", queries, ids=[q.q for q in queries])


@pytest.fixture(scope="session")
def known_queries(target: Target) -> list[KnownQuery]:
    """Every known retrieval query (RETRIEVAL_QUERIES, default fixtures/queries.toml)."""
    from releaseops.service import smoke

    return smoke.load_queries(target.retrieval_queries)


@pytest.fixture
def log_source(target: Target) -> str:
    """API_LOG_SOURCE as given (file:PATH or cmd:COMMAND); not verified when none is set."""
    if not target.api_log_source:
        pytest.skip("not verified: no API_LOG_SOURCE / --api-log-source configured")
    return target.api_log_source


@pytest.fixture(scope="session")
def drill_state() -> dict[str, Any]:
    """What the drill's steps hand on to each other: the dump it took ("dump"), its copy."""
    return {}


# What each phase expects to find when it runs alone on the embedded target.
PHASE_PREPARATION = {
    "deploy": "ensure_backup",
    "postdeploy": "ensure_deployed",
    "rollback": "ensure_deployed",
    "postrollback": "ensure_rolled_back",
}


@pytest.fixture(autouse=True)
def _phase_ready(request: pytest.FixtureRequest) -> None:
    """Resolve the target for every check; bring the embedded one to its phase's state."""
    item = request.node
    if not isinstance(item, pytest.Item) or not gating.is_check(item):
        return
    request.getfixturevalue("target")  # every verdict names its target, used or not
    recorder = request.config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        recorder.block_all(item)  # the target did not start while this check set it up
    prepare = PHASE_PREPARATION.get(item.path.parent.name)
    if prepare is None:
        return
    embedded = request.getfixturevalue("embedded_target")
    if embedded is not None:
        getattr(embedded, prepare)()


@pytest.fixture
def previous_release(
    target: Target, embedded_target: EmbeddedTarget | None, evidence: Collector
) -> PreviousRelease:
    """The previous release: the embedded rehearsal's own, else PREVIOUS_RELEASE_COMMAND."""
    from releaseops.runbook import previous_command

    if embedded_target is not None:
        from releaseops.rehearsal.previous import EmbeddedPreviousRelease

        return EmbeddedPreviousRelease(embedded_target)
    command = previous_command.configured(target)
    if command is None:
        pytest.skip(
            "not verified: no PREVIOUS_RELEASE_COMMAND configured to start the previous release "
            "against the drill copy (see docs/env-target.md)"
        )
    evidence.text(previous_command.VARIABLE, command)
    return previous_command.CommandPreviousRelease(target, command)
