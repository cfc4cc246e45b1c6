"""Scratch databases: created on enter, dropped on exit, names validated and quoted."""

from __future__ import annotations

import secrets
from types import TracebackType

from psycopg import sql

from releaseops.dburl import DatabaseUrl, is_safe_identifier
from releaseops.errors import ConfigurationError


def create_database(admin: DatabaseUrl, name: str, *, template: str | None = None) -> DatabaseUrl:
    """CREATE DATABASE `name` through the admin URL; returns the new database's URL."""
    if not is_safe_identifier(name):
        raise ConfigurationError(f"refusing database name {name!r}: use letters, digits, _ . -")
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
    with admin.connect(autocommit=True) as conn:
        conn.execute(stmt)
    return admin.with_dbname(name)


def drop_database(admin: DatabaseUrl, name: str) -> None:
    """DROP DATABASE IF EXISTS `name` WITH (FORCE): ends its sessions first."""
    if not is_safe_identifier(name):
        raise ConfigurationError(f"refusing database name {name!r}: use letters, digits, _ . -")
    with admin.connect(autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class ScratchDatabase:
    """A database that exists only inside a `with` block."""

    def __init__(
        self, admin: DatabaseUrl, name: str | None = None, *, template: str | None = None
    ) -> None:
        self.admin = admin
        self.name = name or f"scratch_{secrets.token_hex(6)}"
        self.template = template
        self.url: DatabaseUrl | None = None

    def __enter__(self) -> DatabaseUrl:
        self.url = create_database(self.admin, self.name, template=self.template)
        return self.url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        drop_database(self.admin, self.name)
