"""The order `pytest tests` hands pytest-xdist: every worker's share starts with slow tests."""

from pathlib import Path
from types import SimpleNamespace

from tests.conftest import FAULTS, HERE, spread


def _module(path: Path, count: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(path=path, name=f"{path.stem}[{n}]") for n in range(count)]


def test_each_share_starts_with_its_part_of_the_slow_modules_and_modules_stay_whole():
    slow = [_module(FAULTS / f"test_f{n}.py", size) for n, size in enumerate((9, 7, 5, 3))]
    quick = [_module(HERE / f"test_q{n}.py", size) for n, size in enumerate((40, 30, 20, 10))]
    items = [item for module in [*slow, *quick] for item in module]
    ordered = spread(items, 2)  # type: ignore[arg-type]
    assert sorted(i.name for i in ordered) == sorted(i.name for i in items)
    halves = ordered[: len(ordered) // 2], ordered[len(ordered) // 2 :]
    # both halves (what worksteal hands two workers) begin with fault tests and hold 12 each
    for half in halves:
        assert FAULTS in half[0].path.parents
        assert sum(FAULTS in i.path.parents for i in half) == 12
    # a module is never split, and keeps its own order
    for module in [*slow, *quick]:
        at = [ordered.index(item) for item in module]
        assert at == list(range(at[0], at[0] + len(module)))
    assert spread(items, 2) == ordered  # type: ignore[arg-type]  # same collection, same order
