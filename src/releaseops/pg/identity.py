"""Which PostgreSQL server and database a URL really reaches, asked of the server itself.

Two URLs can spell one server differently, and one spelling can reach different servers over
time; the server's `system_identifier` (fixed at initdb) plus the database name is what a
dump, a verdict and a service's /health are compared by.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DatabaseUnreachable

_QUERY = (
    "SELECT (SELECT system_identifier::text FROM pg_control_system()), "
    "current_setting('server_version'), current_database()"
)


@dataclass(frozen=True)
class ServerIdentity:
    """A database as its server names it."""

    system_identifier: str | None
    server_version: str
    dbname: str
    url: str  # masked

    @property
    def token(self) -> str | None:
        """A short hash of server and database: what the reference service's /health reports."""
        return token(self.system_identifier, self.dbname)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {**asdict(self), "token": self.token}


def token(system_identifier: str | None, dbname: str) -> str | None:
    """sha256 of `<system_identifier>/<dbname>`, 16 hex digits; None without an identifier."""
    if not system_identifier:
        return None
    return hashlib.sha256(f"{system_identifier}/{dbname}".encode()).hexdigest()[:16]


def probe(db: DatabaseUrl | str, *, timeout: int = 10) -> ServerIdentity:
    """Connect and ask; DatabaseUnreachable (masked) when the server does not answer."""
    url = dburl.parse(db)
    try:
        with url.connect(connect_timeout=timeout) as conn:
            row = conn.execute(_QUERY).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return _without_identifier(url)
    except psycopg.Error as exc:
        raise DatabaseUnreachable(
            f"cannot connect to {url.masked()}: {dburl.mask(str(exc)).strip()}"
        ) from None
    assert row is not None
    return ServerIdentity(row[0], str(row[1]), str(row[2]), url.masked())


def probe_conninfo(conninfo: str, *, timeout: int = 10) -> ServerIdentity:
    """Like probe(), but with a libpq connection string exactly as a libpq tool would get it."""
    try:
        with psycopg.connect(conninfo, connect_timeout=timeout) as conn:
            row = conn.execute(_QUERY).fetchone()
    except psycopg.Error as exc:
        raise DatabaseUnreachable(
            f"libpq cannot connect with {dburl.mask(conninfo)}: {dburl.mask(str(exc)).strip()}"
        ) from None
    assert row is not None
    return ServerIdentity(row[0], str(row[1]), str(row[2]), dburl.mask(conninfo))


def _without_identifier(url: DatabaseUrl) -> ServerIdentity:
    """The identity of a server whose pg_control_system() this role may not call."""
    try:
        with url.connect() as conn:
            row = conn.execute("SELECT current_setting('server_version'), current_database()")
            version, name = row.fetchone() or ("", url.dbname)
    except psycopg.Error as exc:
        raise DatabaseUnreachable(
            f"cannot connect to {url.masked()}: {dburl.mask(str(exc)).strip()}"
        ) from None
    return ServerIdentity(None, str(version), str(name), url.masked())
