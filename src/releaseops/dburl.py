"""Database URLs: parse any accepted style, convert for libpq tools, mask passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from releaseops.errors import DatabaseUnreachable, InvalidDatabaseUrl

MASK = "***"

# SQLAlchemy adds the driver to the scheme ("postgresql+psycopg://"); libpq knows only these two.
_URL_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)
_LIBPQ_SCHEMES = {"postgresql", "postgres"}
_SQLALCHEMY_DRIVERS = {"psycopg", "psycopg2", "psycopg2cffi", "pg8000", "asyncpg", "psycopg_async"}

# Passwords as they appear in free text: "scheme://user:PASSWORD@" and "password=PASSWORD".
# The password group is greedy up to the last "@" of the token: an unencoded "@" in a password
# must not leave its tail visible.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>\S*)(?=@[^@\s]*)")
_KV_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE
)
_KV_DB_SAFE = re.compile(r"^[A-Za-z0-9_.\-]+$")
# RFC 3986 userinfo without ':': unreserved and sub-delims characters, or a %XX escape.
_USERINFO_PART = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def mask(text: str) -> str:
    """Replace every password inside URLs or `password=` pairs in `text` with ***."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL connection target; str() and repr() never show the password."""

    dbname: str
    host: str = "localhost"
    port: int = 5432
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, raw: str) -> DatabaseUrl:
        """Accept SQLAlchemy, postgres://, postgresql:// and libpq key=value strings."""
        return parse(raw)

    def libpq(self, *, with_password: bool = False) -> str:
        """The postgresql:// URL libpq tools take; the password only when asked for."""
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if with_password and self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host = quote(self.host, safe="") if self.host.startswith("/") else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.params)
        url = f"postgresql://{auth}{host}:{self.port}/{quote(self.dbname, safe='')}"
        return f"{url}?{query}" if query else url

    def sqlalchemy(self, *, with_password: bool = False) -> str:
        """The postgresql+psycopg:// URL the service's configuration uses."""
        return "postgresql+psycopg" + self.libpq(with_password=with_password)[len("postgresql") :]

    def masked(self) -> str:
        """The libpq URL with the password shown as ***; safe for any human-facing text."""
        if self.password is None:
            return self.libpq()
        return mask(self.libpq(with_password=True))

    def conninfo(self) -> str:
        """A psycopg connection string, password included (never print it)."""
        return self.libpq(with_password=True)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """Open a psycopg connection; failures become DatabaseUnreachable with a masked message."""
        kwargs.setdefault("connect_timeout", 10)
        try:
            return psycopg.connect(self.conninfo(), **kwargs)
        except psycopg.OperationalError as exc:
            raise DatabaseUnreachable(
                f"cannot connect to {self.masked()}: {mask(str(exc)).strip()}"
            ) from None

    def with_dbname(self, dbname: str) -> DatabaseUrl:
        """A sibling URL on the same server with another database name."""
        if not dbname:
            raise InvalidDatabaseUrl("the database name must not be empty")
        return replace(self, dbname=dbname)

    def env(self) -> dict[str, str]:
        """Libpq environment for a child process: the password travels here, never in argv."""
        env = {"PGHOST": self.host, "PGPORT": str(self.port), "PGDATABASE": self.dbname}
        if self.user:
            env["PGUSER"] = self.user
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def __str__(self) -> str:
        return self.masked()


def _shown(text: str) -> str:
    """The URL as an error message may show it: all but the user hidden before the last '@'.

    A password with unencoded characters (space, #, /, @) then cannot leak through a message.
    Without any '@', a port that is not a number may be the head of a password the shell split
    at a space (`--db postgresql://u:pa ss@h/db`): it and everything after it are hidden.
    """
    if "://" not in text:
        return "the key=value string"
    scheme, _, rest = text.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        host, colon, port = rest.split("/", 1)[0].partition(":")
        if colon and not host.startswith("[") and not port.isdigit():
            return f"{scheme}://{host}:{MASK}"
        return mask(text)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:{MASK}@{hostpart}" if ":" in userinfo else text


def _secret_part(text: str) -> str:
    """The would-be password of a URL (between the user's ':' and the last '@'), or ''."""
    rest = text.partition("://")[2]
    userinfo = rest.rpartition("@")[0]
    return userinfo.partition(":")[2]


def _scrub(message: str, text: str) -> str:
    """Hide every quoted part of a parser's message that shares a piece with the password."""
    secret = _secret_part(text)

    def hide(match: re.Match[str]) -> str:
        pieces = [p for p in re.split(r"[\s@:/#?]+", match.group(2)) if p]
        return (
            f"{match.group(1)}{MASK}{match.group(1)}"
            if any(p in secret for p in pieces)
            else (match.group(0))
        )

    return mask(re.sub(r"([\"'])(.*?)\1", hide, message)) if secret else mask(message)


def _refuse_unencoded_userinfo(text: str) -> None:
    """Refuse a URL whose user or password holds a character that must be percent-encoded.

    libpq ends the user:password part at the first '@' (or '/'), so `app:S3cr@tPW@db/x` would
    connect to host `tPW@db`, and its error would name that host: part of the password. A
    ':', '#', '?', space or stray '%' is read differently by libpq, SQLAlchemy and browsers.
    Nothing of the URL but what follows its last '@' (never part of a password) is shown.
    """
    rest = text.partition("://")[2]
    if "@" not in rest:
        return
    userinfo = rest.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    if rest.count("@") == 1 and _USERINFO_PART.match(user) and _USERINFO_PART.match(password):
        return
    raise InvalidDatabaseUrl(
        f"the user name or password in the database URL ({_shown(text)}) contains a character "
        f"that must be percent-encoded, or the URL has more than one '@': libpq would split it "
        f"in the wrong place. Encode the "
        f"password: @ as %40, : as %3A, / as %2F, ? as %3F, # as %23, % as %25, a space as %20 "
        f"(python3 -c \"import urllib.parse; print(urllib.parse.quote(input(), safe=''))\" "
        f"reads it from stdin); the password is not shown here"
    )


def _strip_driver(raw: str) -> str:
    match = _URL_SCHEME.match(raw)
    if not match:
        return raw
    scheme = match.group("scheme").lower()
    base, _, driver = scheme.partition("+")
    if base not in _LIBPQ_SCHEMES:
        raise InvalidDatabaseUrl(
            f"unsupported URL scheme {scheme!r}: expected postgresql://, postgres:// or "
            f"postgresql+psycopg:// (got {_shown(raw)!r})"
        )
    if driver and driver not in _SQLALCHEMY_DRIVERS:
        raise InvalidDatabaseUrl(
            f"unknown SQLAlchemy driver {driver!r} in {_shown(raw)!r}; "
            f"use postgresql+psycopg:// or plain postgresql://"
        )
    return "postgresql://" + raw[match.end() :]


def parse(raw: str | DatabaseUrl) -> DatabaseUrl:
    """Parse a database URL in any accepted style into a DatabaseUrl."""
    if isinstance(raw, DatabaseUrl):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidDatabaseUrl("the database URL is empty; set DATABASE_URL or pass --db")
    text = raw.strip()
    looks_like_url = "://" in text
    if not looks_like_url and "=" not in text:
        raise InvalidDatabaseUrl(
            "the database URL is neither a URL (postgresql://user@host:5432/db) "
            "nor a libpq key=value string (host=... dbname=...); it is not echoed here in "
            "case it holds a secret"
        )
    libpq_text = _strip_driver(text) if looks_like_url else text
    if looks_like_url:
        _refuse_unencoded_userinfo(text)
    try:
        values = conninfo_to_dict(libpq_text)
    except psycopg.ProgrammingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unparsable"
        reason = _scrub(first.replace(text, _shown(text)), text)
        raise InvalidDatabaseUrl(f"malformed database URL {_shown(text)!r}: {reason}") from None
    return _from_values({k: str(v) for k, v in values.items()}, _shown(text))


def _from_values(values: dict[str, str], shown: str) -> DatabaseUrl:
    dbname = values.pop("dbname", "")
    if not dbname:
        raise InvalidDatabaseUrl(f"no database name in {shown!r}: add /DBNAME to the URL")
    if "," in values.get("host", "") or "," in values.get("port", ""):
        raise InvalidDatabaseUrl(f"multiple hosts in {shown!r} are not supported")
    port_text = values.pop("port", "5432") or "5432"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        # A '#', '/' or '?' inside an unencoded password makes the parser read part of the
        # password as the port: then the value is not repeated, and the likely cause is named.
        named = f"port {port_text!r}" if port_text in shown else "the port"
        raise InvalidDatabaseUrl(
            f"{named} in {shown!r} is not a number in 1-65535 (a password containing "
            f"#, /, ?, @ or a space must be percent-encoded, e.g. # as %23)"
        )
    host = values.pop("host", "") or values.pop("hostaddr", "") or "localhost"
    return DatabaseUrl(
        dbname=dbname,
        host=host,
        port=int(port_text),
        user=values.pop("user", None) or None,
        password=values.pop("password", None),
        params=tuple(sorted(values.items())),
    )


def to_libpq(raw: str) -> str:
    """Convert any accepted URL to the postgresql:// form (password kept) for libpq tools."""
    return parse(raw).libpq(with_password=True)


def is_safe_identifier(name: str) -> bool:
    """True when `name` is a plain database name (letters, digits, _ . -), no quoting tricks."""
    return bool(_KV_DB_SAFE.match(name)) and len(name) <= 63
