"""GO / NO-GO from results, mapped to the checklist's No-Go conditions."""

from releaseops.gate.checklist import ITEMS
from releaseops.gate.verdict import NO_GO_MAP, CheckResult, decide


def result(check_id, outcome, items=("pre.backup",), **kw):
    return CheckResult(check_id=check_id, nodeid=check_id, items=list(items), outcome=outcome, **kw)


def test_all_passed_is_go():
    verdict = decide([result("a", "passed"), result("b", "passed")])
    assert verdict.decision == "GO"
    assert verdict.counts == {"passed": 2, "failed": 0, "not verified": 0}


def test_failed_backup_check_is_no_go_for_the_backup_condition():
    verdict = decide([result("predeploy.backup_created", "failed", message="exit 1")])
    assert verdict.decision == "NO-GO"
    (reason,) = verdict.reasons
    assert reason.conditions == ("nogo.backup",)
    assert "Backup command fails or backup file is missing/corrupt." in reason.line()


def test_not_verified_is_never_go():
    verdict = decide([result("a", "passed"), result("b", "not verified", message="no Docker")])
    assert verdict.decision == "NO-GO"
    assert verdict.reasons[0].outcome == "not verified"


def test_a_warning_check_does_not_block():
    verdict = decide([result("a", "failed", blocks=False)])
    assert verdict.decision == "GO"


def test_an_active_waiver_lets_a_failure_pass_and_is_listed():
    waiver = {"justification": "known flaky index", "approved_by": "Dana"}
    verdict = decide([result("a", "failed", waiver=waiver)])
    assert verdict.decision == "GO"
    assert verdict.waived == ("a (known flaky index, approved by Dana)",)


def test_no_checks_at_all_is_no_go():
    verdict = decide([])
    assert verdict.decision == "NO-GO"
    assert verdict.reasons[0].message == "no check ran"


def test_every_no_go_condition_is_a_checklist_item_decided_by_known_items():
    for condition, members in NO_GO_MAP.items():
        assert ITEMS[condition].section == "4"
        assert all(m in ITEMS for m in members), condition
    assert {i.id for i in ITEMS.values() if i.section == "4"} == set(NO_GO_MAP)
