"""The data part of a fingerprint: table contents, sequence state and large objects.

A row is hashed by its text form, `(alias.*)::text` under the pinned settings: exact for every
type (`-0` stays `-0` with extra_float_digits, bytea is hex, times are UTC), and a qualified star
cannot be captured by a column that happens to share the alias's name. Two digests exist:

- `sum128` (default): the sum, modulo 2^64, of `hashtextextended(row, 0)` and of seed 1, as
  128 bits of hex. It needs no sort and streams, so a big table is cut into page ranges
  (`ctid` ranges, PostgreSQL 14+) hashed by several connections that share one snapshot.
- `sorted`: the sha256 of the rows' text in byte order (`COPY ... ORDER BY ... COLLATE "C"`),
  an exact digest of the table at the cost of a sort.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from releaseops.backup.fingerprint_catalog import TableRef

CONTENT_MODES = ("sum128", "sorted")
# A job hashes at most this many 8 kB pages (32 MiB), so the workers share a big table evenly.
CHUNK_PAGES = 4096
MASK64 = (1 << 64) - 1
_SUM = (
    "SELECT count(*), coalesce(sum(hashtextextended(x.releaseops_text, 0)), 0)::text, "
    "coalesce(sum(hashtextextended(x.releaseops_text, 1)), 0)::text "
    "FROM {table} AS releaseops_row, "
    "LATERAL (SELECT (releaseops_row.*)::text OFFSET 0) AS x(releaseops_text)"
)
_SORTED = (
    'COPY (SELECT (releaseops_row.*)::text COLLATE "C" FROM {table} AS releaseops_row '
    "ORDER BY 1) TO STDOUT"
)
_LARGE_OBJECTS = """
SELECT m.oid, jsonb_strip_nulls(jsonb_build_object(
    'sha256', encode(sha256(x.data), 'hex'),
    'size', octet_length(x.data),
    'comment', obj_description(m.oid, 'pg_largeobject'),
    'owner', m.lomowner::regrole::text,
    'acl', m.lomacl::text[]))
FROM pg_largeobject_metadata m, LATERAL (SELECT lo_get(m.oid) OFFSET 0) AS x(data)
ORDER BY m.oid
"""
_SEQUENCE_BATCH = 500

Connect = Callable[[], psycopg.Connection[Any]]


@dataclass(frozen=True)
class TableContent:
    """Row count and content digest of one table."""

    rows: int
    digest: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"rows": self.rows, "digest": self.digest}


@dataclass(frozen=True)
class _Job:
    table: TableRef
    first_page: int | None = None
    end_page: int | None = None

    def query(self, mode: str) -> sql.Composed:
        ident = sql.Identifier(self.table.schema, self.table.name)
        if mode == "sorted":
            return sql.SQL(_SORTED).format(table=ident)
        query = sql.SQL(_SUM).format(table=ident)
        if self.first_page is None:
            return query
        where = sql.SQL(" WHERE ctid >= {}::tid").format(sql.Literal(f"({self.first_page},0)"))
        if self.end_page is not None:
            where += sql.SQL(" AND ctid < {}::tid").format(sql.Literal(f"({self.end_page},0)"))
        return query + where


def jobs(tables: list[TableRef], mode: str, *, split: bool) -> list[_Job]:
    """One job per table; with `split`, big tables in page ranges (the last one open-ended)."""
    out: list[_Job] = []
    for table in tables:
        if mode != "sum128" or not split or table.pages <= CHUNK_PAGES:
            out.append(_Job(table))
            continue
        starts = list(range(0, table.pages, CHUNK_PAGES))
        for first, end in zip(starts, [*starts[1:], None], strict=True):
            out.append(_Job(table, first, end))
    return out


def _run(conn: psycopg.Connection[Any], job: _Job, mode: str) -> tuple[int, int, int] | str:
    """(rows, sum seed 0, sum seed 1) for sum128, or `rows:sha256` for sorted."""
    if mode == "sorted":
        digest = hashlib.sha256()
        rows = 0
        with conn.cursor().copy(job.query(mode)) as copy:
            for block in copy:
                digest.update(block)
                rows += bytes(block).count(b"\n")
        return f"{rows}:{digest.hexdigest()}"
    row = conn.execute(job.query(mode)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def table_contents(
    conn: psycopg.Connection[Any],
    tables: list[TableRef],
    *,
    mode: str = "sum128",
    workers: int = 1,
    connect: Connect | None = None,
) -> dict[str, TableContent]:
    """Digest every table; `connect` opens extra connections already in the same snapshot."""
    extra = max(0, workers - 1) if connect is not None else 0
    work = jobs(tables, mode, split=extra > 0 and conn.info.server_version >= 140000)
    results = _hash_all(conn, work, mode, extra, connect)
    return _combine(work, results, mode)


def _hash_all(
    conn: psycopg.Connection[Any],
    work: list[_Job],
    mode: str,
    extra: int,
    connect: Connect | None,
) -> list[tuple[int, int, int] | str]:
    pending: queue.Queue[int] = queue.Queue()
    for index in range(len(work)):
        pending.put(index)
    results: list[tuple[int, int, int] | str | None] = [None] * len(work)
    errors: list[BaseException] = []

    def worker(connection: psycopg.Connection[Any]) -> None:
        while not errors:
            try:
                index = pending.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = _run(connection, work[index], mode)
            except BaseException as exc:  # re-raised by the caller below
                errors.append(exc)

    others = _open(connect, min(extra, len(work) - 1))
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in others]
    try:
        for thread in threads:
            thread.start()
        worker(conn)
    except BaseException:  # interrupted: stop the others before going
        _finish(threads, others, cancel=True)
        raise
    _finish(threads, others, cancel=bool(errors))
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _open(connect: Connect | None, count: int) -> list[psycopg.Connection[Any]]:
    """`count` more connections in the snapshot (none opened when one of them fails)."""
    opened: list[psycopg.Connection[Any]] = []
    try:
        while connect is not None and len(opened) < count:
            opened.append(connect())
    except BaseException:
        for conn in opened:
            conn.close()
        raise
    return opened


def _finish(
    threads: list[threading.Thread], others: list[psycopg.Connection[Any]], *, cancel: bool
) -> None:
    """Wait for the other workers; after a failure, cancel their queries until they stop."""
    for thread, other in zip(threads, others, strict=True):
        while thread.is_alive():
            if cancel:
                with contextlib.suppress(psycopg.Error):
                    other.cancel()
            thread.join(timeout=0.2)
        other.close()


def _combine(
    work: list[_Job], results: list[tuple[int, int, int] | str], mode: str
) -> dict[str, TableContent]:
    if mode == "sorted":
        out: dict[str, TableContent] = {}
        for job, result in zip(work, results, strict=True):
            rows, digest = str(result).split(":")
            out[job.table.key] = TableContent(int(rows), digest)
        return out
    totals: dict[str, list[int]] = {}
    for job, result in zip(work, results, strict=True):
        assert isinstance(result, tuple)
        total = totals.setdefault(job.table.key, [0, 0, 0])
        for i, value in enumerate(result):
            total[i] += value
    return {
        key: TableContent(rows, f"{s0 & MASK64:016x}{s1 & MASK64:016x}")
        for key, (rows, s0, s1) in sorted(totals.items())
    }


def sequence_state(
    conn: psycopg.Connection[Any], sequences: list[tuple[str, str, str]]
) -> dict[str, dict[str, Any]]:
    """`last_value` and `is_called` of each (key, schema, name), read from the sequence itself."""
    state: dict[str, dict[str, Any]] = {}
    for start in range(0, len(sequences), _SEQUENCE_BATCH):
        parts = [
            sql.SQL("SELECT {}::text, last_value, is_called FROM {}").format(
                sql.Literal(key), sql.Identifier(schema, name)
            )
            for key, schema, name in sequences[start : start + _SEQUENCE_BATCH]
        ]
        for key, last_value, is_called in conn.execute(sql.SQL(" UNION ALL ").join(parts)):
            state[str(key)] = {"last_value": int(last_value), "is_called": bool(is_called)}
    return state


def large_objects(conn: psycopg.Connection[Any], *, owners: bool) -> dict[str, dict[str, Any]]:
    """Every large object by OID: sha256 and size of its bytes, its comment (and owner, ACL)."""
    found: dict[str, dict[str, Any]] = {}
    for oid, attributes in conn.execute(_LARGE_OBJECTS).fetchall():
        if not owners:
            attributes.pop("owner", None)
            attributes.pop("acl", None)
        found[f"large object {oid}"] = attributes
    return found
