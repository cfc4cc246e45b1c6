"""Hold an observation to a corpus file's `-- observe:` lines; failures quote what was seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from releaseops.migrations.trace_records import COMMITTED, LEFT_OPEN, Observation, StatementRecord
from tests.migration_corpus.corpus import CorpusFile, Expectation

ANY = "*"
Check = Callable[[Expectation, Sequence[StatementRecord]], str | None]


def _named(name: str, *candidates: str) -> bool:
    return name == ANY or name in candidates


def _scope(expectation: Expectation, observation: Observation) -> Sequence[StatementRecord]:
    if expectation.statement is None:
        return observation.statements
    return observation.statements[expectation.statement - 1 : expectation.statement]


def _unobserved(records: Sequence[StatementRecord], attribute: str) -> list[int]:
    return [r.index for r in records if getattr(r, attribute) is None]


def _rewrite(expectation: Expectation, records: Sequence[StatementRecord]) -> str | None:
    (name,) = expectation.args
    seen = sorted({rel for r in records for rel in r.rewritten})
    hit = [rel for rel in seen if _named(name, rel)]
    if (expectation.kind == "rewrite") == bool(hit):
        return None
    return f"{expectation}: rewritten relations were {seen or 'none'}"


def _lock(expectation: Expectation, records: Sequence[StatementRecord]) -> str | None:
    mode, name = expectation.args
    blind = _unobserved(records, "locks")
    held = sorted({lock for r in records for lock in (r.locks or ())})
    hit = [lock for lock in held if lock.mode == mode and _named(name, lock.relation, lock.table)]
    shown = ", ".join(map(str, held)) or "none"
    if expectation.kind == "lock" and hit:
        return None
    if expectation.kind == "no-lock" and not hit and not blind:
        return None
    blind_note = f"; locks not observable for statement(s) {blind}" if blind else ""
    return f"{expectation}: locks held were {shown}{blind_note}"


def _scan(expectation: Expectation, records: Sequence[StatementRecord]) -> str | None:
    (name,) = expectation.args
    blind = _unobserved(records, "scans")
    seen: dict[str, int] = {}
    for record in records:
        for table, count in (record.scans or {}).items():
            seen[table] = seen.get(table, 0) + count
    hit = [table for table in seen if _named(name, table)]
    if expectation.kind == "scan" and hit:
        return None
    if expectation.kind == "no-scan" and not hit and not blind:
        return None
    blind_note = f"; scans not observable for statement(s) {blind}" if blind else ""
    return f"{expectation}: sequential scans were {seen or 'none'}{blind_note}"


def _error(expectation: Expectation, records: Sequence[StatementRecord]) -> str | None:
    (sqlstate,) = expectation.args
    errors = [f"statement {r.index}: [{r.sqlstate}] {r.error}" for r in records if r.sqlstate]
    if any(r.sqlstate == sqlstate for r in records):
        return None
    return f"{expectation}: errors were {errors or 'none'}"


def _notice(expectation: Expectation, records: Sequence[StatementRecord]) -> str | None:
    (text,) = expectation.args
    notices = [n for r in records for n in r.notices]
    if any(text in notice for notice in notices):
        return None
    return f"{expectation}: notices were {notices or 'none'}"


CHECKS: dict[str, Check] = {
    "rewrite": _rewrite,
    "no-rewrite": _rewrite,
    "lock": _lock,
    "no-lock": _lock,
    "scan": _scan,
    "no-scan": _scan,
    "error": _error,
    "notice": _notice,
}


def catalog(expectation: Expectation, conn: psycopg.Connection[Any]) -> str | None:
    """Evaluate a `catalog` expression after the migration; it must be true."""
    (expression,) = expectation.args
    try:
        value = conn.execute(f"SELECT ({expression})::boolean".encode()).fetchone()
    except psycopg.Error as exc:
        return f"{expectation}: the expression failed: [{exc.sqlstate}] {str(exc).strip()}"
    if value is not None and value[0] is True:
        return None
    return f"{expectation}: the expression was {value[0] if value else None}, not true"


def verify(
    expectation: Expectation, observation: Observation, conn: psycopg.Connection[Any]
) -> str | None:
    """None when the server was seen doing what `expectation` says, else what it did instead."""
    if expectation.kind == "catalog":
        return catalog(expectation, conn)
    records = _scope(expectation, observation)
    if not records:
        return f"{expectation}: no such statement was run ({len(observation.statements)} ran)"
    return CHECKS[expectation.kind](expectation, records)


def unexpected_failure(corpus_file: CorpusFile, observation: Observation) -> str | None:
    """A failure (of a statement or of the commit) that no `error` line announced."""
    announced = {e.args[0] for e in corpus_file.expectations if e.kind == "error"}
    failure = observation.failure
    if failure is not None and failure.sqlstate not in announced:
        return (
            f"unexpected error in statement {failure.index}: [{failure.sqlstate}] {failure.error}"
        )
    if failure is None and observation.outcome not in (COMMITTED, LEFT_OPEN):
        return f"unexpected outcome: {observation.outcome}"
    return None


def failures(
    corpus_file: CorpusFile, observation: Observation, conn: psycopg.Connection[Any]
) -> list[str]:
    """Every expectation of `corpus_file` that the observation contradicts, with evidence."""
    found = [verify(e, observation, conn) for e in corpus_file.expectations]
    found.append(unexpected_failure(corpus_file, observation))
    return [message for message in found if message]
