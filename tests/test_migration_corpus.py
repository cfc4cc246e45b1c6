"""The migration corpus: every file's verdict is proven by what PostgreSQL is seen doing."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg import sql

from releaseops.dburl import DatabaseUrl
from releaseops.migrations import catalog as lint_catalog
from tests.migration_corpus import checks, corpus, observe, scoring

FILES = corpus.discover()
Shared = Callable[[str], DatabaseUrl]
MIN_FILES, MIN_DANGEROUS, MIN_SAFE, MIN_PER_RULE = 45, 28, 15, 2
MIN_SERVER_VERSION = 150000


def _create(admin: DatabaseUrl, name: str, template: str | None) -> DatabaseUrl:
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
    with admin.connect(autocommit=True) as conn:
        conn.execute(stmt)
    return admin.with_dbname(name)


def _drop(admin: DatabaseUrl, name: str) -> None:
    with admin.connect(autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def setup_template(pg_cluster: Any) -> Iterator[Callable[[str], str | None]]:
    """One template database per setup name, built on first use and dropped at the end."""
    admin: DatabaseUrl = pg_cluster.url
    with admin.connect(autocommit=True) as conn:
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])
    if version < MIN_SERVER_VERSION:
        pytest.skip(f"not verified: the corpus is decided for PostgreSQL 15+, server is {version}")
    built: dict[str, str] = {}

    def template(setup: str) -> str | None:
        text = corpus.setup_sql(setup)
        if text is None:
            return None
        if setup not in built:
            name = f"corpus_{setup}_{secrets.token_hex(4)}"
            url = _create(admin, name, None)
            built[setup] = name
            observe.run_script(url, text, transactional=True, name=setup)
        return built[setup]

    yield template
    for name in built.values():
        _drop(admin, name)


@pytest.fixture(scope="session")
def shared_db(pg_cluster: Any, setup_template: Callable[[str], str | None]) -> Iterator[Shared]:
    """One database per setup for files whose work is rolled back after they are observed."""
    admin: DatabaseUrl = pg_cluster.url
    made: dict[str, DatabaseUrl] = {}

    def shared(setup: str) -> DatabaseUrl:
        if setup not in made:
            name = f"corpus_shared_{setup}_{secrets.token_hex(4)}"
            made[setup] = _create(admin, name, setup_template(setup))
        return made[setup]

    yield shared
    for url in made.values():
        _drop(admin, url.dbname)


@pytest.fixture
def corpus_db(
    pg_cluster: Any,
    setup_template: Callable[[str], str | None],
    shared_db: Shared,
    corpus_file: corpus.CorpusFile,
) -> Iterator[DatabaseUrl]:
    """A database in the state the file starts from: its own, or the shared one for its setup."""
    if not corpus.needs_own_database(corpus_file):
        yield shared_db(corpus_file.setup)
        return
    name = f"corpus_{secrets.token_hex(6)}"
    url = _create(pg_cluster.url, name, setup_template(corpus_file.setup))
    try:
        corpus.prepare(url, corpus_file, with_setup=False)
        yield url
    finally:
        _drop(pg_cluster.url, name)


@pytest.mark.parametrize("corpus_file", FILES, ids=[f.name for f in FILES])
def test_file_behaves_as_labelled(corpus_file: corpus.CorpusFile, corpus_db: DatabaseUrl) -> None:
    """Applied to the setup schema, the file shows every observation its header announces."""
    commit = corpus.needs_own_database(corpus_file)
    with corpus.rehearsing(corpus_db, corpus_file, commit=commit) as (observation, conn):
        problems = checks.failures(corpus_file, observation, conn)
    assert not problems, "\n".join([*problems, observation.describe()])


@pytest.mark.parametrize("corpus_file", FILES, ids=[f.name for f in FILES])
def test_header_is_complete(corpus_file: corpus.CorpusFile) -> None:
    """Every file has a verdict, a known setup, existing prerequisites and an observation."""
    assert corpus_file.verdict in ("safe", "dangerous") and corpus_file.setup in corpus.SETUPS
    assert corpus_file.expectations
    missing = [n for n in corpus_file.requires if not (corpus.FILES_DIR / n).is_file()]
    assert not missing, f"{corpus_file.name} requires missing file(s) {missing}"
    assert corpus_file.name not in corpus_file.requires


def test_corpus_covers_every_rule() -> None:
    """At least 45 files: 28 dangerous covering every rule twice (advisories once), 15 safe."""
    rules = Counter(f.rule for f in FILES if f.verdict == "dangerous")
    thin = {rule: rules[rule] for rule in corpus.RULES if rules[rule] < MIN_PER_RULE}
    thin |= {rule: 0 for rule in corpus.ADVISORY_RULES if not rules[rule]}
    safe = sum(f.verdict == "safe" for f in FILES)
    assert len(FILES) >= MIN_FILES, f"{len(FILES)} files, want {MIN_FILES}"
    assert rules.total() >= MIN_DANGEROUS, f"{rules.total()} dangerous, want {MIN_DANGEROUS}"
    assert safe >= MIN_SAFE, f"{safe} safe files, want {MIN_SAFE}"
    assert not thin, f"rules with too few files: {thin}"


SAFE_HEAD = "-- corpus: safe\n-- setup: existing\n"
BAD_HEADERS = [
    (SAFE_HEAD + "-- obsrve: rewrite public.items\n", "line 3: unknown key obsrve"),
    (SAFE_HEAD, "line 1: needs at least one '-- observe:' line"),
    ("-- setup: existing\n-- observe: scan *\n", "line 1: needs exactly one '-- corpus:' line"),
    ("-- corpus: dangerous slow\n-- setup: existing\n-- observe: scan *\n", "line 1: corpus:"),
    (SAFE_HEAD + "-- observe: lock public.items\n", "line 3: lock takes 2 argument(s)"),
    ("-- corpus: safe\n-- setup: copy\n-- observe: scan *\n", "line 2: unknown setup 'copy'"),
]


@pytest.mark.parametrize(("header", "problem"), BAD_HEADERS, ids=[p for _, p in BAD_HEADERS])
def test_bad_header_is_refused(header: str, problem: str, tmp_path: Any) -> None:
    """A header that breaks the format is refused, naming the file, the line and the problem."""
    path = tmp_path / "001_bad.sql"
    path.write_text(header + "SELECT 1;\n")
    with pytest.raises(corpus.CorpusFormatError, match="^" + re.escape(f"001_bad.sql {problem}")):
        corpus.load(path)


def test_contradicted_observation_quotes_what_was_seen(shared_db: Shared) -> None:
    """A wrong expectation fails with the observed rewrites and locks in its message."""
    volatile = corpus.load(corpus.FILES_DIR / "001_volatile_default_random.sql")
    wrong = corpus.Expectation("no-rewrite", ("public.items",), None, 1)
    unlocked = corpus.Expectation("no-lock", ("AccessExclusiveLock", "public.items"), None, 2)
    url = shared_db(volatile.setup)
    with corpus.rehearsing(url, volatile, commit=False) as (observation, conn):
        assert checks.verify(wrong, observation, conn) == (
            "observe: no-rewrite public.items (line 1): rewritten relations were "
            "['public.items', 'public.items_pkey']"
        )
        message = checks.verify(unlocked, observation, conn)
    assert message is not None and "AccessExclusiveLock public.items," in message


# --- the migration lint measured against the corpus --------------------------------------------

MIN_RECALL = 0.95


@pytest.fixture(scope="module")
def lint_score() -> scoring.Score:
    return scoring.score()


def test_lint_finds_the_rule_of_at_least_95_percent_of_dangerous_files(lint_score):
    """Recall: a finding with the file's own rule id on >= 95% of the dangerous files."""
    assert lint_score.recall() >= MIN_RECALL, lint_score.table()


def test_lint_fails_no_safe_file(lint_score):
    """No false positive: no safe file gets a finding that fails the gate."""
    assert not lint_score.safe_failures(), lint_score.table()


def test_every_gating_rule_fails_its_dangerous_files(lint_score):
    """Each non-advisory dangerous file fails the gate, not just warns."""
    lenient = [
        f.name
        for f in lint_score.dangerous()
        if f.rule not in corpus.ADVISORY_RULES
        and not any(x.rule_id == f.rule for x in lint_score.results[f.name].failures())
    ]
    assert not lenient, f"found but not failing: {lenient}\n{lint_score.table()}"


@pytest.mark.parametrize("corpus_file", FILES, ids=[f.name for f in FILES])
def test_lint_with_a_database_snapshot_gives_the_replayed_verdict(
    corpus_file: corpus.CorpusFile, corpus_db: DatabaseUrl, lint_score: scoring.Score
) -> None:
    """A catalog snapshot of the prepared database leads the lint to the same findings."""
    with corpus_db.connect() as conn:
        snapshot = lint_catalog.snapshot(conn)
    seen = scoring.lint_file(corpus_file, snapshot)
    replayed = lint_score.results[corpus_file.name]
    assert {(f.rule_id, f.severity) for f in seen.findings} == {
        (f.rule_id, f.severity) for f in replayed.findings
    }, [f.line_text() for f in seen.findings]
