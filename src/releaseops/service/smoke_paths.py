"""The service's smoke paths as recorded requests: reads and writes, each one named.

`walk(api, base)` sends the smoke requests of the service contract in order: health, the
question list, the /manage page and a search (reads), then create, read back, update,
classify, classification preview and delete of a question marked as smoke data (writes and
reads of the row it wrote). It records every request (method, path, status, the statuses
expected, an excerpt of the body) rather than stopping at the first failure, so each broken
path shows; the requests that need the created question are not sent when the create failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import requests

from releaseops.service.http import body_excerpt, redact
from releaseops.service.smoke import MANAGE, smoke_payload

Kind = Literal["read", "write"]
SEARCH = "/api/retrieval/search?q=photosynthesis"


@dataclass(frozen=True)
class Call:
    """One smoke request and what the service answered (`status` None: no answer at all)."""

    method: str
    path: str
    kind: Kind
    expected: tuple[int, ...]
    status: int | None
    excerpt: str

    @property
    def ok(self) -> bool:
        """True when the service answered one of the expected statuses."""
        return self.status in self.expected

    def line(self, limit: int = 300) -> str:
        """`POST /api/manage/questions -> 500 (expected 201): '{"error_code": ...}'`."""
        shown = "no answer" if self.status is None else str(self.status)
        expected = "/".join(map(str, self.expected))
        if self.ok:
            return f"{self.method} {self.path} -> {shown}"
        excerpt = self.excerpt if len(self.excerpt) <= limit else f"{self.excerpt[:limit]}..."
        return f"{self.method} {self.path} -> {shown} (expected {expected}): {excerpt}"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence; the body excerpt only for a failed request."""
        return {
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "expected": list(self.expected),
            "status": self.status,
            "ok": self.ok,
            "body": None if self.ok else self.excerpt,
        }


@dataclass
class _Walk:
    """The requests of one walk, sent against `base` through `api`."""

    api: requests.Session
    base: str
    calls: list[Call]

    def send(
        self, method: str, path: str, kind: Kind, *expected: int, **kwargs: Any
    ) -> requests.Response | None:
        """Send one request and record it; the response, or None when there was none."""
        try:
            response = self.api.request(method, f"{self.base}{path}", **kwargs)
        except requests.RequestException as exc:
            self.calls.append(Call(method, path, kind, expected, None, redact(str(exc))[:300]))
            return None
        excerpt = body_excerpt(response)
        self.calls.append(Call(method, path, kind, expected, response.status_code, excerpt))
        return response


def _created_id(response: requests.Response | None) -> int | None:
    """The id of the question a successful create returned, else None."""
    if response is None or response.status_code != 201:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, int) else None


def _reads(walk: _Walk) -> None:
    walk.send("GET", "/health", "read", 200)
    walk.send("GET", MANAGE, "read", 200)
    walk.send("GET", "/manage", "read", 200)
    walk.send("GET", SEARCH, "read", 200)


def _writes(walk: _Walk) -> None:
    created = _created_id(walk.send("POST", MANAGE, "write", 201, json=smoke_payload()))
    if created is None:
        return
    one = f"{MANAGE}/{created}"
    try:
        walk.send("GET", one, "read", 200)
        walk.send("PATCH", one, "write", 200, json={"answer": "Chloroplast (updated)"})
        classify = {"question_id": created}
        walk.send("POST", "/api/ai/classify", "write", 200, 201, json=classify)
        walk.send("GET", f"/api/ai/classify/{created}/preview", "read", 200)
    finally:
        walk.send("DELETE", one, "write", 204)


def walk(api: requests.Session, base: str) -> list[Call]:
    """Send every smoke request to the service at `base`; each one recorded, in order."""
    done = _Walk(api, base.rstrip("/"), [])
    _reads(done)
    _writes(done)
    return done.calls
