"""The README's main job as a user runs it: `pytest checks/predeploy`, and what it must never do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripting import LEAN_PYTEST

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.faults


def gate(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run `pytest checks/predeploy` from the repository root with nothing configured."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "DATABASE_URL", "API_", "DRILL_", "RELEASE_", "CI"))
    }
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks/predeploy",
            "-p",
            "no:cacheprovider",
            *LEAN_PYTEST,
            "--reports-dir",
            str(reports),
            *args,
        ],
        cwd=REPO,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, (reports / "latest").resolve()


def test_the_gate_with_nothing_configured_is_a_rehearsal_and_says_so(tmp_path):
    proc, folder = gate(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "releaseops verdict: GO (embedded rehearsal)" in proc.stdout
    evidence = json.loads((folder / "evidence.json").read_text())
    subject = evidence["meta"]["subject"]
    assert subject["kind"] == "embedded" and subject["label"] == "embedded rehearsal"
    assert subject["system_identifier"] and subject["server_version"]
    assert subject["release_id"].startswith("rehearsal-")
    html = (folder / "report.html").read_text()
    for fact in ("embedded rehearsal", subject["system_identifier"], subject["release_id"]):
        assert fact in html, fact
    assert "not a release verdict" in html
    junit = (folder / "junit.xml").read_text()
    assert f'value="{subject["release_id"]}"' in junit


def test_a_gate_narrowed_to_one_check_never_prints_go(tmp_path):
    proc, folder = gate(tmp_path, "-k", "owners")
    assert proc.returncode != 0
    assert "verdict: GO" not in proc.stdout
    assert "did not run" in proc.stdout
    assert json.loads((folder / "evidence.json").read_text())["verdict"]["decision"] == "NO-GO"


def test_under_ci_a_gate_without_a_named_target_is_no_go(tmp_path):
    proc, folder = gate(tmp_path, CI="true")
    assert proc.returncode != 0
    assert "verdict: GO" not in proc.stdout
    assert "no target named" in proc.stdout
    assert not (folder / "embedded").exists()  # nothing was started in its place
