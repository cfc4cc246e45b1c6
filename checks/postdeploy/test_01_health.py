"""Post-deploy verification (checklist section 3): health."""

import pytest

from releaseops.service import http

pytestmark = pytest.mark.order(310)


@pytest.mark.item("post.health", "nogo.api_start")
def test_api_health_returns_success(target, api_url, evidence):
    """API health check returns success."""
    response, convergence = http.wait_for_health(api_url, timeout=target.probe_timeout)
    evidence.json("convergence", convergence.as_dict())
    assert convergence.ok and response is not None, (
        f"GET {api_url}/health never succeeded: {convergence.explain()}"
    )
    body = http.expect_json(response)
    evidence.json("/health", body)
    assert body.get("database", {}).get("reachable") is True, f"database not reachable: {body}"
