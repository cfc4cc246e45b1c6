"""The run folder: checklist ticked from results, evidence files, latest link."""

import json

from releaseops.gate import runfolder
from releaseops.gate.evidence import Redactor
from releaseops.gate.verdict import CheckResult, decide


def results():
    return [
        CheckResult("predeploy.owners", "n1", ["pre.owners"], "passed"),
        CheckResult(
            "predeploy.backup_created",
            "n2",
            ["pre.backup"],
            "failed",
            message="exit 1 from postgresql://u:pw-zz-123@h/db",
        ),
        CheckResult(
            "predeploy.tools[psql]", "n3", ["pre.tools"], "not verified", message="blocked by x"
        ),
    ]


def test_checklist_ticks_boxes_from_results(tmp_path):
    verdict = decide(results())
    runfolder.write(
        tmp_path, results(), verdict, {"run_id": "r1", "target": "embedded"}, Redactor()
    )
    text = (tmp_path / "checklist.md").read_text()
    assert "- [x] Confirm release owner, rollback owner, and incident channel. — passed" in text
    assert "— FAILED ([predeploy.backup_created](evidence/predeploy.backup_created.json))" in text
    assert "Verify tooling availability: pg_dump, pg_restore, psql. — NOT VERIFIED" in text
    assert "- [ ] Backup command fails or backup file is missing/corrupt. — NO-GO" in text
    assert "API health check returns success. — not checked in this run" in text
    assert "Verdict: **NO-GO**" in text


def test_evidence_files_are_written_and_redacted(tmp_path):
    runfolder.write(tmp_path, results(), decide(results()), {"run_id": "r1"}, Redactor())
    data = json.loads((tmp_path / "evidence.json").read_text())
    assert data["verdict"]["decision"] == "NO-GO"
    assert {c["check_id"] for c in data["checks"]} == {
        "predeploy.owners",
        "predeploy.backup_created",
        "predeploy.tools[psql]",
    }
    for path in tmp_path.rglob("*.json"):
        assert "pw-zz-123" not in path.read_text()
    assert (tmp_path / "evidence" / "predeploy.tools_psql_.json").exists()


def test_latest_link_moves_to_the_new_run(tmp_path):
    first = runfolder.create(tmp_path, runfolder.new_run_id("a"))
    second = runfolder.create(tmp_path, runfolder.new_run_id("b"))
    assert (tmp_path / "latest").resolve() == second.resolve() != first.resolve()
    assert oct(second.stat().st_mode & 0o777) == "0o700"


def test_release_facts_accumulate_in_release_json(tmp_path):
    runfolder.write_release_facts(tmp_path, {"release_id": "r1", "backup_file": "a.dump"})
    path = runfolder.write_release_facts(tmp_path, {"sha256": "ab" * 32})
    assert json.loads(path.read_text()) == {
        "release_id": "r1",
        "backup_file": "a.dump",
        "sha256": "ab" * 32,
    }
