"""The pytest plugin: options, markers, the recorder, the run folder, the cluster fixtures.

The checks' own fixtures (target, resources, evidence) live in `releaseops.gate.fixtures`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from releaseops.dburl import DatabaseUrl
from releaseops.errors import DockerUnavailable
from releaseops.gate import runfolder
from releaseops.gate.recorder import Recorder
from releaseops.gate.subject import commit_of
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import Cluster, make_cluster
from releaseops.release import target as ro_target

# The checks' fixtures, registered with this plugin wherever it is loaded.
pytest_plugins = ["releaseops.gate.fixtures"]

RECORDER_KEY = pytest.StashKey[Recorder]()
HELP_TARGET = (
    "where the checks point: 'env' (DATABASE_URL and friends) or 'embedded' (a "
    "throwaway cluster plus the reference service); default: env when DATABASE_URL "
    "is set, else embedded"
)
HELP_PG_PROVIDER = (
    "where the throwaway PostgreSQL comes from: 'local' binaries (default), "
    "'container' (testcontainers; needs a Docker engine) or 'auto'"
)
HELP_REPORTS_DIR = "folder that receives one evidence folder per run (default: reports)"
OPTIONS = {
    "--database-url": "target database (SQLAlchemy or libpq URL); env DATABASE_URL",
    "--api-base-url": "base URL of the deployed service; env API_BASE_URL",
    "--api-log-source": "service log: file:PATH or cmd:COMMAND; env API_LOG_SOURCE",
    "--backup-dir": "where backups are written and looked for; env BACKUP_DIR (default backups/)",
    "--release-record": "release record (TOML) with owners, rollout plan, waivers; env "
    "RELEASE_RECORD",
    "--drill-database-url": "scratch database for the restore drill; env DRILL_DATABASE_URL",
    "--postgres-admin-url": "URL used to drop/create the drill database; env POSTGRES_ADMIN_URL",
    "--migrations-dir": "migration files (default migrations/postgres); env MIGRATIONS_DIR",
    "--retrieval-queries": "known queries with expected candidates (TOML); env RETRIEVAL_QUERIES "
    "(default fixtures/queries.toml)",
    "--fts-spec": "the service's FTS declaration as module:attribute; env FTS_SPEC (default "
    "[tool.releaseops] fts_spec in pyproject.toml)",
}
MARKERS = {
    "item(*ids)": "the checklist item(s) this check verifies (ids in releaseops.checklist)",
    "after(*names)": "prerequisite checks (test_x in the same file, test_NN_file.py::test_x in "
    "the same phase folder); skipped as 'blocked by' when one did not pass",
    "warns": "a failure of this check warns and does not make the verdict NO-GO",
    "destructive": "this check changes the target database (restore, drop, migrate)",
}
# pytest-html's environment table shows only these keys: CI variables leak into it otherwise.
METADATA_ALLOW = ("Python", "Platform", "Packages", "Plugins", "releaseops run", "target")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the releaseops option group and ini keys."""
    group = parser.getgroup("releaseops", "releaseops release checks")
    group.addoption("--target", choices=("embedded", "env"), default=None, help=HELP_TARGET)
    for flag, text in OPTIONS.items():
        group.addoption(flag, default=None, metavar="VALUE", help=text)
    group.addoption(
        "--execute",
        action="store_true",
        default=False,
        help="allow deploy/rollback steps to change an env target",
    )
    group.addoption(
        "--confirm-db",
        default=None,
        metavar="NAME",
        help="name of the env target database that destructive steps may change",
    )
    group.addoption(
        "--probe-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long post-deploy probes retry before failing (default 60)",
    )
    group.addoption(
        "--pg-provider", choices=("local", "container", "auto"), default=None, help=HELP_PG_PROVIDER
    )
    group.addoption("--reports-dir", default=None, metavar="DIR", help=HELP_REPORTS_DIR)
    group.addoption(
        "--allow-cross-server",
        action="store_true",
        default=False,
        help="let the rollback restore a dump taken of another server or database (recorded "
        "in the evidence); without it such a dump is refused",
    )
    group.addoption(
        "--allow-partial",
        action="store_true",
        default=False,
        help="a developer's partial run (-k, --deselect, --lf, one file): end PARTIAL instead "
        "of NO-GO when the checks that ran passed; PARTIAL is never GO and exits non-zero",
    )
    parser.addini("releaseops_pg_provider", default="local", help=HELP_PG_PROVIDER)
    parser.addini("releaseops_reports_dir", default="reports", help=HELP_REPORTS_DIR)


def _is_checks_run(config: pytest.Config) -> bool:
    return any("checks" in Path(str(arg).split("::")[0]).resolve().parts for arg in config.args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register markers; for a checks run, create the run folder and point reports at it."""
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    if not _is_checks_run(config) or getattr(config, "workerinput", None) is not None:
        return
    reports = Path(config.getoption("reports_dir") or config.getini("releaseops_reports_dir"))
    if not reports.is_absolute():
        reports = config.rootpath / reports
    label = "-".join(Path(str(a).split("::")[0]).name for a in config.args) or "checks"
    run_id = runfolder.new_run_id(label)
    folder = runfolder.create(reports, run_id)
    if not getattr(config.option, "htmlpath", None):
        config.option.htmlpath = str(folder / "report.html")
    config.option.self_contained_html = True
    # An order that cannot be honoured is an error for a gate, not pytest-order's warning.
    config.option.fail_all_on_failed_ordering = True
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(folder / "junit.xml")
    recorder = Recorder(config, folder, run_id)
    recorder.subject.commit = commit_of(config.rootpath)
    unnamed = _unnamed_target(config, os.environ)
    if unnamed:
        recorder.add_root("no-target", unnamed)
    config.stash[RECORDER_KEY] = recorder
    config.pluginmanager.register(recorder, "releaseops-recorder")


def _unnamed_target(config: pytest.Config, environ: Mapping[str, str]) -> str | None:
    """Under CI a gate must name its target: a lost DATABASE_URL must not turn into a rehearsal."""
    if not ro_target.parse_flag_lenient(environ.get("CI")):
        return None
    if (
        config.getoption("target")
        or config.getoption("database_url")
        or environ.get("DATABASE_URL")
    ):
        return None
    return (
        "no target named: with CI=true a gate run must name its target (--target embedded, "
        "--target env with DATABASE_URL, or --database-url); nothing was checked"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Keep a copy of a user-chosen --html report in the run folder too."""
    recorder = config.stash.get(RECORDER_KEY, None)
    html = getattr(config.option, "htmlpath", None)
    if recorder is None or not html:
        return
    path = Path(html)
    if path.exists() and path.parent.resolve() != recorder.folder.resolve():
        shutil.copy2(path, recorder.folder / "report.html")


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """Keep only allow-listed keys in pytest-html's environment table."""
    for key in [k for k in metadata if k not in METADATA_ALLOW]:
        del metadata[key]
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        metadata["releaseops run"] = recorder.run_id


# --- cluster fixtures (our own tests use these too) ------------------------------------------


def pg_provider(config: pytest.Config) -> Any:
    """Where throwaway clusters come from: --pg-provider, else the ini's releaseops_pg_provider."""
    return config.getoption("pg_provider") or config.getini("releaseops_pg_provider")


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the whole session, always torn down."""
    cluster = make_cluster(pg_provider(request.config))
    try:
        cluster.start()
    except DockerUnavailable as exc:
        pytest.skip(f"not verified: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_db(pg_cluster: Cluster) -> Iterator[DatabaseUrl]:
    """A new empty database on the session cluster, dropped after the test."""
    with ScratchDatabase(pg_cluster.url) as url:
        yield url
