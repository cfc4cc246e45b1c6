"""Database URL parsing, conversion and masking."""

import re

import pytest

from releaseops import dburl
from releaseops.errors import InvalidDatabaseUrl

SECRET = "s3cr3t-pa55"

CONVERSIONS = [
    (
        f"postgresql+psycopg://app:{SECRET}@db.example:5433/exam_prod",
        "postgresql://app@db.example:5433/exam_prod",
    ),
    (
        f"postgresql+psycopg2://app:{SECRET}@db.example/exam_prod",
        "postgresql://app@db.example:5432/exam_prod",
    ),
    (f"postgres://app:{SECRET}@10.0.0.5/exam", "postgresql://app@10.0.0.5:5432/exam"),
    (
        f"postgresql://app:{SECRET}@h:5432/exam?sslmode=require",
        "postgresql://app@h:5432/exam?sslmode=require",
    ),
    (f"host=h port=6543 dbname=exam user=app password={SECRET}", "postgresql://app@h:6543/exam"),
    ("host=/var/run/postgresql dbname=exam", "postgresql://%2Fvar%2Frun%2Fpostgresql:5432/exam"),
    ("postgresql://app@[::1]:5432/exam", "postgresql://app@[::1]:5432/exam"),
]


@pytest.mark.parametrize(("raw", "libpq"), CONVERSIONS)
def test_every_accepted_style_converts_to_libpq(raw, libpq):
    url = dburl.parse(raw)
    assert url.libpq() == libpq
    assert SECRET not in str(url)
    assert SECRET not in repr(url)
    assert SECRET not in url.masked()


@pytest.mark.parametrize(("raw", "libpq"), CONVERSIONS[:4])
def test_password_survives_conversion_when_asked_for(raw, libpq):
    assert SECRET in dburl.parse(raw).libpq(with_password=True)
    assert dburl.to_libpq(raw).startswith("postgresql://app:")


def test_parts_are_extracted():
    url = dburl.parse(f"postgresql+psycopg://app:{SECRET}@db.example:5433/exam_prod")
    assert (url.host, url.port, url.dbname, url.user, url.password) == (
        "db.example",
        5433,
        "exam_prod",
        "app",
        SECRET,
    )


def test_special_characters_in_password_round_trip():
    raw = "postgresql://app:p%40ss%2Fw%3Ard@h/exam"
    url = dburl.parse(raw)
    assert url.password == "p@ss/w:rd"
    assert dburl.parse(url.libpq(with_password=True)).password == "p@ss/w:rd"
    assert "p@ss" not in url.masked()


def test_sibling_url_changes_only_the_database():
    url = dburl.parse(f"postgresql+psycopg://app:{SECRET}@h:5433/exam_prod")
    drill = url.with_dbname("exam_restore_drill")
    assert drill.dbname == "exam_restore_drill"
    assert (drill.host, drill.port, drill.user, drill.password) == ("h", 5433, "app", SECRET)
    assert drill.sqlalchemy() == "postgresql+psycopg://app@h:5433/exam_restore_drill"


MALFORMED = [
    ("", "empty"),
    ("   ", "empty"),
    (f"mysql://app:{SECRET}@h/exam", "unsupported URL scheme 'mysql'"),
    (f"postgresql+oracle://app:{SECRET}@h/exam", "unknown SQLAlchemy driver 'oracle'"),
    (f"postgresql://app:{SECRET}@h:99999/exam", "not a number in 1-65535"),
    (f"postgresql://app:{SECRET}@h:abc/exam", "port 'abc'"),
    (f"postgresql://app:{SECRET}@h/", "no database name"),
    (f"just-some-text-{SECRET}", "neither a URL"),
    (f"host=h dbname=exam password={SECRET} bogus=1", "malformed database URL"),
    (f"postgresql://app:{SECRET}@h1,h2/exam", "multiple hosts"),
]


@pytest.mark.parametrize(("raw", "reason"), MALFORMED)
def test_malformed_url_names_the_problem_without_the_password(raw, reason):
    with pytest.raises(InvalidDatabaseUrl, match=reason) as info:
        dburl.parse(raw)
    assert SECRET not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        f"could not connect: postgresql://app:{SECRET}@h/exam refused",
        f"host=h password={SECRET} dbname=x",
        f"PASSWORD = {SECRET}",
        f"postgresql://app:{SECRET}@weird@h/exam",
    ],
)
def test_mask_hides_passwords_in_free_text(text):
    masked = dburl.mask(text)
    assert SECRET not in masked
    assert "***" in masked


def test_env_carries_the_password_for_child_processes():
    env = dburl.parse(f"postgresql://app:{SECRET}@h:5433/exam").env()
    assert env == {
        "PGHOST": "h",
        "PGPORT": "5433",
        "PGDATABASE": "exam",
        "PGUSER": "app",
        "PGPASSWORD": SECRET,
    }


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("exam_restore_drill", True),
        ("a-b.c", True),
        ('x"; drop', False),
        ("", False),
        ("a" * 64, False),
        ("drill;DROP DATABASE prod", False),
    ],
)
def test_safe_identifier(name, ok):
    assert dburl.is_safe_identifier(name) is ok


@pytest.mark.parametrize(
    "raw",
    [
        "postgresql+psycopg://releaseops:Pa ss@word@127.0.0.1:notaport/exam",
        "postgresql://u:S3cr#t/x@h:5432/db",
        "postgresql://u:a b c d@h/db",
        "postgresql://u:p@ss word@h:xx/db",
    ],
)
def test_unencoded_characters_in_a_password_never_reach_the_message(raw):
    secret = raw.partition("://")[2].rpartition("@")[0].partition(":")[2]
    with pytest.raises(InvalidDatabaseUrl) as info:
        dburl.parse(raw)
    message = str(info.value)
    fragments = [t for t in re.split(r"[\s\"'#/?@]+", secret) if len(t) >= 2]
    assert not [f for f in fragments if f in message], message
