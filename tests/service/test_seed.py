"""exambank.seed: the seed loads idempotently; the known queries parse."""

from __future__ import annotations

from exambank import seed
from releaseops import migrations


def test_seed_loads_once_even_when_run_twice(fresh_db):
    migrations.apply(fresh_db, migrations.DEFAULT_DIR)
    assert seed.load(fresh_db) == 34
    assert seed.load(fresh_db) == 34
    with fresh_db.connect() as conn:
        subjects = conn.execute("SELECT count(DISTINCT subject) FROM questions").fetchone()[0]
    assert subjects == 8


def test_known_queries_name_seed_refs():
    queries = seed.known_queries()
    assert len(queries) >= 10
    assert all(q.expect and q.k >= 1 for q in queries)
    assert all(ref.startswith("seed-") for q in queries for ref in q.expect)
