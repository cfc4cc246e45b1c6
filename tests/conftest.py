"""Our own tests: pytester for the plugin; the releaseops plugin (entry point) gives clusters."""

import gc
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.forkserver import ForkServer

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent
REPO = HERE.parent
FAULTS = HERE / "faults"
MATRIX = HERE / "matrix"
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
    """The fault harness's marker (tests/faults/conftest.py); Ctrl-C that reaches children."""
    # Started in the background of a non-interactive shell (`pytest tests &`), the suite would
    # inherit SIGINT ignored, and pass that on to every run it starts: the Ctrl-C tests' runs
    # would never see their Ctrl-C. A handler is not inherited across exec; an ignore is.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line(
        "markers",
        'staged(state, serve=True): start the staged target "deployed" or "rolled back" (from a '
        "snapshot); serve=False: its service starts on first need, not at staging",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/faults/ and the slow modules carry the `faults` marker.

    Under pytest-xdist the items are also put in the order its `worksteal` schedule wants.
    """
    for item in items:
        if _slow(item):
            item.add_marker(pytest.mark.faults)
    workers = int(getattr(config, "workerinput", {}).get("workercount", 0))
    if workers > 1:
        items[:] = spread(items, workers)


def _slow(item: pytest.Item) -> bool:
    return FAULTS in item.path.parents or item.path in SLOW_MODULES


def _weight(item: pytest.Item) -> int:
    """About how long a test takes, in units of a slow module's test; 0 for a quick one."""
    if FAULTS in item.path.parents or MATRIX in item.path.parents:
        return 5  # a real phase, or a run interrupted and rerun: seconds each
    return 1 if item.path in SLOW_MODULES else 0


def _cost(items: list[pytest.Item]) -> int:
    return sum(map(_weight, items))


def spread(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """One share per worker, each with its part of the slow modules first.

    `worksteal` hands each worker a contiguous share of the collection, and an idle worker then
    takes the second half of the longest queue. In collection order, the fault modules (first
    alphabetically) were all one worker's share, and the run ended on a few of them in a row.
    Here every share starts with about as many slow tests as the others and ends with quick
    ones, which are what is stolen. A module stays in one piece, in its own order (its module
    fixtures are set up once); the order depends only on the collection and the worker count,
    as xdist requires.
    """
    modules: dict[Path, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    slow = sorted((m for m in modules.values() if _weight(m[0])), key=_cost, reverse=True)
    quick = sorted((m for m in modules.values() if not _weight(m[0])), key=len, reverse=True)
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    tails: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for module in slow:
        share = min(range(workers), key=lambda i: _cost(heads[i]))
        heads[share].extend(module)
    for module in quick:
        share = min(range(workers), key=lambda i: len(heads[i]) + len(tails[i]))
        tails[share].extend(module)
    return [item for share in range(workers) for item in heads[share] + tails[share]]


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (modules, items, the fuzz cases) lives until the process ends: out
    of the cyclic collector's sight, each of the thousands of collections no longer walks it."""
    gc.freeze()


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
