"""Our own tests: pytester for the plugin; the releaseops plugin (entry point) gives clusters."""

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FAULTS = Path(__file__).parent / "faults"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/faults/ runs real phases: it carries the `faults` marker."""
    for item in items:
        if FAULTS in item.path.parents:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`pytest tests` spreads over the cores with pytest-xdist, unless `-n` was given.

    One worker more than cores: the tests wait on PostgreSQL, services and subprocesses as much
    as they compute. `worksteal` evens out the long fault tests. RELEASEOPS_TEST_WORKERS sets the
    count (0 runs in this process); `-n N` and `-p no:xdist` win over both.
    """
    if hasattr(config, "workerinput") or getattr(config.option, "numprocesses", 0) is not None:
        return
    if config.option.collectonly or getattr(config.option, "usepdb", False):
        return
    workers = os.environ.get("RELEASEOPS_TEST_WORKERS", str((os.cpu_count() or 1) + 1))
    if int(workers) > 0:
        config.option.numprocesses = int(workers)
        config.option.dist = "worksteal"
