"""Rollout steps: the redeploy of the previous release and the write probe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from releaseops import rollout
from releaseops.errors import RestartFailed
from releaseops.rollout import FREEZE_FLAGS
from releaseops.target import Target, resolve


def env_target(tmp_path: Path, restart_command: str) -> Target:
    environ = {"RESTART_COMMAND": restart_command, "DB_READ_ONLY": "0"}
    return resolve({"execute": True}, environ, repo_root=tmp_path, kind="env")


def test_redeploy_on_an_env_target_runs_the_restart_command_with_the_freeze_flags(tmp_path):
    seen = tmp_path / "seen"
    command = f'echo "$DB_READ_ONLY $AI_AUTO_APPLY $RETRIEVAL_MODE $RELEASEOPS_STEP" > {seen}'
    done = rollout.redeploy_previous(env_target(tmp_path, command), None)
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
        rollout.redeploy_previous(target, None)


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
        response = rollout.write_probe(session, guard)
    assert rollout.writes_blocked(response) is blocked
    assert _Guard.bodies == [b"{}"]
