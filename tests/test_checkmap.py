"""The checklist map: every item has a check, every check cites an item, the doc is current."""

from pathlib import Path

from releaseops.gate import checkmap

REPO = Path(__file__).resolve().parents[1]


def test_every_checklist_item_has_a_check_and_every_check_an_item():
    assert checkmap.problems(checkmap.scan(REPO / "checks")) == []


def test_checklist_map_document_is_current():
    current = (REPO / "docs" / "checklist-map.md").read_text()
    assert current == checkmap.render(checkmap.scan(REPO / "checks")), (
        "docs/checklist-map.md is stale: run python scripts/checklist_map.py --write"
    )


def test_uncovered_item_and_uncited_check_are_reported(tmp_path):
    phase = tmp_path / "checks" / "predeploy"
    phase.mkdir(parents=True)
    (phase / "test_x.py").write_text(
        "import pytest\n\n"
        "def test_no_item():\n    '''Something.'''\n\n"
        "@pytest.mark.item('pre.owners', 'no.such')\n"
        "def test_owner():\n    pass\n"
    )
    found = checkmap.problems(checkmap.scan(tmp_path / "checks"))
    assert (
        "checks/predeploy/test_x.py::test_no_item cites no checklist item "
        "(@pytest.mark.item)" in found
    )
    assert "checks/predeploy/test_x.py::test_owner cites unknown item 'no.such'" in found
    assert "checks/predeploy/test_x.py::test_owner has no docstring (the checklist text)" in found
    assert any(p.startswith("checklist item pre.env (") for p in found)
