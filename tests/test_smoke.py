"""Smoke helpers against a tiny Flask question bank served on 127.0.0.1 (no mocks of requests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, abort, jsonify, request
from werkzeug.serving import make_server

from releaseops.errors import ConfigurationError
from releaseops.service import smoke


@dataclass
class Bank:
    """A running tiny question bank: its URL, its rows, and a switch that breaks deletes."""

    base: str
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    deletes_fail: bool = False


def tiny_bank(bank: Bank) -> Flask:
    """The routes the smoke helpers call, over an in-memory dict of questions."""
    app = Flask(__name__)
    rows = bank.rows

    @app.post(smoke.MANAGE)
    def create() -> Any:
        body = request.get_json()
        new_id = max(rows, default=0) + 1
        rows[new_id] = {"id": new_id, **body}
        return jsonify(rows[new_id]), 201

    @app.get(smoke.MANAGE)
    def listing() -> Any:
        page, per_page = int(request.args["page"]), int(request.args["per_page"])
        items = [rows[k] for k in sorted(rows)][(page - 1) * per_page : page * per_page]
        return jsonify({"items": items})

    @app.delete(f"{smoke.MANAGE}/<int:question_id>")
    def delete(question_id: int) -> Any:
        if bank.deletes_fail:
            return jsonify({"error": "deletes are broken"}), 500
        if rows.pop(question_id, None) is None:
            abort(404)
        return "", 204

    @app.get("/api/retrieval/search")
    def search() -> Any:
        words = request.args["q"].lower().split()
        hits = [r for r in rows.values() if any(w in r.get("stem", "").lower() for w in words)]
        k = int(request.args["k"])
        return jsonify({"mode": "bm25", "results": [{"ref": r["ref"]} for r in hits[:k]]})

    return app


@pytest.fixture
def bank() -> Iterator[Bank]:
    state = Bank("")
    server = make_server("127.0.0.1", 0, tiny_bank(state), threaded=True)
    state.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()


@pytest.fixture
def api() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def test_queries_are_read_from_toml_with_a_default_k(tmp_path: Path):
    path = tmp_path / "queries.toml"
    path.write_text(
        '[[query]]\nq = "a b"\nexpect = ["r1"]\n\n[[query]]\nq = "c"\nexpect = []\nk = 3\n'
    )
    assert smoke.load_queries(path) == [
        smoke.KnownQuery("a b", ("r1",), 5),
        smoke.KnownQuery("c", (), 3),
    ]


def test_a_missing_queries_file_names_the_variable_to_set(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="set RETRIEVAL_QUERIES"):
        smoke.load_queries(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[query]\n", "is not valid TOML"),
        ('[[query]]\nq = "x"\n', r'query #1 needs q = "\.\.\." and expect'),
        ("title = 'no queries'\n", r"holds no \[\[query\]\] entries"),
    ],
)
def test_a_malformed_queries_file_says_what_is_wrong(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "queries.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=expected):
        smoke.load_queries(path)


def test_smoke_payloads_are_marked_and_unique():
    first, second = smoke.smoke_payload(), smoke.smoke_payload()
    assert first["ref"].startswith(smoke.SMOKE_TAG) and first["tags"] == [smoke.SMOKE_TAG]
    assert first["ref"] != second["ref"]


def test_search_returns_refs_in_rank_order(bank, api):
    base, rows = bank.base, bank.rows
    rows[1] = {"id": 1, "ref": "seed-1", "stem": "Photosynthesis in plants"}
    rows[2] = {"id": 2, "ref": "seed-2", "stem": "Chlorophyll absorbs light"}
    refs, body = smoke.search(api, base, smoke.KnownQuery("chlorophyll photosynthesis", ()))
    assert refs == ["seed-1", "seed-2"]
    assert body["mode"] == "bm25"


def test_smoke_question_is_deleted_even_when_the_flow_fails(bank, api):
    base, rows = bank.base, bank.rows
    with (
        pytest.raises(RuntimeError, match="flow broke"),
        smoke.smoke_question(api, base) as created,
    ):
        assert rows[created["id"]]["ref"].startswith(smoke.SMOKE_TAG)
        raise RuntimeError("flow broke")
    assert rows == {}


def test_leftover_smoke_rows_lists_only_smoke_refs_across_pages(bank, api):
    base, rows = bank.base, bank.rows
    for n in range(1, 151):
        ref = f"{smoke.SMOKE_TAG}-{n}" if n in (7, 142) else f"seed-{n}"
        rows[n] = {"id": n, "ref": ref}
    assert smoke.leftover_smoke_rows(api, base) == [
        f"{smoke.SMOKE_TAG}-7",
        f"{smoke.SMOKE_TAG}-142",
    ]


def test_a_failed_create_raises_with_the_status(bank, api):
    base = bank.base
    with (
        pytest.raises(AssertionError, match=r"-> 404, expected \(201,\)"),
        smoke.smoke_question(api, base + "/nowhere"),
    ):
        pass


def test_a_smoke_question_left_behind_fails_the_passing_flow(bank, api):
    bank.deletes_fail = True
    with (
        pytest.raises(
            AssertionError, match=r"smoke question 'releaseops-smoke-\w+' was left behind"
        ),
        smoke.smoke_question(api, bank.base),
    ):
        pass
    assert len(bank.rows) == 1


def test_a_failing_flow_keeps_its_own_error_when_the_delete_fails_too(bank, api):
    bank.deletes_fail = True
    with (
        pytest.raises(RuntimeError, match="flow broke"),
        smoke.smoke_question(api, bank.base),
    ):
        raise RuntimeError("flow broke")


def test_a_question_the_flow_deleted_itself_is_not_a_leftover(bank, api):
    with smoke.smoke_question(api, bank.base) as created:
        api.delete(f"{bank.base}{smoke.MANAGE}/{created['id']}")
    assert bank.rows == {}


def test_health_migration_problems_lists_only_the_non_empty_members():
    from releaseops.service import smoke as smoke_module

    health = {
        "migrations": {"pending": ["0004_x.sql"], "mismatched": [], "applied": 3, "future": 0}
    }
    assert smoke_module.health_migration_problems(health) == {"pending": ["0004_x.sql"]}
    assert smoke_module.health_migration_problems({}) == {}
