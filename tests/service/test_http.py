"""Real HTTP against `python -m exambank.serve` (gunicorn), and every line it prints.

The last test stops the server and checks that every line of its output, gunicorn's included,
is a JSON object and that every request line conforms to the log standard.
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest
import requests

from tests.service.conftest import (
    REPO,
    TOKEN,
    Server,
    parse_log,
    request_line_problems,
    service_env,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(service_db, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("serve") / "service.log"
    srv = Server(service_env(service_db), log_path, workers=2)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def test_health_over_http(server):
    response = requests.get(server.base + "/health", timeout=10)
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok" and data["migrations"]["pending"] == 0
    assert data["flags"]["RETRIEVAL_MODE"] == "bm25"


def test_request_id_is_echoed_or_generated(server):
    sent = requests.get(server.base + "/health", headers={"X-Request-ID": "abc-123"}, timeout=10)
    assert sent.headers["X-Request-ID"] == "abc-123"
    insane = requests.get(
        server.base + "/health", headers={"X-Request-ID": "bad id\twith spaces"}, timeout=10
    )
    assert uuid.UUID(insane.headers["X-Request-ID"])


def test_crud_and_search_over_http(server):
    ref = f"http-{uuid.uuid4().hex[:8]}"
    body = {"ref": ref, "subject": "biology", "stem": "What do xylem cells transport in plants?"}
    created = requests.post(
        server.base + "/api/manage/questions", json=body, headers=AUTH, timeout=10
    )
    assert created.status_code == 201
    found = requests.get(server.base + "/api/retrieval/search", params={"q": "xylem"}, timeout=10)
    assert ref in [r["ref"] for r in found.json()["results"]]
    qid = created.json()["id"]
    classified = requests.post(
        server.base + "/api/ai/classify", json={"question_id": qid}, headers=AUTH, timeout=10
    )
    assert classified.json()["applied"] is True
    url = f"{server.base}/api/manage/questions/{qid}"
    assert requests.delete(url, headers=AUTH, timeout=10).status_code == 204


def test_pdf_upload_over_http(server):
    pdf = (REPO / "fixtures" / "pdf" / "photosynthesis_notes.pdf").read_bytes()
    response = requests.post(
        server.base + "/api/manage/upload-pdf",
        files={"file": ("notes.pdf", pdf, "application/pdf")},
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code in (200, 201)
    assert response.json()["page_count"] == 1


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", "/nope", {}, 404, "NOT_FOUND"),
        ("post", "/health", {}, 405, "METHOD_NOT_ALLOWED"),
        ("get", "/api/manage/questions", {}, 401, "AUTH_REQUIRED"),
        ("get", "/api/retrieval/search", {"params": {"q": "x" * 6000}}, 400, "VALIDATION_ERROR"),
        ("get", "/api/retrieval/search?q=%ff%fe", {}, 400, "INVALID_ENCODING"),
        (
            "post",
            "/api/manage/upload-pdf",
            {
                "data": b"x" * (11 * 1024 * 1024),
                "headers": {**AUTH, "Content-Type": "application/pdf"},
            },
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "post",
            "/api/manage/upload-pdf",
            {
                "data": b"--b\r\nbroken",
                "headers": {**AUTH, "Content-Type": "multipart/form-data; boundary=b"},
            },
            400,
            None,
        ),
    ],
    ids=["404", "405", "401", "huge-query", "non-utf8", "413", "broken-multipart"],
)
def test_errors_over_http_are_json(server, method, path, kwargs, status, code):
    response = getattr(requests, method)(server.base + path, timeout=30, **kwargs)
    assert response.status_code == status
    data = response.json()
    assert data["error_code"] == code or (code is None and data["error_code"])
    assert "Traceback" not in response.text


def raw_http(server, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"GET /api/retrieval/search?q=" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414, "URI_TOO_LONG"),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 400, None),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "MALFORMED_REQUEST"),
        (b"GET / HTTP/1.1\r\nBad Header\xff: x\r\n\r\n", 400, "MALFORMED_REQUEST"),
    ],
    ids=["request-line-too-long", "header-too-long", "garbage", "bad-header-name"],
)
def test_requests_gunicorn_refuses_still_get_json(server, payload, status, code):
    head, _, body = raw_http(server, payload).partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()) or code is None, head
    assert b"Content-Type: application/json" in head
    data = json.loads(body)
    assert data["error_code"] == code or (code is None and data["error_code"])


def test_every_line_the_server_printed_is_conforming_json(server):
    # Its own requests: under pytest-xdist the module's other tests may run in another worker.
    for n in range(15):
        requests.get(server.base + "/health", headers={"X-Request-ID": f"r-{n}"}, timeout=10)
    requests.get(server.base + "/health", headers={"X-Request-ID": "last-one"}, timeout=10)
    assert server.stop() == 0
    lines = parse_log(server.output())
    requests_seen = [line for line in lines if "request_id" in line]
    assert len(requests_seen) >= 15
    for line in requests_seen:
        assert request_line_problems(line) == [], line
    assert any(line["request_id"] == "last-one" for line in requests_seen)
    assert any(line.get("logger", "").startswith("gunicorn") for line in lines)
    events = [line for line in lines if line.get("event") == "migration_check"]
    assert len(events) == 1 and events[0]["state"] == "clean"
    assert TOKEN not in server.output() and "test-secret-key" not in server.output()
