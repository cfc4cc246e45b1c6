"""The SLO gate goes red, naming the route, when a release makes one route fail or slow down.

Each test runs the real pre-deploy baseline check against a staged target at the previous
release (with generated loopback traffic), deploys the release in-process, restarts the
service on a broken app factory (tests/faults/slo_apps.py), and runs the real post-deploy SLO
checks.
"""

from __future__ import annotations

import json
import os

import pytest

from releaseops.release import record
from releaseops.service import slo

pytestmark = pytest.mark.faults

BASELINE = "predeploy.slo_baseline_recorded"
ERRORS = "postdeploy.error_rate_within_budget"
LATENCY = "postdeploy.latency_within_budget"
SEARCH = "GET /api/retrieval/search"
QUESTION_LIST = "GET /api/manage/questions"
# Twenty for the recorded false-alarm figure (docs/slo.md); one in the everyday suite.
REHEARSALS = int(os.environ.get("RELEASEOPS_SLO_REHEARSALS", "1"))
# The release record's [slo] defaults, in place of the staged target's lenient table.
SLO_DEFAULTS = {f"slo__{k}": v for k, v in record.Slo().as_dict().items()}


def _deploy_after_baseline(staged, app: str | None = None, traffic: int = 800):
    """The gate's baseline, the deploy, then the post-deploy SLO checks; returns that run."""
    # The release record's defaults (800 requests): a 3% error rate on one route needs them.
    staged.edit_record(**{**SLO_DEFAULTS, "slo__traffic_requests": traffic})
    gate = staged.run("predeploy/test_07_slo_baseline.py")
    assert gate.outcome(BASELINE) == "passed", gate.describe()
    staged.target.ensure_deployed()
    if app is not None:
        staged.target.restart_service(app=app)
    return staged.run("postdeploy/test_04_slo.py")


def test_baseline_is_stored_next_to_the_release_backups(staged):
    staged.edit_record(**SLO_DEFAULTS)
    gate = staged.run("predeploy/test_07_slo_baseline.py")
    assert gate.outcome(BASELINE) == "passed", gate.describe()
    path = slo.baseline_path(staged.target.backup_dir, staged.target.release_id)
    stored = json.loads(path.read_text())
    assert stored["release_id"] == staged.target.release_id
    routes = stored["window"]["routes"]
    assert routes[SEARCH]["requests"] >= 50 and routes[SEARCH]["errors_5xx"] == 0, routes
    assert {"p50", "p95", "p99"} <= routes[SEARCH].keys()


def test_three_percent_500s_on_search_turn_the_error_rate_check_red(staged):
    run = _deploy_after_baseline(staged, "tests.faults.slo_apps:search_fails_3_percent")
    assert run.failed == {ERRORS}, run.describe()
    message = run.message(ERRORS)
    assert SEARCH in message and "5xx" in message and "binomial" in message, message
    assert run.outcome(LATENCY) == "passed", run.describe()
    assert run.decision == "NO-GO" and run.returncode != 0
    assert ERRORS in run.reason_ids()


def test_200ms_slower_question_list_turns_the_latency_check_red(staged):
    # 60 requests on the question list (one in eight), over min_requests (50), 200 ms each.
    run = _deploy_after_baseline(
        staged, "tests.faults.slo_apps:question_list_200ms_slower", traffic=480
    )
    assert run.failed == {LATENCY}, run.describe()
    message = run.message(LATENCY)
    assert QUESTION_LIST in message and "p95" in message and "Mann-Whitney" in message, message
    assert SEARCH not in message, message
    assert run.outcome(ERRORS) == "passed", run.describe()
    assert run.decision == "NO-GO" and run.returncode != 0
    assert LATENCY in run.reason_ids()


@pytest.mark.staged("deployed")
def test_missing_baseline_is_not_verified_never_go(staged):
    staged.target.ensure_deployed()
    # Deployed without the gate having recorded the baseline (the rehearsal records one itself).
    slo.baseline_path(staged.target.backup_dir, staged.target.release_id).unlink()
    run = staged.run("postdeploy/test_04_slo.py")
    assert run.not_verified == {ERRORS, LATENCY}, run.describe()
    assert "no SLO baseline for release" in run.message(ERRORS), run.message(ERRORS)
    assert run.decision == "NO-GO"


def test_too_little_traffic_is_not_verified_never_go(staged):
    staged.edit_record(slo__traffic_requests=20, slo__min_requests=50)
    gate = staged.run("predeploy/test_07_slo_baseline.py")
    assert gate.not_verified == {BASELINE}, gate.describe()
    assert "fewer than the 50 the SLO gate needs" in gate.message(BASELINE)
    staged.target.ensure_deployed()
    run = staged.run("postdeploy/test_04_slo.py")
    assert run.not_verified == {ERRORS, LATENCY}, run.describe()
    assert "baseline window holds" in run.message(ERRORS), run.message(ERRORS)
    assert run.decision == "NO-GO"


@pytest.mark.parametrize("rehearsal", range(1, REHEARSALS + 1))
def test_healthy_rehearsal_raises_no_false_alarm(staged, rehearsal):
    run = _deploy_after_baseline(staged)
    assert run.outcome(ERRORS) == "passed", run.describe()
    assert run.outcome(LATENCY) == "passed", run.describe()
