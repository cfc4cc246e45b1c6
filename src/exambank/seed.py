"""Seed data: load fixtures/seed.sql (idempotent by `ref`) and read fixtures/queries.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from releaseops import dburl
from releaseops.dburl import DatabaseUrl

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEFAULT_SEED = FIXTURES / "seed.sql"
DEFAULT_QUERIES = FIXTURES / "queries.toml"
DEFAULT_K = 5


@dataclass(frozen=True)
class KnownQuery:
    """A retrieval query whose `expect` refs must all be among the top `k` results."""

    q: str
    expect: tuple[str, ...]
    k: int = DEFAULT_K


def load(db: DatabaseUrl | str, path: Path = DEFAULT_SEED) -> int:
    """Run the seed file in one transaction; return how many questions the database holds."""
    text = Path(path).read_text(encoding="utf-8")
    with dburl.parse(db).connect() as conn:
        conn.execute(text.encode())  # a trusted repository file, run as one script
        row = conn.execute("SELECT count(*) FROM questions").fetchone()
    return int(row[0]) if row else 0


def known_queries(path: Path = DEFAULT_QUERIES) -> list[KnownQuery]:
    """The known queries with their expected candidate refs."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return [
        KnownQuery(q=item["q"], expect=tuple(item["expect"]), k=int(item.get("k", DEFAULT_K)))
        for item in data.get("query", [])
    ]
