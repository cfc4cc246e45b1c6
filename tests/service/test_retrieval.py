"""Retrieval: the known queries of fixtures/queries.toml find their expected refs in each mode."""

from __future__ import annotations

import pytest

from exambank import db, seed

QUERIES = [vars(q) for q in seed.known_queries()]


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
@pytest.mark.parametrize("known", QUERIES, ids=[q["q"] for q in QUERIES])
def test_known_query_returns_its_expected_candidates(make_app, mode, known):
    client = make_app(RETRIEVAL_MODE=mode).test_client()
    k = known["k"]
    response = client.get("/api/retrieval/search", query_string={"q": known["q"], "k": k})
    assert response.status_code == 200
    data = response.get_json()
    assert data["mode"] == mode
    refs = [r["ref"] for r in data["results"]]
    assert set(known["expect"]) <= set(refs), f"{known['q']!r} -> {refs}"


def test_results_are_ranked_and_carry_ref_id_kind_score(client):
    data = client.get("/api/retrieval/search?q=photosynthesis chlorophyll&k=3").get_json()
    first = data["results"][0]
    assert {"ref", "id", "kind", "score", "title", "snippet"} <= set(first)
    assert first["ref"] == "seed-bio-001" and first["kind"] == "question"
    scores = [r["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)


def test_hybrid_mode_finds_a_misspelled_word(make_app):
    client = make_app(RETRIEVAL_MODE="hybrid").test_client()
    data = client.get("/api/retrieval/search?q=photosynthsis&k=5").get_json()
    assert "seed-bio-001" in [r["ref"] for r in data["results"]]


def test_stop_words_only_return_no_results(client):
    response = client.get("/api/retrieval/search?q=the")
    assert response.status_code == 200
    assert response.get_json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [({}, "q"), ({"q": "   "}, "q"), ({"q": "x", "k": "0"}, "k"), ({"q": "x", "k": "51"}, "k")],
)
def test_missing_query_or_bad_k_is_a_validation_error(client, query, field):
    response = client.get("/api/retrieval/search", query_string=query)
    assert response.status_code == 400
    assert field in response.get_json()["details"]


def test_search_without_fts_columns_is_503_fts_not_ready(make_app, pg_cluster):
    from releaseops import migrations
    from releaseops.pg.scratch import ScratchDatabase

    with ScratchDatabase(pg_cluster.url) as url:
        migrations.apply(url, migrations.DEFAULT_DIR)
        app = make_app(DATABASE_URL=url)
        response = app.test_client().get("/api/retrieval/search?q=anything")
        db.close_pool(app)
    assert response.status_code == 503
    assert response.get_json()["error_code"] == "FTS_NOT_READY"
