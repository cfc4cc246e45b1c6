"""The runbook: steps through a Deployment, RESTART_COMMAND, and the write probe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from releaseops.errors import RestartFailed
from releaseops.release.target import Target, resolve
from releaseops.runbook import steps
from releaseops.runbook.deployment import FREEZE_FLAGS, CommandDeployment
from releaseops.service import smoke


def env_target(tmp_path: Path, restart_command: str) -> Target:
    environ = {"RESTART_COMMAND": restart_command, "DB_READ_ONLY": "0"}
    return resolve({"execute": True}, environ, repo_root=tmp_path, kind="env")


def test_redeploy_on_an_env_target_runs_the_restart_command_with_the_freeze_flags(tmp_path):
    seen = tmp_path / "seen"
    command = f'echo "$DB_READ_ONLY $AI_AUTO_APPLY $RETRIEVAL_MODE $RELEASEOPS_STEP" > {seen}'
    done = steps.redeploy_previous(CommandDeployment(env_target(tmp_path, command)))
    assert seen.read_text().split() == [
        FREEZE_FLAGS["DB_READ_ONLY"],
        FREEZE_FLAGS["AI_AUTO_APPLY"],
        FREEZE_FLAGS["RETRIEVAL_MODE"],
        "redeploy-previous",
    ]
    assert command in done


def test_redeploy_whose_restart_command_fails_raises_restart_failed(tmp_path):
    target = env_target(tmp_path, "echo 'no such service' >&2; exit 3")
    with pytest.raises(
        RestartFailed, match=r"exited with 3: no such service\. Set RESTART_COMMAND"
    ):
        steps.redeploy_previous(CommandDeployment(target))


class _Guard(BaseHTTPRequestHandler):
    """A stand-in write route: 503 READ_ONLY when frozen, else 400 for an empty body."""

    frozen = True
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Guard.bodies.append(body)
        if _Guard.frozen:
            self._answer(503, b'{"error_code": "READ_ONLY"}')
        else:
            self._answer(400, b'{"error_code": "VALIDATION_ERROR"}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def guard() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Guard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Guard.bodies.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("frozen", "blocked"), [(True, True), (False, False)])
def test_write_probe_tells_blocked_writes_from_open_ones_with_an_empty_body(guard, frozen, blocked):
    _Guard.frozen = frozen
    with requests.Session() as session:
        response = smoke.write_probe(session, guard)
    assert smoke.writes_blocked(response) is blocked
    assert _Guard.bodies == [b"{}"]


class _RecordingDeployment:
    """A Deployment that remembers what the runbook asked of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def restart(self, step, flags):
        self.calls.append((step, dict(flags)))
        return f"restarted for {step}"


def test_each_restart_step_asks_the_deployment_for_its_step_and_flags():
    deployment = _RecordingDeployment()
    steps.restart_release(deployment)
    steps.freeze(deployment)
    steps.redeploy_previous(deployment)
    assert deployment.calls == [
        ("deploy", {}),
        ("freeze", FREEZE_FLAGS),
        ("redeploy-previous", FREEZE_FLAGS),
    ]


def test_an_env_target_without_execute_refuses_every_step(tmp_path):
    target = resolve({}, {"DATABASE_URL": "postgresql://u@h/app"}, repo_root=tmp_path, kind="env")
    assert steps.execution_refusal(target) == (
        "not verified: executing this step against an env target needs --execute"
    )


def test_a_destructive_step_needs_the_database_named(tmp_path):
    environ = {"DATABASE_URL": "postgresql://u@h/app"}
    target = resolve({"execute": True}, environ, repo_root=tmp_path, kind="env")
    assert "--confirm-db app" in steps.execution_refusal(target, destructive=True)
    confirmed = resolve({"execute": True, "confirm_db": "app"}, environ, repo_root=tmp_path)
    assert steps.execution_refusal(confirmed, destructive=True) is None


def test_a_failing_command_step_reports_the_command_and_its_output(tmp_path):
    target = resolve({}, {}, repo_root=tmp_path, kind="env")
    result = steps.run(target, "echo half-way; echo broken >&2; exit 4")
    assert not result.ok
    assert result.explain().startswith("echo half-way; echo broken >&2; exit 4 exited 4:")
    assert "broken" in result.explain()


@pytest.mark.parametrize(
    ("command", "run", "url_from"),
    [
        (
            'python scripts/backup_postgres.py --db "$DATABASE_URL" --json',
            "python scripts/backup_postgres.py --json",
            "DATABASE_URL",
        ),
        (
            'python scripts/run_postgres_migrations.py --db "$DRILL_DB" --dir "$M"',
            'python scripts/run_postgres_migrations.py --dir "$M"',
            "DRILL_DB",
        ),
        ('python scripts/init_fts.py --db="${X}" --sync', "python scripts/init_fts.py --sync", "X"),
        ("python scripts/verify_repo.py --ops-preflight", None, None),
    ],
)
def test_a_database_url_never_reaches_a_childs_arguments(command, run, url_from):
    from releaseops.runbook.deployment import without_url_arguments

    env = {
        "DATABASE_URL": "postgresql://u:live@db/x",
        "DRILL_DB": "postgresql://u:d@db/y",
        "X": "postgresql://u:x@db/z",
    }
    expected_url = env.get(url_from) if url_from else env["DATABASE_URL"]
    assert without_url_arguments(command, env) == (run or command)
    assert env["DATABASE_URL"] == expected_url


def test_the_process_list_never_shows_the_password(tmp_path):
    # The child prints its own argv: what `ps` would show to every local user.
    script = tmp_path / "scripts" / "show.py"
    script.parent.mkdir()
    script.write_text("import os, sys\nprint(sys.argv)\nprint(os.environ['DATABASE_URL'])\n")
    secret = "postgresql://app:S3cret-pw@db/app"
    target = resolve({}, {"DATABASE_URL": secret}, repo_root=tmp_path, kind="env")
    proc = steps.run(target, 'python scripts/show.py --db "$DATABASE_URL"')
    argv_line, env_line = proc.output.splitlines()[:2]
    assert "S3cret-pw" not in argv_line and env_line == secret
    assert proc.command == 'python scripts/show.py --db "$DATABASE_URL"'  # evidence: literal
