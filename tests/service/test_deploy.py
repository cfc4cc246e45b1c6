"""deploy/ and scripts/dc: the compose file names db and api; dc fails clearly without Docker."""

from __future__ import annotations

import os
import subprocess

from tests.service.conftest import REPO


def test_compose_file_has_db_and_api_services():
    text = (REPO / "deploy" / "compose.yaml").read_text()
    assert "\n  db:\n" in text and "\n  api:\n" in text
    assert "dockerfile: deploy/Dockerfile" in text


def test_dockerfile_serves_through_exambank_serve():
    text = (REPO / "deploy" / "Dockerfile").read_text()
    assert "python -m exambank.serve" in text and "FAIL_ON_PENDING_MIGRATIONS=1" in text


def test_dc_without_docker_says_so(tmp_path):
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    result = subprocess.run(
        [str(REPO / "scripts" / "dc"), "logs", "--tail=200", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.startswith("scripts/dc: ")
    assert "docker" in result.stderr.lower()
