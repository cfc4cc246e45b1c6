"""The pytest plugin, run through pytester on tiny check files: gating, evidence, verdict."""

import functools
import json
import os
import re
from pathlib import Path

import pytest

from tests import forkserver
from tests.scripting import LEAN_PYTEST

REPO = Path(__file__).resolve().parents[1]

DEMO = '''
import pytest

pytestmark = pytest.mark.order(1)


@pytest.mark.item("pre.owners")
def test_first(evidence):
    """Confirm release owner, rollback owner, and incident channel."""
    evidence.json("seen", {"owner": "Dana"})
    assert FIRST_OK, "owner missing"


@pytest.mark.item("pre.backup")
@pytest.mark.after("test_first")
def test_second():
    """Create pre-deploy DB backup."""


@pytest.mark.item("pre.tools")
def test_independent():
    """Verify tooling availability: pg_dump, pg_restore, psql."""
'''


@pytest.fixture(autouse=True)
def forked(pytester, fork_server, monkeypatch):
    """pytester's subprocess runs fork from the session's warm process (tests/forkserver.py)."""
    if fork_server is not None:
        run = functools.partial(forkserver.runpytest, pytester, fork_server)
        monkeypatch.setattr(pytester, "runpytest_subprocess", run)


def write_checks(pytester, source, first_ok=True):
    pytester.makefile(".ini", pytest="[pytest]\naddopts = -p no:cacheprovider\n")
    phase = pytester.mkpydir("checks") / "demo"
    phase.mkdir()
    (phase / "__init__.py").write_text("")
    (phase / "test_demo.py").write_text(source.replace("FIRST_OK", str(first_ok)))
    return phase


def run(pytester, *args):
    if "--target" not in args:
        args = ("--target", "env", *args)  # the demo checks need no database
    return pytester.runpytest_subprocess(
        *LEAN_PYTEST, "checks/demo", "--reports-dir", "reports", *args
    )


def evidence_of(pytester):
    return json.loads((pytester.path / "reports" / "latest" / "evidence.json").read_text())


def test_all_green_is_go_with_a_full_evidence_folder(pytester):
    write_checks(pytester, DEMO)
    result = run(pytester)
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*releaseops verdict: GO*", "evidence: *reports*"])
    folder = pytester.path / "reports" / "latest"
    for name in ("report.html", "junit.xml", "evidence.json", "checklist.md"):
        assert (folder / name).is_file(), name
    data = evidence_of(pytester)
    assert data["verdict"]["decision"] == "GO"
    first = next(c for c in data["checks"] if c["check_id"] == "demo.first")
    assert first["evidence"] == [{"kind": "json", "title": "seen", "content": {"owner": "Dana"}}]
    checklist = (folder / "checklist.md").read_text()
    assert (
        "- [x] Confirm release owner, rollback owner, and incident channel. — passed" in checklist
    )
    assert "(evidence/demo.first.json)" in checklist


def test_failed_prerequisite_blocks_its_dependent_but_not_the_rest(pytester):
    write_checks(pytester, DEMO, first_ok=False)
    result = run(pytester, "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*blocked by Confirm release owner, rollback owner, and incident channel. (failed)*"]
    )
    assert result.ret == 1
    data = evidence_of(pytester)
    outcomes = {c["check_id"]: c["outcome"] for c in data["checks"]}
    assert outcomes == {
        "demo.first": "failed",
        "demo.second": "blocked",
        "demo.independent": "passed",
    }
    assert data["verdict"]["decision"] == "NO-GO"
    # One root cause, one reason: the blocked backup step is folded into the owner check's.
    (reason,) = data["verdict"]["reasons"]
    assert reason["check_id"] == "demo.first"
    assert "owner missing" in reason["message"]
    assert reason["blocked"] == ["demo.second"]
    assert reason["conditions"] == []


def test_unknown_prerequisite_is_a_usage_error(pytester):
    write_checks(pytester, DEMO.replace('after("test_first")', 'after("test_nope")'))
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*prerequisite 'test_nope' is not a test in test_demo.py*"])


def test_prerequisite_ordered_later_is_a_usage_error(pytester):
    source = DEMO.replace('@pytest.mark.after("test_first")\n', "").replace(
        "def test_independent():", '@pytest.mark.after("test_zzz")\ndef test_independent():'
    )
    source += '\n\n@pytest.mark.item("pre.env")\ndef test_zzz():\n    """Later."""\n'
    write_checks(pytester, source)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*prerequisite 'test_zzz' is not ordered before it*"])


def test_unknown_checklist_item_is_a_usage_error(pytester):
    write_checks(pytester, DEMO.replace('"pre.tools"', '"pre.nonsense"'))
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown checklist item 'pre.nonsense'*"])


def test_secrets_are_masked_in_every_artifact_and_the_terminal(pytester, monkeypatch):
    secret = "Hunter2-very-secret"
    monkeypatch.setenv("CI_DEPLOY_TOKEN", secret)
    # The secret reaches the check at run time, as a real one would (never in its source).
    source = "import os\nSECRET = os.environ['CI_DEPLOY_TOKEN']\n" + DEMO.replace(
        'evidence.json("seen", {"owner": "Dana"})',
        'evidence.text("url", f"postgresql://app:{SECRET}@db/x");'
        ' evidence.json("cfg", {"api_token": SECRET, "ok": 1})',
    ).replace('"owner missing"', 'f"cannot reach postgresql://app:{SECRET}@db/x"')
    write_checks(pytester, source, first_ok=False)
    result = run(pytester)
    assert result.ret == 1
    output = "\n".join(result.outlines + result.errlines)
    assert secret not in output
    for path in (pytester.path / "reports").rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path


def test_html_report_is_self_contained_and_shows_allow_listed_environment_only(
    pytester, monkeypatch
):
    monkeypatch.setenv("CI", "true")  # a named target (--target env) is what CI requires
    monkeypatch.setenv("GITHUB_TOKEN_LIKE", "leaky-value-123")
    write_checks(pytester, DEMO)
    run(pytester)
    folder = pytester.path / "reports" / "latest"
    html = (folder / "report.html").read_text()
    assert not (folder / "assets").exists()
    assert "<style" in html
    assert "leaky-value-123" not in html
    assert "Confirm release owner, rollback owner, and incident channel." in html
    assert "Verdict: GO" in html


def test_user_html_path_still_works_and_is_copied_into_the_run_folder(pytester):
    write_checks(pytester, DEMO)
    run(pytester, "--html=custom.html")
    assert (pytester.path / "custom.html").is_file()
    assert (pytester.path / "reports" / "latest" / "report.html").is_file()


WAIVED = '''
import pytest


@pytest.mark.item("pre.owners")
def test_first(target):
    """Confirm release owner, rollback owner, and incident channel."""
    assert False, "owner missing"
'''


@pytest.mark.parametrize(
    ("expires", "decision"), [("2999-01-01T00:00:00Z", "GO"), ("2001-01-01T00:00:00Z", "NO-GO")]
)
def test_active_waiver_passes_the_gate_and_an_expired_one_is_void(pytester, expires, decision):
    write_checks(pytester, WAIVED)
    record = pytester.path / "record.toml"
    record.write_text(
        'release_id = "r1"\nrelease_owner = "Dana"\nrollback_owner = "Sam"\n'
        'incident_channel = "#inc"\nenvironment = "staging"\n'
        f'[[waiver]]\ncheck = "demo.first"\njustification = "owner on leave, CTO signs"\n'
        f'approved_by = "CTO"\nexpires = {expires}\n'
    )
    result = run(pytester, "--target", "env", "--release-record", str(record))
    data = evidence_of(pytester)
    assert data["verdict"]["decision"] == decision
    if decision == "GO":
        assert result.ret == 0
        assert data["verdict"]["waived"] == [
            "demo.first (owner on leave, CTO signs, approved by CTO)"
        ]
    else:
        assert result.ret == 1


def test_plain_test_runs_do_not_create_evidence_folders(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess(*LEAN_PYTEST, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()
    assert not re.search("releaseops verdict", result.stdout.str())


def test_latest_points_at_the_newest_run(pytester):
    write_checks(pytester, DEMO)
    run(pytester)
    run(pytester)
    reports = pytester.path / "reports"
    runs = sorted(p.name for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(runs) == 2
    assert os.readlink(pytester.path / "reports" / "latest") == runs[-1]


def test_unresolvable_pytest_order_marker_is_an_error_not_a_warning(pytester):
    write_checks(
        pytester,
        DEMO.replace(
            "pytestmark = pytest.mark.order(1)",
            'pytestmark = pytest.mark.order(after="test_missing")',
        ),
    )
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pytest-order: cannot execute*relative to others*"])


def test_container_provider_without_docker_is_no_go_even_with_every_check_waived(pytester):
    write_checks(pytester, DEMO)
    record = pytester.path / "record.toml"
    record.write_text(
        'release_id = "r1"\nrelease_owner = "Dana"\nrollback_owner = "Sam"\n'
        'incident_channel = "#inc"\nenvironment = "staging"\n'
        + "".join(
            f'[[waiver]]\ncheck = "demo.{name}"\njustification = "waive all"\n'
            f'approved_by = "CTO"\nexpires = 2999-01-01T00:00:00Z\n'
            for name in ("first", "second", "independent")
        )
    )
    result = run(
        pytester,
        "--target",
        "embedded",
        "--pg-provider",
        "container",
        "-rs",
        "--release-record",
        str(record),
    )
    if "no Docker engine is reachable" not in result.stdout.str():
        pytest.skip("a Docker engine is reachable here")
    data = evidence_of(pytester)
    assert data["verdict"]["decision"] == "NO-GO"
    assert data["verdict"]["waived"] == []
    assert {c["outcome"] for c in data["checks"]} == {"blocked"}
    (reason,) = data["verdict"]["reasons"]
    assert reason["check_id"] == "target-start"
    assert "no Docker engine is reachable" in reason["message"]
    assert result.ret == 1
    assert "verdict: GO" not in result.stdout.str()


@pytest.mark.parametrize(
    "narrowing",
    [("-k", "first"), ("--deselect", "checks/demo/test_demo.py::test_second"), ("-m", "warns")],
)
def test_a_narrowed_run_is_no_go_naming_the_checks_that_did_not_run(pytester, narrowing):
    write_checks(pytester, DEMO)
    result = run(pytester, *narrowing)
    assert result.ret != 0
    assert "verdict: GO" not in result.stdout.str()
    data = evidence_of(pytester)
    assert data["verdict"]["decision"] == "NO-GO"
    assert "demo.second" in data["verdict"]["missing"]
    result.stdout.fnmatch_lines(["*did not run:*demo.second*"])


def test_a_single_file_of_a_phase_is_an_incomplete_run(pytester):
    write_phase(pytester, healthy=True)
    result = pytester.runpytest_subprocess(
        *LEAN_PYTEST, "checks/demo/test_02_smoke.py", "--reports-dir", "reports", "--target", "env"
    )
    assert result.ret != 0
    assert evidence_of(pytester)["verdict"]["missing"] == ["demo.health"]


def test_an_allowed_partial_run_ends_partial_with_a_non_zero_exit(pytester):
    write_checks(pytester, DEMO)
    result = run(pytester, "-k", "first", "--allow-partial")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*releaseops verdict: PARTIAL*"])
    assert evidence_of(pytester)["verdict"]["decision"] == "PARTIAL"


def test_under_ci_a_run_that_names_no_target_is_no_go_and_checks_nothing(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write_checks(pytester, DEMO)
    result = pytester.runpytest_subprocess(*LEAN_PYTEST, "checks/demo", "--reports-dir", "reports")
    assert result.ret != 0
    data = evidence_of(pytester)
    (reason,) = data["verdict"]["reasons"]
    assert reason["check_id"] == "no-target"
    assert "no target named" in reason["message"]
    assert {c["outcome"] for c in data["checks"]} == {"blocked"}
    assert not (pytester.path / "reports" / "latest" / "embedded").exists()


def test_the_verdict_names_its_subject_in_every_artifact(pytester):
    write_checks(pytester, DEMO)
    result = run(pytester)
    result.stdout.fnmatch_lines(
        ["*releaseops verdict: GO (env target)*", "verified: target env target · database *"]
    )
    folder = pytester.path / "reports" / "latest"
    subject = evidence_of(pytester)["meta"]["subject"]
    assert subject["kind"] == "env" and subject["phases"] == ["demo"]
    assert "Verdict: **GO** (env target)" in (folder / "checklist.md").read_text()
    html = (folder / "report.html").read_text()
    assert "Verdict: GO (env target)" in html
    assert "href='checklist.md'" in html and "href='evidence.json'" in html
    junit = (folder / "junit.xml").read_text()
    assert 'name="releaseops.verdict" value="GO"' in junit
    assert 'name="releaseops.target" value="env target"' in junit


HEALTH = '''
import pytest

pytestmark = pytest.mark.order(1)


@pytest.mark.item("post.health")
def test_health():
    """API health check returns success."""
    assert HEALTHY, "no answer"
'''

SMOKE = '''
import pytest

pytestmark = pytest.mark.order(2)


@pytest.mark.item("post.crud")
@pytest.mark.after("test_01_health.py::test_health")
def test_crud():
    """/manage CRUD smoke path works."""
'''


def write_phase(pytester, healthy, smoke=SMOKE):
    phase = write_checks(pytester, HEALTH.replace("HEALTHY", str(healthy)))
    (phase / "test_demo.py").rename(phase / "test_01_health.py")
    (phase / "test_02_smoke.py").write_text(smoke)


def test_prerequisite_in_another_file_of_the_phase_blocks_when_it_fails(pytester):
    write_phase(pytester, healthy=False)
    result = run(pytester, "-rs")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*blocked by API health check returns success. (failed)*"])


def test_prerequisite_in_a_file_outside_the_run_does_not_gate(pytester):
    write_phase(pytester, healthy=False)
    result = pytester.runpytest_subprocess(
        *LEAN_PYTEST, "checks/demo/test_02_smoke.py", "--reports-dir", "reports", "--target", "env"
    )
    result.assert_outcomes(passed=1)
    assert evidence_of(pytester)["verdict"]["decision"] == "NO-GO"  # and the run is partial


def test_unknown_prerequisite_in_another_file_is_a_usage_error(pytester):
    write_phase(pytester, healthy=True, smoke=SMOKE.replace("::test_health", "::test_nope"))
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*prerequisite 'test_01_health.py::test_nope' is not a test*"])


def test_ctrl_c_inside_a_plugins_report_hook_ends_the_run_interrupted(pytester):
    # A KeyboardInterrupt that lands in a hookwrapper's teardown (pytest-html wraps
    # pytest_runtest_makereport) is an interrupted run, with the repository's warning filters.
    pytester.makefile(".ini", pytest=(REPO / "pytest.ini").read_text())
    pytester.makeconftest(
        "import pytest\n\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    yield\n"
        "    if call.when == 'setup':\n"
        "        raise KeyboardInterrupt\n"
    )
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess(*LEAN_PYTEST, "-p", "no:cacheprovider", "test_one.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED, (result.stdout.str() + result.stderr.str())[
        -3000:
    ]
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
