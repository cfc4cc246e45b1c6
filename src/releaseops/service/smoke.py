"""Smoke flows against the service: known queries, a marked CRUD record cleaned up always."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from releaseops.errors import ConfigurationError
from releaseops.service.http import body_excerpt, describe, expect_json, expect_status

SMOKE_TAG = "releaseops-smoke"
# Members of /health's "migrations" that must be empty (or 0) when code and database agree.
HEALTH_MIGRATION_PROBLEMS = ("error", "pending", "mismatched", "missing", "future", "out_of_order")
MANAGE = "/api/manage/questions"


@dataclass(frozen=True)
class KnownQuery:
    """A query whose expected candidates must appear in the top `k` results."""

    q: str
    expect: tuple[str, ...]
    k: int = 5


def load_queries(path: Path) -> list[KnownQuery]:
    """Read `[[query]]` entries (q, expect, optional k) from a TOML file."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigurationError(
            f"known queries file {path} does not exist; set "
            f"RETRIEVAL_QUERIES to a TOML file of [[query]] entries"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    queries = []
    for n, entry in enumerate(data.get("query", []), 1):
        if not isinstance(entry.get("q"), str) or not isinstance(entry.get("expect"), list):
            raise ConfigurationError(f'{path}: query #{n} needs q = "..." and expect = [...]')
        queries.append(
            KnownQuery(entry["q"], tuple(map(str, entry["expect"])), int(entry.get("k", 5)))
        )
    if not queries:
        raise ConfigurationError(f"{path} holds no [[query]] entries")
    return queries


def search(api: requests.Session, base: str, query: KnownQuery) -> tuple[list[str], dict[str, Any]]:
    """Run a known query; returns the refs in rank order and the response body."""
    response = expect_status(
        api.get(f"{base}/api/retrieval/search", params={"q": query.q, "k": str(query.k)}), 200
    )
    body = expect_json(response)
    return [str(r.get("ref")) for r in body.get("results", [])], body


def smoke_payload() -> dict[str, Any]:
    """A question clearly marked as smoke data (ref prefix and tag)."""
    marker = uuid.uuid4().hex[:12]
    return {
        "ref": f"{SMOKE_TAG}-{marker}",
        "subject": "biology",
        "stem": f"Smoke check {marker}: which organelle carries out photosynthesis?",
        "choices": ["Chloroplast", "Mitochondrion", "Ribosome", "Nucleus"],
        "answer": "Chloroplast",
        "tags": [SMOKE_TAG],
    }


@contextmanager
def smoke_question(api: requests.Session, base: str) -> Iterator[dict[str, Any]]:
    """Create a smoke question; delete it on the way out, even when the body fails.

    When the body failed, its error is what counts and the delete is best effort. When the
    body passed, a delete that does not answer 204 (or 404: the body deleted it already) is an
    AssertionError naming the smoke question left behind in the target.
    """
    created = expect_json(expect_status(api.post(f"{base}{MANAGE}", json=smoke_payload()), 201))
    url = f"{base}{MANAGE}/{created['id']}"
    try:
        yield created
    except BaseException:
        with suppress(requests.RequestException):
            api.delete(url)
        raise
    response = api.delete(url)
    if response.status_code not in (204, 404):
        raise AssertionError(
            f"smoke question {created.get('ref')!r} was left behind: {describe(response)}, "
            f"expected 204; body: {body_excerpt(response)}. Delete it by hand."
        )


def leftover_smoke_rows(api: requests.Session, base: str) -> list[str]:
    """Refs of smoke questions still present (a failed cleanup), from the first pages."""
    refs: list[str] = []
    for page in range(1, 6):
        body = expect_json(
            expect_status(api.get(f"{base}{MANAGE}", params={"page": page, "per_page": 100}), 200)
        )
        items = body.get("items", [])
        refs += [i["ref"] for i in items if str(i.get("ref", "")).startswith(SMOKE_TAG)]
        if len(items) < 100:
            break
    return refs


def health_migration_problems(
    health: dict[str, Any], keys: tuple[str, ...] = HEALTH_MIGRATION_PROBLEMS
) -> dict[str, Any]:
    """The non-empty members `keys` of /health's migration state (empty when in agreement)."""
    state = health.get("migrations", {}) or {}
    return {key: state[key] for key in keys if state.get(key)}


def write_probe(session: requests.Session, api_url: str) -> requests.Response:
    """POST an empty question: 503 READ_ONLY while writes are blocked, else 400; never writes.

    The read-only guard answers before any view validates the body, so an invalid body tells
    the two states apart without ever putting a row into the database being verified.
    """
    return session.post(f"{api_url}{MANAGE}", json={})


def writes_blocked(response: requests.Response) -> bool:
    """True when a write was refused by the read-only guard (503 with READ_ONLY)."""
    return response.status_code == 503 and "READ_ONLY" in response.text


def read_only_smoke(api: requests.Session, base: str) -> dict[str, Any]:
    """The smoke paths that work while writes are blocked: list, the /manage page, a search.

    Raises AssertionError (with the evidence) when one fails; returns what each answered.
    """
    listing = expect_json(expect_status(api.get(f"{base}{MANAGE}"), 200))
    assert listing.get("items"), "no questions listed"
    page = expect_status(api.get(f"{base}/manage"), 200)
    assert "<html" in page.text.lower(), "/manage did not render a page"
    search = expect_json(
        expect_status(api.get(f"{base}/api/retrieval/search", params={"q": "photosynthesis"}), 200)
    )
    return {
        "questions": listing.get("total"),
        "/manage": page.status_code,
        "search results": len(search.get("results", [])),
    }
