"""After a restore: drop what the dump does not hold, so the database equals the dump.

`pg_restore --clean --if-exists` drops and recreates only the objects *in the archive*. A table,
extension, function or large object the release created after the dump was taken survives
the rollback, and the database then is not the known-good state. The dump's fingerprint
(recorded at backup time) lists every top-level object it holds; whatever else exists is
dropped here. Objects inside restored tables (indexes, triggers, constraints, policies) were
recreated from the archive and need nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from releaseops import dburl
from releaseops.backup import fingerprint
from releaseops.backup.fingerprint import Fingerprint
from releaseops.dburl import DatabaseUrl
from releaseops.errors import RestoreFailed

# Top-level object kinds (fingerprint key prefix) and how to drop one; the rest of the key is
# already SQL (quoted, schema-qualified, or a function signature).
_DROPS = {
    "extension": "DROP EXTENSION IF EXISTS {} CASCADE",
    "schema": "DROP SCHEMA IF EXISTS {} CASCADE",
    "table": "DROP TABLE IF EXISTS {} CASCADE",
    "partitioned table": "DROP TABLE IF EXISTS {} CASCADE",
    "foreign table": "DROP FOREIGN TABLE IF EXISTS {} CASCADE",
    "view": "DROP VIEW IF EXISTS {} CASCADE",
    "materialized view": "DROP MATERIALIZED VIEW IF EXISTS {} CASCADE",
    "sequence": "DROP SEQUENCE IF EXISTS {} CASCADE",
    "function": "DROP FUNCTION IF EXISTS {} CASCADE",
    "procedure": "DROP PROCEDURE IF EXISTS {} CASCADE",
    "aggregate": "DROP AGGREGATE IF EXISTS {} CASCADE",
    "type": "DROP TYPE IF EXISTS {} CASCADE",
}
# Longest kind first: "materialized view x" must not match "view".
_KINDS = sorted(_DROPS, key=len, reverse=True)


def _statement(key: str) -> str | None:
    """The DROP for a fingerprint key of a top-level object, else None."""
    if key.startswith("large object "):
        oid = key.removeprefix("large object ")
        return f"SELECT lo_unlink({int(oid)})" if oid.isdigit() else None
    for kind in _KINDS:
        if key.startswith(kind + " "):
            return _DROPS[kind].format(key[len(kind) + 1 :])
    return None


def extras(dump: Fingerprint, live: Fingerprint) -> list[str]:
    """Top-level objects of `live` that `dump` does not hold, as their fingerprint keys."""
    return sorted(k for k in live.objects.keys() - dump.objects.keys() if _statement(k))


def drop_extras(db: DatabaseUrl, dump: Fingerprint) -> list[str]:
    """Drop every top-level object of `db` the dump does not hold; returns what was dropped."""
    found = extras(dump, fingerprint.take(db, catalog_only=True))
    try:
        with db.connect(autocommit=False) as conn:
            found += [
                key
                for (oid,) in conn.execute("SELECT oid FROM pg_largeobject_metadata ORDER BY oid")
                if (key := f"large object {oid}") not in dump.objects
            ]
            for key in found:
                _drop(conn, key)
            conn.commit()
    except psycopg.Error as exc:
        raise RestoreFailed(
            f"the restore of {db.masked()} left objects the dump does not hold "
            f"({', '.join(found)}) and dropping them failed: {dburl.mask(str(exc)).strip()}"
        ) from exc
    return found


def _drop(conn: psycopg.Connection[Any], key: str) -> None:
    statement = _statement(key)
    if statement is None:
        return
    # Dropping an extension or schema may already have taken this object with it.
    with conn.transaction():
        conn.execute(sql.SQL(statement))
