"""Tiny check files for pytester runs whose report carries real SLO evidence.

The checks build both SLO windows with the library (RouteSample, WindowSummary, compare), as
the post-deploy checks do from a log, and attach the same evidence records; `slow_ms` and
`errors` break the comparison window the way the fault tests break the service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.scripting import LEAN_PYTEST

SLO_CHECKS = '''
from datetime import UTC, datetime

import pytest

from releaseops.gate import slo_profile
from releaseops.service.slo import Baseline, Budget, WindowSummary
from releaseops.service.slocompare import compare
from releaseops.service.slogate import Comparison
from releaseops.service.slowindow import RouteSample

pytestmark = pytest.mark.order(1)


def window(slow_ms, errors):
    search = [5.0 + (i % 40) * 0.25 + slow_ms for i in range(400)]
    health = [40.0 + (i % 20) * 1.5 for i in range(120)]
    manage = [8.0 + (i % 10) * 0.8 for i in range(100)]
    return WindowSummary(None, None, None, None, 0, {
        "GET /api/retrieval/search": RouteSample("GET /api/retrieval/search", 400, errors, search),
        "GET /health": RouteSample("GET /health", 120, 0, health),
        "GET /manage": RouteSample("GET /manage", 100, 0, manage),
        "DELETE /api/manage/questions/<id:question_id>": RouteSample(
            "DELETE /api/manage/questions/<id:question_id>", 3, 0, [9.0, 10.0, 12.0]
        ),
    })


@pytest.fixture(scope="module")
def found():
    budget = Budget()
    before, after = window(0.0, 0), window(SLOW_MS, ERRORS)
    baseline = Baseline("demo-release", datetime.now(UTC), "file:api.log", {}, before)
    return Comparison(baseline, {}, after, compare(before, after, budget), budget)


def _attach(found, evidence):
    evidence.json("SLO comparison", found.as_dict())
    evidence.json("SLO latency profile", slo_profile.of_comparison(found))


@pytest.mark.item("post.health")
def test_api_health_returns_success(evidence):
    """GET /health returns success."""
    evidence.json("/health", {"status": "ok"})


@pytest.mark.item("post.slo", "nogo.slo")
def test_error_rate_within_budget(found, evidence):
    """5xx rate per route after the deploy is within the SLO budget of the baseline."""
    _attach(found, evidence)
    regressed = found.error_regressions()
    assert not regressed, "5xx rate regressed beyond the SLO budget: " + "; ".join(regressed)


@pytest.mark.item("post.slo", "nogo.slo")
def test_latency_within_budget(found, evidence):
    """p95/p99 latency per route after the deploy is within the SLO budget of the baseline."""
    _attach(found, evidence)
    regressed = found.latency_regressions()
    assert not regressed, "latency regressed beyond the SLO budget: " + "; ".join(regressed)
'''


def write_slo_checks(pytester: Any, *, slow_ms: float = 0.0, errors: int = 0) -> None:
    """checks/postdeploy/test_04_slo.py in the pytester folder, broken as asked."""
    pytester.makefile(".ini", pytest="[pytest]\naddopts = -p no:cacheprovider\n")
    phase = pytester.mkpydir("checks") / "postdeploy"
    phase.mkdir(exist_ok=True)
    (phase / "__init__.py").write_text("")
    source = SLO_CHECKS.replace("SLOW_MS", repr(slow_ms)).replace("ERRORS", str(errors))
    (phase / "test_04_slo.py").write_text(source)


def run_checks(pytester: Any, *args: str) -> Any:
    """The checks against an env target that needs no database (as tests/test_plugin.py)."""
    return pytester.runpytest_subprocess(
        *LEAN_PYTEST, "checks/postdeploy", "--target", "env", "--reports-dir", "reports", *args
    )


def old_run(reports: Path, run_id: str, document: Any) -> Path:
    """A run folder as an earlier run (or an older releaseops) left it: evidence.json only."""
    folder = reports / run_id
    folder.mkdir(parents=True)
    if document is not None:
        text = document if isinstance(document, str) else json.dumps(document)
        (folder / "evidence.json").write_text(text)
    return folder


def _check(check_id: str, kind: str, title: str, content: Any) -> dict[str, Any]:
    return {"check_id": check_id, "evidence": [{"kind": kind, "title": title, "content": content}]}


def evidence_with(metrics: dict[str, float], label: str = "env target") -> dict[str, Any]:
    """A minimal evidence.json of an earlier run that measured the given figures."""
    checks = []
    if "dump_bytes" in metrics:
        facts = {"size": metrics["dump_bytes"]}
        checks.append(
            _check(
                "predeploy.backup_path_and_release_timestamp_recorded",
                "json",
                "release facts",
                facts,
            )
        )
    if "restore_s" in metrics:
        restore = {"duration_s": metrics["restore_s"]}
        checks.append(
            _check("drill.drill_database_recreated_and_restored", "json", "restore", restore)
        )
    if "migration_ms" in metrics:
        out = (
            f"applied 0004_x.sql\ndone: applied 1 migration(s) in {metrics['migration_ms']:g} ms\n"
        )
        checks.append(_check("deploy.migrations_applied", "text", "run_postgres_migrations", out))
    if "p95_ms" in metrics:
        profile = {"levels": [95], "comparison": {"overall": [metrics["p95_ms"]]}}
        checks.append(
            _check("postdeploy.latency_within_budget", "json", "SLO latency profile", profile)
        )
    return {
        "meta": {"subject": {"label": label, "kind": "env", "database": None}},
        "verdict": {"decision": "GO", "counts": {"passed": len(checks)}},
        "checks": checks,
    }
