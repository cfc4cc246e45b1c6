"""Post-deploy verification (checklist sections 0 and 3): the API logs."""

import uuid

import pytest

from releaseops.service import http, logcheck

pytestmark = pytest.mark.order(330)


@pytest.mark.item("post.no_mismatch", "nogo.migration")
def test_no_migration_mismatch_errors_in_logs(api_logs, evidence):
    """No migration mismatch errors in API logs."""
    errors = logcheck.migration_errors(api_logs())
    evidence.text("mismatch errors", "\n".join(e.raw for e in errors[:20]) or "(none)")
    assert not errors, f"{len(errors)} migration error line(s), first: {errors[0].excerpt()}"


@pytest.mark.item("log.format", "log.fields")
def test_every_log_line_follows_the_standard(api_logs, evidence):
    """Every request log line is JSON with request_id, route, status, latency, error_code."""
    report = logcheck.check(api_logs())
    evidence.json("log check", report.as_dict())
    assert report.is_clean, report.explain()


@pytest.mark.item("log.request_id")
@pytest.mark.after("test_01_health.py::test_api_health_returns_success")
def test_request_id_is_correlated(target, api, api_url, api_logs, evidence):
    """request_id comes from X-Request-ID (echoed back) and is found in the logs."""
    request_id = uuid.uuid4().hex
    response = api.get(f"{api_url}/health", headers={"X-Request-ID": request_id})
    echoed = response.headers.get("X-Request-ID")
    assert echoed == request_id, f"X-Request-ID {request_id} was echoed as {echoed!r}"
    found, convergence = http.wait_until(
        lambda: logcheck.find_request(api_logs(), request_id), timeout=min(target.probe_timeout, 15)
    )
    evidence.json("found", {"lines": found, "convergence": convergence.as_dict()})
    assert found, f"request {request_id} not found in the logs: {convergence.explain()}"
    line = found[0]
    assert (line.get("route"), line.get("status")) == ("/health", response.status_code), (
        f"log line for {request_id} says route={line.get('route')!r} status={line.get('status')}"
    )
