"""Database URL parsing, conversion and masking."""

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from psycopg import sql

from releaseops import dburl
from releaseops.errors import InvalidDatabaseUrl
from tests import scripting

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
        "postgresql+psycopg://releaseops:Qx7 Zk9@Wv5@127.0.0.1:notaport/exam",
        "postgresql://u:S3cr#Tq/Xy@h:5432/db",
        "postgresql://u:Aq Bw Ce Dr@h/db",
        "postgresql://u:Pq@Sz Wv@h:xx/db",
    ],
)
def test_unencoded_characters_in_a_password_never_reach_the_message(raw):
    secret = raw.partition("://")[2].rpartition("@")[0].partition(":")[2]
    with pytest.raises(InvalidDatabaseUrl) as info:
        dburl.parse(raw)
    message = str(info.value)
    fragments = [t for t in re.split(r"[\s\"'#/?@]+", secret) if len(t) >= 2]
    assert not [f for f in fragments if f in message], message


# --- hostile passwords: every character libpq or another parser would split on ---------------

HOSTILE = {"at": "@", "colon": ":", "slash": "/", "percent": "%", "hash": "#", "question": "?"}
HOSTILE["space"] = " "
# Distinctive pieces: none of them occurs in any message by chance.
LEFT, RIGHT = "Qx7Lf", "Zk9Rg"


def hostile_password(char: str) -> str:
    return f"{LEFT}{char}{RIGHT}"


def leaked(message: str) -> list[str]:
    return [piece for piece in (LEFT, RIGHT, "Qx7", "Zk9") if piece in message]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
@pytest.mark.parametrize("char", HOSTILE.values(), ids=HOSTILE.keys())
def test_an_unencoded_hostile_password_is_refused_before_connecting(char, scheme):
    raw = f"{scheme}://app:{hostile_password(char)}@127.0.0.1:5432/exam"
    with pytest.raises(InvalidDatabaseUrl, match="must be percent-encoded") as info:
        dburl.parse(raw)
    assert leaked(str(info.value)) == []
    assert f"{scheme}://app:***@127.0.0.1:5432/exam" in str(info.value)


def test_an_unencoded_at_sign_no_longer_turns_into_a_host_name():
    # libpq would read host 'tPW@127.0.0.1' and report it: the tail of the password.
    with pytest.raises(InvalidDatabaseUrl, match=r"@ as %40") as info:
        dburl.parse("postgresql://app:S3cr@tPW@127.0.0.1:5432/exam")
    assert "tPW" not in str(info.value) and "S3cr" not in str(info.value)


@pytest.mark.parametrize("char", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_percent_encoded_hostile_password_parses_exactly(char):
    password = hostile_password(char)
    url = dburl.parse(f"postgresql+psycopg://app:{quote(password, safe='')}@127.0.0.1:5433/exam")
    assert (url.user, url.password, url.host, url.port, url.dbname) == (
        "app",
        password,
        "127.0.0.1",
        5433,
        "exam",
    )
    assert leaked(url.masked()) == [] and leaked(repr(url)) == []


def test_an_unencoded_at_sign_in_the_user_name_is_refused_too():
    with pytest.raises(InvalidDatabaseUrl, match="more than one '@'"):
        dburl.parse("postgresql://ops@example.org:pw@127.0.0.1/exam")


@pytest.fixture
def hostile_role(pg_cluster, fresh_db):
    """A login role whose password holds every hostile character at once."""
    name = "hostile_login"
    password = f"{LEFT}@:/%#? {RIGHT}"
    with pg_cluster.url.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE pg_read_all_data").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    yield replace(fresh_db, user=name, password=password)
    with pg_cluster.url.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_an_encoded_hostile_password_connects_to_the_real_server(hostile_role):
    encoded = f"postgresql://hostile_login:{quote(hostile_role.password, safe='')}@"
    encoded += f"{hostile_role.host}:{hostile_role.port}/{hostile_role.dbname}"
    with dburl.parse(encoded).connect() as conn:
        row = conn.execute("SELECT current_user").fetchone()
    assert row == ("hostile_login",)


def test_the_checklist_backup_command_works_with_an_encoded_hostile_password(
    hostile_role, tmp_path
):
    env = {**os.environ, "DATABASE_URL": hostile_role.sqlalchemy(with_password=True)}
    assert quote(hostile_role.password, safe="") in env["DATABASE_URL"]
    result = subprocess.run(
        'python scripts/backup_postgres.py --db "$DATABASE_URL" --out-dir "$OUT"',
        shell=True,
        cwd=scripting.ROOT,
        env={**env, "OUT": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout
    assert leaked(result.stdout + result.stderr) == []


@pytest.mark.parametrize("char", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_migration_runner_refuses_an_unencoded_hostile_password_in_one_line(char, capsys):
    from releaseops.cli import migrate

    raw = f"postgresql://app:{hostile_password(char)}@127.0.0.1:1/exam"
    assert migrate.main(["--db", raw, "--status"]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1, err
    assert "percent-encoded" in err
    assert leaked(out + err) == []


def test_an_unencoded_hostile_password_in_database_url_is_refused_by_the_script():
    env = {**os.environ, "DATABASE_URL": f"postgresql://app:{LEFT}@:/%#? {RIGHT}@127.0.0.1/exam"}
    result = scripting.run_script(
        scripting.ROOT / "scripts" / "run_postgres_migrations.py", "--status", env=env
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "percent-encoded" in result.stderr
    assert leaked(result.stdout + result.stderr) == []


def test_a_password_the_shell_split_at_a_space_leaks_through_no_message(capsys):
    from releaseops.cli import backup as cli_backup

    # `--db postgresql://app:Qx7Lf Zk9Rg@h/exam` unquoted: argv holds two words
    assert cli_backup.main(["--db", f"postgresql://app:{LEFT}", f"{RIGHT}@127.0.0.1/exam"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "postgresql://app:***" in err
    assert leaked(out + err) == []
