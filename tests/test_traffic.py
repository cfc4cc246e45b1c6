"""The SLO traffic generator: loopback only, GET only, bounded by count and time."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from releaseops.errors import TrafficRefused
from releaseops.service import http as service_http
from releaseops.service import traffic
from releaseops.service.smoke import KnownQuery

QUERIES = [KnownQuery("photosynthesis chlorophyll", ("seed-bio-001",)), KnownQuery("ohm", ())]


@pytest.fixture
def service():
    """A tiny HTTP server on 127.0.0.1 that records every request it gets."""
    seen: list[tuple[str, str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            seen.append(("GET", self.path, self.headers.get("Authorization")))
            path = urlsplit(self.path).path
            body = {"items": [{"id": 7}, {"id": 9}]} if path == "/api/manage/questions" else {}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            seen.append(("POST", self.path, None))
            self.send_response(405)
            self.end_headers()

        def log_message(self, format, *args):
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.1.2.3/", True),
        ("http://[::1]:8000", True),
        ("http://localhost:8000", False),
        ("https://api.example.com", False),
        ("http://10.0.0.5:8000", False),
        ("not a url", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(url, loopback):
    assert service_http.is_loopback(url) is loopback


def test_traffic_to_a_real_environment_is_refused_without_a_request():
    with pytest.raises(TrafficRefused, match=r"refusing to send generated traffic to https://"):
        traffic.send("https://api.example.com", QUERIES, token="t", count=10, seconds=5)


def test_sends_exactly_count_get_requests_in_the_planned_mix(service):
    url, seen = service
    report = traffic.send(url, QUERIES, token="secret-token", count=16, seconds=30)
    assert report.sent == 16 and report.stopped_by == "count"
    assert {method for method, _, _ in seen} == {"GET"}
    paths = Counter(urlsplit(path).path for _, path, _ in seen)
    assert paths["/api/retrieval/search"] == 8
    assert paths["/health"] == 2 and paths["/manage"] == 2
    assert paths["/api/manage/questions"] == 2
    assert paths["/api/manage/questions/7"] + paths["/api/manage/questions/9"] == 2
    assert all(auth == "Bearer secret-token" for _, _, auth in seen)
    assert report.as_dict()["statuses"] == {"200": 16}


def test_without_a_token_only_public_paths_are_asked(service):
    url, seen = service
    traffic.send(url, QUERIES, token=None, count=16, seconds=30)
    assert not any(path.startswith("/api/manage") for _, path, _ in seen)


def test_the_time_bound_stops_the_traffic(service):
    url, seen = service
    ticks = iter(range(100))
    report = traffic.send(
        url, QUERIES, token=None, count=1000, seconds=3, clock=lambda: next(ticks)
    )
    assert report.stopped_by == "time" and report.sent == len(seen) < 10


def test_a_stopped_service_is_counted_not_raised():
    report = traffic.send("http://127.0.0.1:9", QUERIES, token=None, count=3, seconds=5)
    assert report.sent == 3 and report.failures == 3
