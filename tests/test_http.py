"""HTTP helpers against a real tiny HTTP server on 127.0.0.1 (no mocks of requests)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from releaseops.rehearsal.cluster import free_port
from releaseops.service import http

TOKEN = "tok-9f8e7d6c5b4a"
DB_SECRET = "hunter2-db"


class Handler(BaseHTTPRequestHandler):
    server: "Server"

    def do_GET(self):
        url = urlparse(self.path)
        self.server.seen.append(dict(self.headers))
        route = getattr(self, "route_" + url.path.strip("/").replace("-", "_") or "root", None)
        if route is None:
            self.reply(404, "text/plain", "no such route")
        else:
            route(parse_qs(url.query))

    do_POST = do_GET

    def reply(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route_health(self, query):
        codes = self.server.health_codes
        status = codes.pop(0) if codes else self.server.health_default
        self.reply(status, "application/json", json.dumps({"status": status}))

    def route_leak(self, query):
        body = json.dumps(
            {
                "error": "boom",
                "echo": self.headers.get("Authorization"),
                "api_token": "member-secret-value",
                "db": f"postgresql://app:{DB_SECRET}@db:5432/exam",
            }
        )
        self.reply(500, "application/json", body)

    def route_long(self, query):
        self.reply(500, "text/plain", "x" * 1000)

    def route_html(self, query):
        self.reply(200, "text/html", "<html><body>Bad gateway</body></html>")

    def route_list(self, query):
        self.reply(200, "application/json", "[1, 2]")

    def route_json(self, query):
        self.reply(200, "application/json", '{"status": "ok", "db": true}')

    def route_slow(self, query):
        time.sleep(float(query.get("s", ["0.5"])[0]))
        self.reply(200, "text/plain", "slow")

    def log_message(self, format, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = []
        self.health_codes = []
        self.health_default = 200

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        pass  # a client that timed out closed its socket: not the test's concern


@pytest.fixture(scope="module")
def running_server():
    server = Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(running_server):
    running_server.seen.clear()
    running_server.health_codes.clear()
    running_server.health_default = 200
    return running_server


@pytest.fixture
def client():
    with http.session(TOKEN) as session:
        yield session


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# --- session -------------------------------------------------------------------------------


def test_session_sends_the_bearer_token(server, client):
    client.get(server.base + "/json")
    assert server.seen[-1]["Authorization"] == f"Bearer {TOKEN}"


def test_session_without_token_sends_no_authorization(server):
    with http.session() as session:
        session.get(server.base + "/json")
    assert "Authorization" not in server.seen[-1]


def test_session_applies_its_default_timeout_to_every_request(server):
    with http.session(timeout=0.1) as session, pytest.raises(requests.Timeout, match="timed out"):
        session.get(server.base + "/slow?s=0.5")


def test_an_explicit_timeout_overrides_the_default(server):
    with http.session(timeout=0.05) as session:
        assert session.get(server.base + "/slow?s=0.2", timeout=5).text == "slow"


def test_a_loopback_address_never_goes_through_a_proxy_other_hosts_do(server, client, monkeypatch):
    # A proxy for the CI runner's way out, and nothing listening where it points.
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert client.get(server.base + "/json").status_code == 200  # straight to the service
    assert http.answers(server.base + "/health")
    assert not http.answers(dead + "/health")
    # Any other host keeps the environment's proxy: here the test server plays the proxy.
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, server.base)
    reply = client.get("http://192.0.2.10/json", timeout=5)
    assert reply.status_code == 200 and server.seen[-1]["Host"] == "192.0.2.10"


# --- expect_status / expect_json -----------------------------------------------------------


def test_expected_status_returns_the_response(server, client):
    response = client.get(server.base + "/json")
    assert http.expect_status(response, 200, 204) is response


def test_unexpected_status_message_has_method_url_status_and_body(server, client):
    response = client.get(server.base + "/long")
    with pytest.raises(AssertionError, match=r"^GET http://127\.0\.0\.1:\d+/long -> 500, ") as info:
        http.expect_status(response, 200)
    message = str(info.value)
    assert "expected (200,); body: 'xxx" in message
    assert "x" * 300 + "'" in message
    assert "x" * 301 not in message


def test_unexpected_status_message_never_shows_secrets(server, client):
    response = client.post(server.base + "/leak")
    with pytest.raises(AssertionError, match=r"POST .*/leak -> 500, expected \(200, 201\)") as info:
        http.expect_status(response, 200, 201)
    message = str(info.value)
    assert TOKEN not in message
    assert DB_SECRET not in message
    assert "member-secret-value" not in message
    assert "postgresql://app:***@db" in message


def test_body_that_is_not_json_is_a_clear_failure(server, client):
    response = client.get(server.base + "/html")
    with pytest.raises(AssertionError, match=r"/html -> 200: body is not JSON \(text/html\)"):
        http.expect_json(response)


def test_json_that_is_not_an_object_is_a_clear_failure(server, client):
    response = client.get(server.base + "/list")
    with pytest.raises(AssertionError, match=r"expected a JSON object, got a JSON list"):
        http.expect_json(response)


def test_json_object_is_returned(server, client):
    assert http.expect_json(client.get(server.base + "/json")) == {"status": "ok", "db": True}


def test_redact_masks_given_secrets_bearer_values_and_secret_members():
    text = 'Bearer abc.def {"password": "pw1", "name": "n"} key=SEKRET'
    assert http.redact(text, ("SEKRET",)) == 'Bearer *** {"password": "***", "name": "n"} key=***'


# --- wait_until ----------------------------------------------------------------------------


def test_a_probe_that_succeeds_at_once_converges_in_one_attempt():
    clock = FakeClock()
    value, result = http.wait_until(lambda: "up", timeout=5, clock=clock, sleep=clock.sleep)
    assert value == "up"
    assert (result.ok, result.attempts, result.elapsed_s, result.last_error) == (True, 1, 0, None)
    assert clock.sleeps == []
    assert result.explain() == "converged after 1 attempt(s) in 0.00 s"


def test_probe_errors_are_retried_until_it_succeeds():
    clock = FakeClock()
    answers = [requests.ConnectionError("refused"), AssertionError("503"), {"status": "ok"}]

    def probe():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    value, result = http.wait_until(probe, timeout=10, interval=0.5, clock=clock, sleep=clock.sleep)
    assert value == {"status": "ok"}
    assert (result.ok, result.attempts, result.elapsed_s) == (True, 3, 1.0)


def test_a_probe_that_never_succeeds_stops_at_the_timeout():
    clock = FakeClock()
    value, result = http.wait_until(
        lambda: [], timeout=2, interval=0.5, clock=clock, sleep=clock.sleep
    )
    assert value == []
    assert (result.ok, result.attempts, result.elapsed_s) == (False, 5, 2.0)
    assert result.last_error == "probe returned []"
    assert result.explain() == (
        "did not converge within 2 s (5 attempt(s)); last error: probe returned []"
    )


def test_sleep_never_overshoots_the_timeout():
    clock = FakeClock()
    http.wait_until(lambda: 0, timeout=1.2, interval=0.5, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [0.5, 0.5, pytest.approx(0.2)]


def test_a_zero_timeout_makes_exactly_one_attempt():
    clock = FakeClock()
    _, result = http.wait_until(lambda: None, timeout=0, clock=clock, sleep=clock.sleep)
    assert (result.ok, result.attempts) == (False, 1)


def test_unexpected_exceptions_are_not_swallowed():
    def probe():
        raise KeyError("bug in the check")

    with pytest.raises(KeyError, match="bug in the check"):
        http.wait_until(probe, timeout=1)


def test_last_error_is_masked():
    clock = FakeClock()

    def probe():
        raise requests.ConnectionError(f"cannot reach postgresql://app:{DB_SECRET}@db/x")

    value, result = http.wait_until(probe, timeout=1, clock=clock, sleep=clock.sleep)
    assert value is None
    assert result.last_error == "ConnectionError: cannot reach postgresql://app:***@db/x"


@pytest.mark.parametrize(("timeout", "interval"), [(-1, 0.5), (1, 0), (1, -0.1)])
def test_nonsense_timing_is_refused(timeout, interval):
    with pytest.raises(ValueError, match="timeout must be >= 0 and interval > 0"):
        http.wait_until(lambda: 1, timeout=timeout, interval=interval)


def test_convergence_as_dict_is_evidence_ready():
    clock = FakeClock()
    _, result = http.wait_until(lambda: 1, timeout=3, clock=clock, sleep=clock.sleep)
    assert result.as_dict() == {
        "ok": True,
        "attempts": 1,
        "elapsed_s": 0.0,
        "last_error": None,
        "last_status": None,
        "timeout_s": 3,
    }


# --- wait_for_health (real HTTP, fake clock) ----------------------------------------------


def test_health_waits_through_a_warming_service(server, client):
    server.health_codes.extend([503, 503])
    clock = FakeClock()
    response, result = http.wait_for_health(
        server.base + "/", timeout=30, http=client, clock=clock, sleep=clock.sleep
    )
    assert response is not None and response.status_code == 200
    assert (result.ok, result.attempts, result.last_status, result.elapsed_s) == (True, 3, 200, 1.0)
    assert len(server.seen) == 3


def test_health_that_stays_red_returns_the_last_response_and_why(server, client):
    server.health_default = 500
    clock = FakeClock()
    response, result = http.wait_for_health(
        server.base, timeout=2, interval=1, http=client, clock=clock, sleep=clock.sleep
    )
    assert response is not None and response.status_code == 500
    assert (result.ok, result.attempts, result.last_status) == (False, 3, 500)
    assert "/health -> 500; body:" in (result.last_error or "")
    assert "last status 500" in result.explain()
    with pytest.raises(AssertionError, match=r"/health -> 500, expected \(200,\)"):
        http.expect_status(response, 200)


def test_health_of_nothing_listening_reports_the_connection_error():
    clock = FakeClock()
    base = f"http://127.0.0.1:{free_port()}"
    response, result = http.wait_for_health(base, timeout=1, clock=clock, sleep=clock.sleep)
    assert response is None
    assert (result.ok, result.last_status) == (False, None)
    assert (result.last_error or "").startswith("ConnectionError: ")
    assert "did not converge within 1 s (3 attempt(s)); last error: ConnectionError" in (
        result.explain()
    )
