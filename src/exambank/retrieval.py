"""GET /api/retrieval/search: ranked questions and documents for any query text.

bm25: PostgreSQL full-text ranking (ts_rank over the weighted search_vector columns that
scripts/init_fts.py maintains). hybrid: the same rank blended with pg_trgm word similarity,
which still finds stems through typos. The text is parsed by websearch_to_tsquery, which
accepts any input, so there is no query syntax a user can get wrong.
"""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from exambank.db import get_db
from exambank.errors import ApiError, validation_error
from exambank.payload import int_arg

bp = Blueprint("retrieval", __name__, url_prefix="/api/retrieval")

MAX_QUERY_CHARS = 1000
MAX_K = 50
DEFAULT_K = 10
SNIPPET_CHARS = 200
HYBRID_FTS_WEIGHT = 0.7

# ts_rank normalisation 1|32: divide by 1 + log(length), then map into [0, 1).
_BM25 = """
WITH q AS (SELECT websearch_to_tsquery('english', %(q)s) AS query)
SELECT 'question' AS kind, id, ref, subject AS title, left(stem, %(snip)s) AS snippet,
       ts_rank(search_vector, q.query, 33) AS score
  FROM questions, q WHERE search_vector @@ q.query
UNION ALL
SELECT 'document', id, 'doc-' || left(sha256, 16), filename, left(body, %(snip)s),
       ts_rank(search_vector, q.query, 33)
  FROM documents, q WHERE search_vector @@ q.query
ORDER BY score DESC, kind, id
LIMIT %(k)s
"""

_HYBRID = """
WITH q AS (SELECT websearch_to_tsquery('english', %(q)s) AS query)
SELECT 'question' AS kind, id, ref, subject AS title, left(stem, %(snip)s) AS snippet,
       %(w)s * ts_rank(search_vector, q.query, 33)
       + (1 - %(w)s) * word_similarity(%(q)s, stem) AS score
  FROM questions, q WHERE search_vector @@ q.query OR %(q)s <%% stem
UNION ALL
SELECT 'document', id, 'doc-' || left(sha256, 16), filename, left(body, %(snip)s),
       %(w)s * ts_rank(search_vector, q.query, 33)
       + (1 - %(w)s) * word_similarity(%(q)s, filename)
  FROM documents, q WHERE search_vector @@ q.query OR %(q)s <%% filename
ORDER BY score DESC, kind, id
LIMIT %(k)s
"""


def _query_text() -> str:
    q = request.args.get("q")
    if q is None or not q.strip():
        raise validation_error({"q": "is required"})
    if len(q) > MAX_QUERY_CHARS:
        raise validation_error({"q": f"must be at most {MAX_QUERY_CHARS} characters"})
    # Werkzeug decodes invalid UTF-8 as U+FFFD and PostgreSQL text cannot hold NUL.
    if "\ufffd" in q or "\x00" in q:
        raise ApiError(400, "INVALID_ENCODING", "q must be valid UTF-8 text without NUL")
    return q.strip()


def search(q: str, k: int, mode: str) -> list[dict[str, Any]]:
    """Ranked candidates; 503 FTS_NOT_READY when init_fts.py --sync has not run."""
    params = {"q": q, "k": k, "snip": SNIPPET_CHARS, "w": HYBRID_FTS_WEIGHT}
    conn = get_db()
    try:
        rows = conn.execute(_HYBRID if mode == "hybrid" else _BM25, params).fetchall()
    except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction) as exc:
        conn.rollback()
        raise ApiError(
            503,
            "FTS_NOT_READY",
            "full-text search is not set up in this database; run "
            "scripts/init_fts.py --db URL --sync (and apply the migrations)",
            detail=type(exc).__name__,
        ) from None
    return [dict(r, score=round(float(r["score"]), 6)) for r in rows]


@bp.get("/search")
def search_view() -> ResponseReturnValue:
    """?q=text&k=10 -> {"mode", "query", "k", "results": [...]}."""
    q, k = _query_text(), int_arg("k", DEFAULT_K, 1, MAX_K)
    mode = current_app.config["RETRIEVAL_MODE"]
    return jsonify({"mode": mode, "query": q, "k": k, "results": search(q, k, mode)})
