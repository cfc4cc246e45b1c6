"""Our own tests: pytester for the plugin; the releaseops plugin (entry point) gives clusters."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.forkserver import ForkServer

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent
REPO = HERE.parent
FAULTS = HERE / "faults"
# Modules whose tests each run whole processes (gate runs, the scripts end to end, a browser,
# cluster lifecycles, served instances, a Python without the project) for seconds: they leave
# the fast loop (`-m "not faults"`) too.
SLOW_MODULES = {
    HERE / name
    for name in (
        "test_plugin.py",
        "test_cli.py",
        "test_cluster.py",
        "test_embedded.py",
        "test_reaper.py",
        "test_restore_marker.py",
        "test_previous_release.py",
        "test_fingerprint_drift.py",
        "test_report_browser.py",
        "test_scripts_backup.py",
        "test_scripts_fts.py",
        "test_scripts_migrations.py",
        "test_scripts_rehearse.py",
        "test_scripts_restore.py",
        "service/test_manage_browser.py",
        "service/test_gunicorn.py",
        "service/test_startup_guard.py",
        "test_service_process.py",
        "test_install_guard.py",
    )
}


def pytest_configure(config: pytest.Config) -> None:
    """The fault harness's marker (tests/faults/conftest.py)."""
    config.addinivalue_line(
        "markers",
        'staged(state): start the staged target "deployed" or "rolled back" (from a snapshot)',
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/faults/ and the slow modules carry the `faults` marker."""
    for item in items:
        if FAULTS in item.path.parents or item.path in SLOW_MODULES:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`pytest tests` spreads over the cores with pytest-xdist, unless `-n` was given.

    Two workers per core: the tests wait on PostgreSQL, services and subprocesses about as much
    as they compute (on 2 cores, 4 workers took 250 s where 3 took 271 s and 6 took 273 s: more
    workers each collect the suite, 5 s of CPU, and contend for the cores). `worksteal` evens
    out the long fault tests. RELEASEOPS_TEST_WORKERS sets the count (0 runs in this process);
    `-n N` and `-p no:xdist` win over both.
    """
    if hasattr(config, "workerinput") or getattr(config.option, "numprocesses", 0) is not None:
        return
    if config.option.collectonly or getattr(config.option, "usepdb", False):
        return
    workers = os.environ.get("RELEASEOPS_TEST_WORKERS", str(2 * (os.cpu_count() or 1)))
    if int(workers) > 0:
        config.option.numprocesses = int(workers)
        config.option.dist = "worksteal"


@pytest.fixture(scope="session")
def fork_server() -> Iterator[ForkServer | None]:
    """One warm process this session's pytest runs (phases, pytester) are forked from."""
    if os.environ.get("RELEASEOPS_FAULTS_SUBPROCESS"):  # plain subprocesses, to compare
        yield None
        return
    server = ForkServer(REPO)
    try:
        yield server
    finally:
        server.close()
