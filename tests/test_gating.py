"""Gating without pytest runs: prerequisites, "blocked by", and what a phase must cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from releaseops.gate import gating


class Marker:
    def __init__(self, *args: str) -> None:
        self.args = args


class FakeItem:
    """Just what gating reads of a pytest item."""

    def __init__(self, path: Path, name: str, after: tuple[str, ...] = ()) -> None:
        self.path = path
        self.name = self.originalname = name
        self._after = after

    def get_closest_marker(self, name: str) -> Marker | None:
        return Marker(*self._after) if name == gating.AFTER_MARKER and self._after else None


PHASE = Path("/repo/checks/rollback")


def test_a_check_id_is_phase_dot_function_without_test():
    assert gating.key_check_id(f"{PHASE}/test_02_restore.py::test_database_restored") == (
        "rollback.database_restored"
    )


def test_a_failed_prerequisite_blocks_naming_its_check_id_and_title():
    item = FakeItem(PHASE / "test_03.py", "test_smoke", after=("test_02.py::test_restore",))
    key = f"{PHASE}/test_02.py::test_restore"
    blocked = gating.blocked_by(item, {key: "failed"}, {key: "4. Restore database."})
    assert blocked == ("rollback.restore", "blocked by 4. Restore database. (failed)")


@pytest.mark.parametrize(
    ("outcome", "blocks"),
    [("passed", False), ("blocked", True), ("not verified", True), (None, True)],
)
def test_only_a_passed_prerequisite_lets_a_step_run(outcome, blocks):
    item = FakeItem(PHASE / "test_02.py", "test_b", after=("test_a",))
    key = f"{PHASE}/test_02.py::test_a"
    outcomes = {key: outcome} if outcome else {}
    assert (gating.blocked_by(item, outcomes, {key: "A."}) is not None) is blocks


def test_a_prerequisite_outside_the_run_does_not_gate():
    item = FakeItem(PHASE / "test_02.py", "test_b", after=("test_01.py::test_a",))
    assert gating.blocked_by(item, {}, {}) is None


def test_a_phase_covers_every_check_function_of_its_files(tmp_path):
    phase = tmp_path / "checks" / "predeploy"
    phase.mkdir(parents=True)
    (phase / "test_01_a.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('x', [1, 2])\ndef test_one(x):\n    pass\n\n"
        "def helper():\n    pass\n\ndef test_two():\n    pass\n"
    )
    (phase / "test_02_b.py").write_text("def test_three():\n    pass\n")
    (phase / "test_03_broken.py").write_text("def test_(:\n")
    (phase / "conftest.py").write_text("def test_not_a_check():\n    pass\n")
    assert gating.phase_checks(phase) == [
        "predeploy.one",
        "predeploy.two",
        "predeploy.three",
    ]


def test_a_check_is_a_test_citing_a_checklist_item():
    class Cited(FakeItem):
        def get_closest_marker(self, name):
            return Marker("pre.owners") if name == gating.ITEM_MARKER else None

    cited = Cited(PHASE / "test_01.py", "test_x")
    assert gating.is_check(cited) and gating.items_of(cited) == ["pre.owners"]
    plain = FakeItem(PHASE / "test_01.py", "test_y")
    assert not gating.is_check(plain) and gating.items_of(plain) == []
    assert gating.prerequisites(plain) == []
    assert gating.check_id(cited) == "rollback.x"


def test_every_prerequisite_of_the_run_is_looked_at_not_only_the_first():
    item = FakeItem(PHASE / "test_03.py", "test_c", after=("test_01.py::test_a", "test_b"))
    key = f"{PHASE}/test_03.py::test_b"  # test_a is not part of this run, test_b is
    assert gating.blocked_by(item, {}, {key: "B."}) == ("rollback.b", "blocked by B. (not run)")


def test_an_unreadable_or_broken_file_does_not_hide_the_checks_after_it(tmp_path):
    phase = tmp_path / "drill"
    phase.mkdir()
    (phase / "test_01_broken.py").write_text("def test_(:\n")
    (phase / "test_02_latin1.py").write_bytes(b"# caf\xe9\ndef test_after():\n    pass\n")
    assert gating.phase_checks(phase) == ["drill.after"]


class Check(FakeItem):
    """A fake check citing `items`, with a docstring."""

    def __init__(self, path, name, items=("pre.owners",), after=(), doc="Confirm owners.\n\nMore."):
        super().__init__(path, name, after)
        self.nodeid = f"{path.name}::{name}"
        self._items = items
        self.function = lambda: None
        self.function.__doc__ = doc

    def get_closest_marker(self, name):
        if name == gating.ITEM_MARKER:
            return Marker(*self._items)
        return super().get_closest_marker(name)


def test_a_check_title_is_the_first_line_of_its_docstring_else_its_name():
    assert gating.title(Check(PHASE / "t.py", "test_a")) == "Confirm owners."
    assert gating.title(Check(PHASE / "t.py", "test_a", doc=None)) == "test_a"


def test_an_unknown_checklist_id_is_a_usage_error():
    with pytest.raises(pytest.UsageError, match=r"unknown checklist item 'pre\.nope'"):
        gating.validate([Check(PHASE / "t.py", "test_a", items=("pre.nope",))])


def test_a_prerequisite_that_is_no_test_of_its_file_is_a_usage_error(tmp_path):
    (tmp_path / "test_01.py").write_text("def test_real():\n    pass\n")
    item = Check(tmp_path / "test_02.py", "test_b", after=("test_01.py::test_missing",))
    with pytest.raises(
        pytest.UsageError,
        match=r"prerequisite 'test_01\.py::test_missing' is not a test in test_01\.py",
    ):
        gating.validate([item])
    defined = Check(tmp_path / "test_02.py", "test_b", after=("test_01.py::test_real",))
    gating.validate([defined])  # defined there, outside this run: no error


def test_a_prerequisite_ordered_after_its_dependent_is_a_usage_error():
    first = Check(PHASE / "t.py", "test_a", after=("test_b",))
    second = Check(PHASE / "t.py", "test_b")
    with pytest.raises(pytest.UsageError, match=r"prerequisite 'test_b' is not ordered before it"):
        gating.validate([first, second])
    gating.validate([second, first])


def test_a_check_waiting_for_itself_is_a_usage_error():
    looped = Check(PHASE / "t.py", "test_a", after=("test_a",))
    with pytest.raises(pytest.UsageError, match=r"cannot wait for itself"):
        gating.validate([looped])


def test_a_prerequisite_file_that_is_not_utf8_is_still_read(tmp_path):
    (tmp_path / "test_01.py").write_bytes(b"# caf\xe9\ndef test_real():\n    pass\n")
    gating.validate([Check(tmp_path / "test_02.py", "test_b", after=("test_01.py::test_real",))])


def test_an_item_without_a_function_or_original_name_still_has_a_title_and_key():
    bare = FakeItem(PHASE / "t.py", "test_z[1]")
    del bare.originalname
    assert gating.title(bare) == "test_z[1]"
    assert gating.outcome_key(bare) == f"{PHASE}/t.py::test_z[1]"


def test_outcome_keys_fold_parameters_and_warns_checks_do_not_block():
    item = FakeItem(PHASE / "test_01.py", "test_tool[pg_dump]")
    item.originalname = "test_tool"
    assert gating.outcome_key(item) == f"{PHASE}/test_01.py::test_tool"

    class Warns(FakeItem):
        def get_closest_marker(self, name):
            return Marker() if name == gating.WARNS_MARKER else None

    assert gating.blocks(item) is True
    assert gating.blocks(Warns(PHASE / "t.py", "test_w")) is False
