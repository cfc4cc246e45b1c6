"""The verdict policy: GO only for a complete run whose blocking checks were all proven."""

from hypothesis import given
from hypothesis import strategies as st

from releaseops.gate.checklist import ITEMS
from releaseops.gate.verdict import (
    NO_GO_MAP,
    OUTCOMES,
    CheckResult,
    RootCause,
    Scope,
    conditions_for,
    decide,
    function_key,
)

WAIVER = {"justification": "known flaky index", "approved_by": "Dana"}


def result(check_id, outcome, items=("pre.backup",), **kw):
    return CheckResult(check_id=check_id, nodeid=check_id, items=list(items), outcome=outcome, **kw)


def test_all_passed_is_go():
    verdict = decide([result("a", "passed"), result("b", "passed")])
    assert verdict.decision == "GO"
    assert verdict.counts == {"passed": 2, "failed": 0, "not verified": 0, "blocked": 0}


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


def test_a_check_that_could_not_run_does_not_claim_a_no_go_condition():
    verdict = decide([result("drill.restore", "not verified", items=("drill.restore",))])
    (reason,) = verdict.reasons
    assert reason.conditions == ()
    assert "not verified is never GO" in reason.line()
    assert "missing/corrupt" not in reason.line()


def test_a_warning_check_does_not_block():
    verdict = decide([result("a", "failed", blocks=False)])
    assert verdict.decision == "GO"


def test_an_active_waiver_lets_a_failure_pass_and_is_listed():
    verdict = decide([result("a", "failed", waiver=WAIVER)])
    assert verdict.decision == "GO"
    assert verdict.waived == ("a (known flaky index, approved by Dana)",)


def test_a_waiver_never_covers_not_verified():
    verdict = decide([result("a", "not verified", waiver=WAIVER, message="no Docker engine")])
    assert verdict.decision == "NO-GO"
    assert verdict.waived == ()
    assert "only a failed check can be waived" in verdict.reasons[0].message


def test_waivers_for_every_check_of_a_run_that_verified_nothing_still_give_no_go():
    results = [result(c, "not verified", waiver=WAIVER) for c in ("a", "b", "c")]
    assert decide(results).decision == "NO-GO"


def test_a_waiver_never_covers_blocked():
    results = [
        result("a", "failed", message="boom"),
        result("b", "blocked", waiver=WAIVER, blocked_by="a"),
    ]
    assert decide(results).decision == "NO-GO"


def test_no_checks_at_all_is_no_go():
    verdict = decide([])
    assert verdict.decision == "NO-GO"
    assert verdict.reasons[0].message == "no check ran"


def test_blocked_checks_are_folded_into_their_root_cause():
    results = [
        result("predeploy.backup_created", "failed", message="pg_dump exited 1"),
        result("predeploy.backup_verified", "blocked", blocked_by="predeploy.backup_created"),
        result("predeploy.record", "blocked", blocked_by="predeploy.backup_created"),
    ]
    (reason,) = decide(results).reasons
    assert reason.check_id == "predeploy.backup_created"
    assert reason.blocked == ("predeploy.backup_verified", "predeploy.record")
    assert "blocks 2" in reason.line()


def test_a_chain_of_blocked_checks_is_folded_into_its_first_cause():
    results = [
        result("a", "failed", message="boom"),
        result("b", "blocked", blocked_by="a"),
        result("c", "blocked", blocked_by="b"),
    ]
    (reason,) = decide(results).reasons
    assert reason.check_id == "a" and reason.blocked == ("b", "c")


def test_an_unreachable_target_is_one_reason_of_its_own():
    root = RootCause("target-database", "the target database is unreachable: bad password")
    results = [
        result("predeploy.owners", "passed", items=("pre.owners",)),
        *(result(f"predeploy.c{n}", "blocked", blocked_by=root.id) for n in range(9)),
    ]
    verdict = decide(results, roots=[root])
    (reason,) = verdict.reasons
    assert reason.check_id == "target-database"
    assert reason.conditions == ()
    assert len(reason.blocked) == 9
    assert verdict.decision == "NO-GO"


def test_blocked_by_a_waived_failure_is_still_not_verified():
    results = [
        result("a", "failed", waiver=WAIVER),
        result("b", "blocked", blocked_by="a", message="blocked by a"),
    ]
    verdict = decide(results)
    assert verdict.decision == "NO-GO"
    assert [r.check_id for r in verdict.reasons] == ["b"]


def test_a_run_missing_checks_of_its_phase_is_no_go_naming_them():
    scope = Scope(phases=("predeploy",), expected=("predeploy.owners", "predeploy.backup_created"))
    verdict = decide([result("predeploy.owners", "passed")], scope=scope)
    assert verdict.decision == "NO-GO"
    assert verdict.missing == ("predeploy.backup_created",)
    assert "did not run: predeploy.backup_created" in verdict.reasons[-1].message


def test_an_allowed_partial_run_is_partial_never_go():
    scope = Scope(
        phases=("predeploy",),
        expected=("predeploy.owners", "predeploy.backup_created"),
        partial_allowed=True,
    )
    verdict = decide([result("predeploy.owners", "passed")], scope=scope)
    assert verdict.decision == "PARTIAL"
    assert not verdict.is_go


def test_an_allowed_partial_run_with_a_failure_is_no_go():
    scope = Scope(phases=("p",), expected=("p.a", "p.b"), partial_allowed=True)
    assert decide([result("p.a", "failed")], scope=scope).decision == "NO-GO"


def test_parametrized_checks_count_as_their_function_for_completeness():
    scope = Scope(phases=("p",), expected=("p.tool",))
    results = [result("p.tool[pg_dump]", "passed"), result("p.tool[psql]", "passed")]
    assert decide(results, scope=scope).decision == "GO"
    assert function_key("p.tool[pg_dump]") == "p.tool"


def test_every_no_go_condition_is_a_checklist_item_decided_by_known_items():
    for condition, members in NO_GO_MAP.items():
        assert ITEMS[condition].section == "4"
        assert all(m in ITEMS for m in members), condition
    assert {i.id for i in ITEMS.values() if i.section == "4"} == set(NO_GO_MAP)


# --- properties ----------------------------------------------------------------------------

ITEM_IDS = sorted(ITEMS)
RESULTS = st.lists(
    st.builds(
        lambda n, outcome, blocks, waived, item, cause: result(
            f"p.c{n}",
            outcome,
            items=(item,),
            blocks=blocks,
            waiver=WAIVER if waived else None,
            blocked_by=f"p.c{cause}" if outcome == "blocked" else None,
        ),
        st.integers(0, 30),
        st.sampled_from(OUTCOMES),
        st.booleans(),
        st.booleans(),
        st.sampled_from(ITEM_IDS),
        st.integers(0, 30),
    ),
    max_size=12,
    unique_by=lambda r: r.check_id,
)


def _proven(r: CheckResult) -> bool:
    return not r.blocks or r.outcome == "passed" or (r.outcome == "failed" and r.waiver is not None)


@given(RESULTS)
def test_go_holds_exactly_when_every_blocking_check_passed_or_failed_under_a_waiver(results):
    verdict = decide(results)
    assert verdict.is_go == (bool(results) and all(_proven(r) for r in results))


@given(RESULTS, st.booleans())
def test_go_never_holds_for_an_incomplete_run(results, partial_allowed):
    ran = {function_key(r.check_id) for r in results}
    scope = Scope(("p",), (*sorted(ran), "p.never_ran"), partial_allowed=partial_allowed)
    verdict = decide(results, scope=scope)
    assert not verdict.is_go
    assert verdict.decision in ("NO-GO", "PARTIAL")


@given(RESULTS, st.text(min_size=1, max_size=20))
def test_go_never_holds_with_a_root_cause(results, message):
    assert not decide(results, roots=[RootCause("target-database", message)]).is_go


@given(RESULTS.filter(bool))
def test_every_unproven_blocking_check_is_accounted_for_exactly_once(results):
    verdict = decide(results)
    named = [r.check_id for r in verdict.reasons] + [b for r in verdict.reasons for b in r.blocked]
    unproven = [r.check_id for r in results if not _proven(r)]
    assert sorted(named) == sorted(unproven)


@given(RESULTS)
def test_only_failed_checks_claim_no_go_conditions(results):
    by_id = {r.check_id: r for r in results}
    for reason in decide(results).reasons:
        if reason.conditions:
            failed = by_id[reason.check_id]
            assert failed.outcome == "failed"
            assert set(reason.conditions) == set(conditions_for(failed.items))


# --- the words of the verdict (a contract: people and tools read them) ------------------------


def test_each_kind_of_reason_reads_as_one_exact_line():
    failed = decide([result("predeploy.backup_created", "failed", message="exit 1")]).reasons[0]
    assert failed.line() == (
        "predeploy.backup_created failed: exit 1 [No-Go: nogo.backup: Backup command fails or "
        "backup file is missing/corrupt.]"
    )
    unmapped = decide([result("p.owners", "failed", items=("pre.owners",), message="x")])
    assert unmapped.reasons[0].line() == (
        "p.owners failed: x [No-Go: a blocking checklist item failed]"
    )
    skipped = decide([result("p.a", "not verified", message="no Docker")]).reasons[0]
    assert skipped.line() == "p.a not verified: no Docker [not verified is never GO]"
    folded = decide(
        [
            result("p.a", "failed", items=("pre.owners",), message="boom"),
            result("p.b", "blocked", blocked_by="p.a"),
            result("p.c", "blocked", blocked_by="p.a"),
        ]
    ).reasons[0]
    assert folded.line() == (
        "p.a failed: boom (blocks 2: p.b, p.c) [No-Go: a blocking checklist item failed]"
    )


def test_a_root_cause_and_a_stray_block_read_as_not_verified_lines():
    verdict = decide(
        [result("p.b", "blocked", blocked_by="p.gone", message="blocked by gone (not run)")],
        roots=[RootCause("target-database", "unreachable")],
    )
    assert [r.line() for r in verdict.reasons] == [
        "target-database not verified: unreachable [not verified is never GO]",
        "p.b blocked: blocked by gone (not run) [not verified is never GO]",
    ]


def test_a_waiver_line_names_the_justification_and_the_approver():
    verdict = decide([result("p.a", "failed", waiver={})])
    assert verdict.waived == ("p.a (, approved by ?)",)
    ignored = decide([result("p.a", "not verified", message="m", waiver=WAIVER)]).reasons[0]
    assert ignored.message == "m (its waiver is ignored: only a failed check can be waived)"


def test_no_check_and_an_incomplete_run_are_exact_reasons():
    (none,) = decide([]).reasons
    assert (none.check_id, none.outcome, none.conditions) == ("(none)", "not verified", ())
    scope = Scope(phases=("predeploy", "drill"), expected=("predeploy.a", "drill.b", "drill.c"))
    verdict = decide([result("predeploy.a", "passed")], scope=scope)
    (reason,) = verdict.reasons
    assert (reason.check_id, reason.outcome, reason.conditions) == (
        "(incomplete run)",
        "not verified",
        (),
    )
    assert reason.message == (
        "2 check(s) of phase(s) predeploy, drill did not run: drill.b, drill.c"
    )


def test_the_verdict_prints_its_decision_subject_counts_reasons_and_waivers():
    verdict = decide(
        [result("p.a", "failed", waiver=WAIVER), result("p.b", "not verified", message="m")]
    )
    assert verdict.lines("env target") == [
        "releaseops verdict: NO-GO (env target)  0 passed, 1 failed, 1 not verified, 0 blocked",
        "  - p.b not verified: m [not verified is never GO]",
        "  ~ waived: p.a (known flaky index, approved by Dana)",
    ]
    assert verdict.lines()[0].startswith("releaseops verdict: NO-GO  0 passed")
    data = verdict.as_dict()
    assert data["decision"] == "NO-GO" and data["missing"] == []
    assert data["waived"] == ["p.a (known flaky index, approved by Dana)"]
    assert data["reasons"] == [
        {
            "check_id": "p.b",
            "outcome": "not verified",
            "conditions": [],
            "message": "m",
            "blocked": [],
            "line": "p.b not verified: m [not verified is never GO]",
        }
    ]
    assert data["counts"] == {"passed": 0, "failed": 1, "not verified": 1, "blocked": 0}


def test_a_check_result_is_plain_data_for_the_evidence():
    data = result("p.a", "blocked", blocked_by="p.z").as_dict()
    assert data["blocked_by"] == "p.z" and data["outcome"] == "blocked"
    assert data["items"] == ["pre.backup"] and data["evidence"] == []


def test_a_parameter_holding_brackets_still_counts_as_its_function():
    assert function_key("p.tool[a[b]]") == "p.tool"


def test_a_failure_deciding_two_no_go_conditions_names_both():
    verdict = decide([result("p.x", "failed", items=("pre.backup", "pre.record"), message="m")])
    assert verdict.reasons[0].line() == (
        "p.x failed: m [No-Go: nogo.backup: Backup command fails or backup file is "
        "missing/corrupt.; nogo.rollback_candidate: Rollback backup candidate cannot be "
        "identified.]"
    )


def test_a_stray_block_is_plain_data_too():
    verdict = decide([result("p.b", "blocked", blocked_by="p.gone", message="blocked by gone")])
    assert verdict.as_dict()["reasons"][0]["conditions"] == []


def test_a_cycle_of_blocked_checks_ends_with_each_as_its_own_reason():
    results = [
        result("p.a", "blocked", blocked_by="p.b", message="blocked by b"),
        result("p.b", "blocked", blocked_by="p.a", message="blocked by a"),
    ]
    assert [r.check_id for r in decide(results).reasons] == ["p.a", "p.b"]
