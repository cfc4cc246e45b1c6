"""Each post-deploy check goes red, alone, when its fault is injected.

Every test starts from the deployed state (a copy of a target on which the runbook's deploy
ran: the newest migration applied, FTS synced, the service on the release's code), then
breaks one thing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

HEALTH = "postdeploy.api_health_returns_success"
CRUD = "postdeploy.manage_crud_smoke_path"
AUTH = "postdeploy.manage_requires_auth"
RETRIEVAL = "postdeploy.retrieval_returns_expected_candidates"
AI = "postdeploy.ai_classification_follows_auto_apply"
MISMATCH = "postdeploy.no_migration_mismatch_errors_in_logs"
LOG_FORMAT = "postdeploy.every_log_line_follows_the_standard"
REQUEST_ID = "postdeploy.request_id_is_correlated"
SLO = {"postdeploy.error_rate_within_budget", "postdeploy.latency_within_budget"}
PHOTOSYNTHESIS = f"{RETRIEVAL}[photosynthesis chlorophyll]"
pytestmark = pytest.mark.staged("deployed")
# Response headers the gateway recomputes instead of copying (the body is re-sent whole).
FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


@pytest.fixture
def deployed(staged):
    """The staged target at the release: what the post-deploy phase expects to find."""
    staged.target.ensure_deployed()  # started deployed (the module's mark): nothing to do
    return staged


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_postdeploy_is_green_on_a_deployed_target(deployed):
    run = deployed.run("postdeploy")
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0
    assert run.failed == set() and run.not_verified == set()


def test_stopped_service_turns_health_red_and_blocks_every_api_check(deployed):
    deployed.target.service.stop()
    run = deployed.run("postdeploy", "--probe-timeout", "2")
    retrieval = {c["check_id"] for c in run.checks if c["check_id"].startswith(RETRIEVAL)}
    # Health fails; every check that needs the API is blocked by it (never GO), the log
    # checks too: without a running instance, no log line can be shown to be its own.
    assert run.failed == {HEALTH}, run.describe()
    assert run.blocked == {CRUD, AUTH, AI, REQUEST_ID, MISMATCH, LOG_FORMAT} | SLO | retrieval, (
        run.describe()
    )
    assert len(retrieval) > 1
    assert "never succeeded" in run.message(HEALTH), run.message(HEALTH)
    assert run.message(CRUD).startswith("blocked by API health check returns success."), (
        run.message(CRUD)
    )
    assert run.decision == "NO-GO" and run.returncode != 0
    assert run.conditions() == {"nogo.api_start"}  # one root cause, one reason
    assert run.reason_ids() == [HEALTH]


def test_an_empty_log_leaves_the_log_checks_not_verified(deployed, tmp_path):
    empty = tmp_path / "rotated.log"  # the source reads a file the service no longer writes
    empty.write_text("")
    deployed.overrides["API_LOG_SOURCE"] = f"file:{empty}"
    run = deployed.run("postdeploy", "--probe-timeout", "10")  # no line ever appears
    assert {MISMATCH, LOG_FORMAT} <= run.ids("not verified"), run.describe()
    assert "no request line in the log since the service started" in run.message(MISMATCH)
    assert run.decision == "NO-GO"


def test_failing_delete_turns_crud_check_red(deployed):
    deployed.sql(
        "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'deletes are broken'; END $$;"
        "CREATE TRIGGER refuse_delete BEFORE DELETE ON questions "
        "FOR EACH ROW EXECUTE FUNCTION refuse_delete();"
    )
    run = deployed.run("postdeploy")
    # The AI flow creates a smoke question too; it cannot delete it either and says so.
    assert run.failed == {CRUD, AI}, run.describe()
    message = run.message(CRUD)
    assert "DELETE" in message and "500" in message, message
    assert "was left behind" in run.message(AI), run.message(AI)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.smoke" in run.conditions()


@contextmanager
def gateway(
    upstream: str, *, token: str | None = None, drop: frozenset[str] = frozenset()
) -> Iterator[str]:
    """A gateway on 127.0.0.1 in front of `upstream`; yields its base URL.

    It forwards every request, minus the `drop` headers, with `Authorization: Bearer <token>`
    when a token is given: the ways a misconfigured ingress breaks a healthy service.
    """

    class Gateway(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            skip = {"host", *(name.lower() for name in drop)}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            reply = requests.request(
                self.command, upstream + self.path, headers=headers, data=body, timeout=30
            )
            self.send_response(reply.status_code)
            for name, value in reply.headers.items():
                if name.lower() not in FRAMING_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_gateway_that_lets_anyone_in_turns_auth_check_red(deployed):
    # Auth broken the way an ingress breaks it: the service still checks tokens, but the
    # gateway adds a valid one to every request, so anonymous callers get in.
    service = deployed.target.service.base_url
    with gateway(service, token=deployed.target.token) as url:
        deployed.overrides["API_BASE_URL"] = url
        run = deployed.run("postdeploy")
    assert run.failed == {AUTH}, run.describe()
    message = run.message(AUTH)
    assert "401" in message and "200" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0
    assert deployed.target.token not in run.artifacts_text()
    assert "nogo.smoke" in run.conditions()


def test_question_no_longer_matching_turns_its_retrieval_check_red(deployed):
    # The FTS trigger keeps the search vector current: the question simply stops matching.
    deployed.sql(
        "UPDATE questions SET stem = 'Which protein carries oxygen in red blood cells?', "
        'choices = \'["Haemoglobin", "Melanin", "Keratin", "Insulin"]\', '
        "answer = 'Haemoglobin', tags = '{blood,cells}' WHERE ref = 'seed-bio-001'"
    )
    run = deployed.run("postdeploy")
    assert run.failed == {PHOTOSYNTHESIS}, run.describe()
    message = run.message(PHOTOSYNTHESIS)
    assert "'photosynthesis chlorophyll'" in message and "seed-bio-001" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.smoke" in run.conditions()


def test_label_silently_not_applied_turns_ai_check_red(deployed):
    deployed.sql(
        "CREATE FUNCTION keep_category() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.category := OLD.category; NEW.category_source := OLD.category_source; "
        "RETURN NEW; END $$;"
        "CREATE TRIGGER keep_category BEFORE UPDATE ON questions "
        "FOR EACH ROW EXECUTE FUNCTION keep_category();"
    )
    run = deployed.run("postdeploy")
    assert run.failed == {AI}, run.describe()
    assert "label not applied" in run.message(AI), run.message(AI)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.smoke" in run.conditions()


def test_migration_mismatch_in_the_logs_turns_mismatch_check_red(deployed):
    deployed.append_mismatch_event("0002_documents.sql")
    run = deployed.run("postdeploy")
    assert run.failed == {MISMATCH}, run.describe()
    message = run.message(MISMATCH)
    assert "1 migration error line" in message and "0002_documents.sql" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.migration" in run.conditions()


def test_garbage_and_incomplete_log_lines_turn_log_format_check_red(deployed):
    deployed.append_log("garbage")
    request_line = {
        "level": "INFO",
        "logger": "exambank.request",
        "message": "request",
        "request_id": "0" * 32,
        "method": "GET",
        "path": "/health",
        "route": "/health",
        "status": 200,
        "error_code": None,
        "timestamp": _now(),
    }
    deployed.append_log(json.dumps(request_line))
    run = deployed.run("postdeploy")
    assert run.failed == {LOG_FORMAT}, run.describe()
    message = run.message(LOG_FORMAT)
    assert "2 bad lines" in message and "'latency'" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0


def test_gateway_dropping_the_request_id_turns_request_id_check_red(deployed):
    # The service makes up its own id when X-Request-ID does not reach it, so the caller's
    # id can no longer be followed into the logs.
    service = deployed.target.service.base_url
    with gateway(service, drop=frozenset({"X-Request-ID"})) as url:
        deployed.overrides["API_BASE_URL"] = url
        run = deployed.run("postdeploy")
    assert run.failed == {REQUEST_ID}, run.describe()
    assert "was echoed as" in run.message(REQUEST_ID), run.message(REQUEST_ID)
    assert run.decision == "NO-GO" and run.returncode != 0
