"""Our own tests: pytester for the plugin; the releaseops plugin (entry point) gives clusters."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FAULTS = Path(__file__).parent / "faults"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/faults/ runs real phases: it carries the `faults` marker."""
    for item in items:
        if FAULTS in item.path.parents:
            item.add_marker(pytest.mark.faults)
