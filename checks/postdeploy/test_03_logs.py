"""Post-deploy verification (checklist sections 0 and 3): the API logs."""

import uuid
from datetime import datetime

import pytest

from releaseops.service import http, logcheck

pytestmark = pytest.mark.order(330)


@pytest.fixture
def checked_log(target, log_source, service):
    """The whole log, checked in one streaming pass; it must speak for the running service."""
    started = service.health().started_at
    if started is None:
        pytest.skip("not verified: /health does not report instance.started_at")
    recent = logcheck.RecentRequests(datetime.fromisoformat(started))
    report = logcheck.check_source(log_source, cwd=target.repo_root, observers=[recent])
    reason = recent.not_verified()
    if reason:
        pytest.skip(reason)
    return report


@pytest.mark.item("post.no_mismatch", "nogo.migration")
@pytest.mark.after("test_01_health.py::test_api_health_returns_success")
def test_no_migration_mismatch_errors_in_logs(checked_log, evidence):
    """No migration mismatch errors in API logs (since the running instance started)."""
    errors = checked_log.migration_errors
    evidence.text("mismatch errors", "\n".join(f"{e.text()}: {e.excerpt}" for e in errors[:20]))
    assert not errors, (
        f"{len(errors)} migration error line(s), first: {errors[0].text()}: {errors[0].excerpt}"
    )


@pytest.mark.item("log.format", "log.fields")
@pytest.mark.after("test_01_health.py::test_api_health_returns_success")
def test_every_log_line_follows_the_standard(checked_log, evidence):
    """Every request log line is JSON with request_id, route, status, latency, error_code."""
    evidence.json("log check", checked_log.as_dict())
    assert checked_log.is_clean, checked_log.explain()


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
