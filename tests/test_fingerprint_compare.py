"""`releaseops compare` and `releaseops fingerprint`: one row per change a restore can lose.

The source is the film-rental fixture; its pg_dump / pg_restore --clean --if-exists --no-owner
--no-privileges round trip must compare equal, and each single change made to a copy of the
restored database must exit 1 naming the object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import fingerprint, manifest
from releaseops.cli.main import main as releaseops
from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import drop_database
from releaseops.rehearsal.cluster import free_port
from tests.test_fingerprint import build_fixture, copy_of, execute, round_trip

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = Path(sys.executable).parent / "releaseops"

# (id, statements on the restored copy, a line the comparison must print)
CHANGES = [
    (
        "setval",
        ["SELECT setval('rental.odd_seq', 7)"],
        "sequence rental.odd_seq: last_value -2 vs 7",
    ),
    (
        "nextval",
        ["SELECT nextval('rental.film_film_id_seq')"],
        "sequence rental.film_film_id_seq: last_value 200 vs 201",
    ),
    (
        "large object byte",
        ["SELECT lo_put(424242, 1, '\\x01')"],
        "large object 424242: bytes differ (sha256 ",
    ),
    ("large object deleted", ["SELECT lo_unlink(424243)"], "large object 424243: missing from "),
    (
        "large object comment",
        ["COMMENT ON LARGE OBJECT 424242 IS 'other'"],
        "large object 424242: comment poster vs other",
    ),
    (
        "matview refreshed",
        ["REFRESH MATERIALIZED VIEW rental.pending_report"],
        "materialized view rental.pending_report: populated false vs true",
    ),
    (
        "matview unpopulated",
        ["REFRESH MATERIALIZED VIEW rental.films_by_rating WITH NO DATA"],
        "materialized view rental.films_by_rating: populated true vs false",
    ),
    (
        "disabled trigger",
        ["ALTER TABLE rental.film DISABLE TRIGGER last_updated"],
        "trigger last_updated on rental.film: enabled O vs D",
    ),
    (
        "changed index",
        [
            "DROP INDEX rental.film_rating_idx",
            "CREATE INDEX film_rating_idx ON rental.film (rating DESC) WHERE rating IS NOT NULL",
        ],
        "index rental.film_rating_idx: definition CREATE INDEX film_rating_idx ON rental.film "
        "USING btree (rating) WHERE (rating IS NOT NULL) vs CREATE INDEX film_rating_idx ON "
        "rental.film USING btree (rating DESC)",
    ),
    (
        "changed constraint",
        [
            "ALTER TABLE rental.film DROP CONSTRAINT film_length_check, "
            "ADD CONSTRAINT film_length_check CHECK (length >= 0)"
        ],
        "constraint film_length_check on rental.film: definition CHECK ((length > 0)) vs "
        "CHECK ((length >= 0))",
    ),
    (
        "constraint made NOT VALID",
        [
            "ALTER TABLE rental.film DROP CONSTRAINT film_length_check, "
            "ADD CONSTRAINT film_length_check CHECK (length > 0) NOT VALID"
        ],
        "constraint film_length_check on rental.film: validated true vs false",
    ),
    (
        "changed function body",
        [
            "CREATE OR REPLACE FUNCTION rental.last_updated() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN NEW.last_update := now() + interval '1 s'; RETURN NEW; END $$"
        ],
        "function rental.last_updated(): definition differs (sha256 ",
    ),
    (
        "new enum value",
        ["ALTER TYPE rental.mpaa_rating ADD VALUE 'X'"],
        "type rental.mpaa_rating: labels [G, PG, PG-13, PG-15, R, NC-17] vs "
        "[G, PG, PG-13, PG-15, R, NC-17, X]",
    ),
    ("dropped extension", ["DROP EXTENSION pg_trgm CASCADE"], "extension pg_trgm: missing from "),
    (
        "changed default",
        ["ALTER TABLE rental.film ALTER COLUMN rental_rate SET DEFAULT 5.99"],
        "column rental.film.rental_rate: default 4.99 vs 5.99",
    ),
    (
        "dropped RLS policy",
        ["DROP POLICY customer_store ON rental.customer"],
        "policy customer_store on rental.customer: missing from ",
    ),
    (
        "SET UNLOGGED",
        ["ALTER TABLE rental.edge SET UNLOGGED"],
        "table rental.edge: persistence logged vs unlogged",
    ),
    (
        "SET LOGGED",
        ["ALTER TABLE rental.session_cache SET LOGGED"],
        "table rental.session_cache: persistence unlogged vs logged",
    ),
    (
        "DETACH PARTITION",
        ["ALTER TABLE rental.payment DETACH PARTITION rental.payment_2022_02"],
        "table rental.payment_2022_02: partition_of rental.payment vs (none)",
    ),
    (
        "CLUSTER flag",
        ["ALTER TABLE rental.film SET WITHOUT CLUSTER"],
        "index rental.film_title_idx: clustered true vs false",
    ),
    (
        "float -0 to 0",
        ["UPDATE rental.edge SET f8 = 0 WHERE id = 1"],
        "table rental.edge: content differs (same 4 rows)",
    ),
    (
        "the t-column case",
        ["UPDATE rental.t SET note = 'changed' WHERE t = 1"],
        "table rental.t: content differs (same 2 rows)",
    ),
    ("a deleted row", ["DELETE FROM rental.t WHERE t = 2"], "table rental.t: 2 rows vs 1 rows"),
]
NO_OPS = [
    ("no-op UPDATE", "UPDATE rental.payment SET amount = amount"),
    ("VACUUM FULL", "VACUUM FULL"),
    ("ANALYZE", "ANALYZE"),
]


@pytest.fixture(scope="module")
def world(pg_cluster, tmp_path_factory) -> Iterator[tuple[DatabaseUrl, DatabaseUrl, Path]]:
    work = tmp_path_factory.mktemp("compare")
    source = build_fixture(pg_cluster.url, "fpc_source")
    restored = round_trip(source, pg_cluster.url, "fpc_restored", work)
    saved = fingerprint.take(source).save(work / "source.fingerprint.json")
    yield source, restored, saved
    for db in (source, restored):
        drop_database(pg_cluster.url, db.dbname)


@pytest.fixture
def changed(pg_cluster, world) -> Iterator[DatabaseUrl]:
    db = copy_of(pg_cluster.url, world[1])
    yield db
    drop_database(pg_cluster.url, db.dbname)


def console(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `releaseops` command; a password travels in PGPASSWORD, never in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [str(CONSOLE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def no_password(url: DatabaseUrl) -> str:
    return url.libpq(with_password=False)


def test_round_trip_exits_0_through_the_console_command(world):
    source, restored, _ = world
    proc = console("compare", no_password(source), no_password(restored), password=source.password)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "equals" in proc.stdout and "10 tables, 531 rows, 2 large objects" in proc.stdout
    assert source.password not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("statements", "expected"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_each_single_change_exits_1_naming_the_object(world, changed, capsys, statements, expected):
    execute(changed, *statements)
    code = releaseops(["compare", str(world[2]), changed.libpq(with_password=True)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert expected in out, out
    assert changed.password not in out


@pytest.mark.parametrize("statement", [n[1] for n in NO_OPS], ids=[n[0] for n in NO_OPS])
def test_no_op_update_vacuum_full_and_analyze_exit_0(world, changed, capsys, statement):
    execute(changed, statement)
    code = releaseops(["compare", str(world[2]), changed.libpq(with_password=True)])
    assert code == 0, capsys.readouterr().out


def test_catalog_only_ignores_data_changes(world, changed, capsys):
    execute(changed, "SELECT setval('rental.odd_seq', 7)", "UPDATE rental.t SET note = 'x'")
    code = releaseops(
        ["compare", "--catalog-only", str(world[2]), changed.libpq(with_password=True)]
    )
    assert code == 0, capsys.readouterr().out


def test_json_output_lists_each_difference(world, changed, capsys):
    execute(changed, "ALTER TABLE rental.film DISABLE TRIGGER last_updated")
    code = releaseops(["compare", "--json", str(world[2]), changed.libpq(with_password=True)])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["equal"] is False
    assert data["differences"] == [
        {
            "object": "trigger last_updated on rental.film",
            "attribute": "enabled",
            "a": "O",
            "b": "D",
            "text": "trigger last_updated on rental.film: enabled O vs D",
        }
    ]


def test_fingerprint_command_saves_a_file_that_compares_equal(world, tmp_path):
    source = world[0]
    out = tmp_path / "fp.json"
    proc = console("fingerprint", no_password(source), "-o", str(out), password=source.password)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{out}: ") and source.password not in proc.stdout
    again = console("compare", str(out), str(world[2]))
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_backup_is_compared_through_the_fingerprint_in_its_manifest(world, tmp_path, capsys):
    source, restored, _ = world
    made = backup.create(source, tmp_path / "backups")
    assert releaseops(["compare", str(made.path), restored.libpq(with_password=True)]) == 0
    assert releaseops(["compare", str(made.manifest_path), str(world[2])]) == 0
    capsys.readouterr()


def test_a_backup_without_a_fingerprint_is_a_configuration_error(world, tmp_path, capsys):
    made = backup.create(world[0], tmp_path / "backups")
    old = replace(manifest.load(made.path), fingerprint=None, manifest_version=1)
    manifest.write(made.path, old)
    code = releaseops(["compare", str(made.path), str(world[2])])
    err = capsys.readouterr().err
    assert code == 2
    assert "records no fingerprint (manifest version 1)" in err


def test_unreachable_database_exits_3_without_the_password(world, capsys):
    url = replace(world[0], port=free_port())
    code = releaseops(["compare", str(world[2]), url.libpq(with_password=True)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert world[0].password not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-file.json"], "is neither an existing file nor a database URL"),
        (["--owners", "SAVED"], "--owners needs a fingerprint taken with owners"),
        (["NOT_JSON"], "cannot read"),
    ],
)
def test_usage_and_configuration_errors_exit_2(world, tmp_path, capsys, args, message):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    args = [{"SAVED": str(world[2]), "NOT_JSON": str(broken)}.get(a, a) for a in args]
    code = releaseops(["compare", *args, str(world[2])])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err


def test_help_is_the_module_docstring():
    proc = console("compare", "--help")
    assert proc.returncode == 0
    assert "Exit codes:" in proc.stdout and "Example:" in proc.stdout
    summary = console("--help").stdout
    assert "compare" in summary and "fingerprint" in summary


def test_fingerprint_to_stdout_is_the_json_of_the_file(world, capsys):
    code = releaseops(["fingerprint", world[0].libpq(with_password=True), "-o", "-"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["format"] == "releaseops-fingerprint"
    assert printed["objects"] == json.loads(world[2].read_text())["objects"]


def test_a_catalog_only_file_compares_the_catalog_and_says_so(world, changed, tmp_path, capsys):
    saved = tmp_path / "catalog.json"
    source = world[0].libpq(with_password=True)
    assert releaseops(["fingerprint", source, "-o", str(saved), "--catalog-only"]) == 0
    execute(changed, "UPDATE rental.t SET note = 'x'")
    code = releaseops(["compare", str(saved), changed.libpq(with_password=True)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"note: data not compared: {saved} is a catalog-only fingerprint" in out
