"""The restore drill: safe recreation, comparison with the dump's fingerprint, the whole run."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from releaseops import backup
from releaseops.backup import drill, manifest, restore
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DrillNameRefused, DrillTargetIsSource
from releaseops.pg.scratch import drop_database


def populate(db: DatabaseUrl) -> None:
    with db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, checksum text, "
            "applied_at timestamptz DEFAULT now(), file_name text, execution_ms int)"
        )
        conn.execute(
            "INSERT INTO schema_migrations (version, checksum) VALUES ('0001', 'a'), ('0002', 'b')"
        )
        conn.execute("CREATE TABLE questions (id int PRIMARY KEY, body text, score float8)")
        conn.execute(
            "INSERT INTO questions SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 200) g"
        )
        conn.execute("CREATE TABLE tags (name text)")
        conn.execute("INSERT INTO tags VALUES ('a'), ('b'), ('b')")


@pytest.fixture
def source(fresh_db: DatabaseUrl) -> DatabaseUrl:
    populate(fresh_db)
    return fresh_db


@pytest.fixture
def dump(source, tmp_path) -> backup.Backup:
    return backup.create(source, tmp_path / "backups")


@pytest.fixture
def drill_copy(pg_cluster, source, dump):
    name = f"{source.dbname}_drill"
    target = drill.recreate_database(pg_cluster.url, name, source=source)
    restore.restore(target, dump.path, confirm_db=name)
    yield target
    drop_database(pg_cluster.url, name)


@pytest.mark.parametrize(
    "name",
    ["exam; DROP DATABASE prod", 'exam"drill', "exam drill", "", "x" * 64, "drill$1"],
)
def test_hostile_drill_names_are_refused(pg_cluster, name):
    with pytest.raises(DrillNameRefused, match="refusing drill database name"):
        drill.recreate_database(pg_cluster.url, name, source=pg_cluster.url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_drill_refuses_to_recreate_the_source_database(pg_cluster, source, host):
    admin = DatabaseUrl(
        dbname="postgres",
        host=host,
        port=pg_cluster.url.port,
        user=pg_cluster.url.user,
        password=pg_cluster.url.password,
    )
    with pytest.raises(DrillTargetIsSource, match="would drop it"):
        drill.recreate_database(admin, source.dbname, source=source)
    with source.connect() as conn:
        assert conn.execute("SELECT count(*) FROM questions").fetchone() == (200,)


def test_recreate_starts_from_an_empty_database(pg_cluster, source):
    name = f"{source.dbname}_again"
    first = drill.recreate_database(pg_cluster.url, name, source=source)
    with first.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (x int)")
    again = drill.recreate_database(pg_cluster.url, name, source=source)
    with again.connect() as conn:
        assert conn.execute("SELECT to_regclass('leftover')").fetchone() == (None,)
    drop_database(pg_cluster.url, name)


def test_restored_copy_equals_the_fingerprint_the_dump_recorded(dump, drill_copy):
    result = drill.compare_with_dump(dump.path, drill_copy)
    assert result.is_verified and result.is_equal, result.explain()
    assert "3 tables, 205 rows" in result.explain()
    assert result.explain().startswith(f"the drill copy equals the dump {dump.path.name}")


def test_one_changed_row_is_reported_by_table(dump, drill_copy):
    with drill_copy.connect(autocommit=True) as conn:
        conn.execute("UPDATE questions SET body = 'changed' WHERE id = 17")
    result = drill.compare_with_dump(dump.path, drill_copy)
    assert not result.is_equal
    assert result.differences == ["table public.questions: content differs (same 200 rows)"]


def test_missing_rows_and_tables_are_reported_by_table(dump, drill_copy):
    with drill_copy.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM tags WHERE name = 'b'")
        conn.execute("CREATE TABLE extra (x int)")
    result = drill.compare_with_dump(dump.path, drill_copy)
    assert "table public.extra: only in the drill copy" in result.differences
    assert "table public.tags: 3 rows vs 1 rows" in result.differences


def test_schema_migrations_difference_names_the_table(dump, drill_copy):
    with drill_copy.connect(autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0002'")
    result = drill.compare_with_dump(dump.path, drill_copy)
    assert result.differences == ["table public.schema_migrations: content differs (same 2 rows)"]


def test_a_dump_without_a_fingerprint_ends_not_verified(dump, drill_copy):
    old = replace(manifest.load(dump.path), fingerprint=None, manifest_version=1)
    manifest.write(dump.path, old)
    result = drill.compare_with_dump(dump.path, drill_copy)
    assert not result.is_verified and not result.is_equal
    assert result.explain().startswith(
        f"not verified: {dump.path.name} records no fingerprint (manifest version 1"
    )
    assert result.as_dict()["verified"] is False


def test_a_damaged_fingerprint_in_the_manifest_ends_not_verified(dump, drill_copy):
    damaged = replace(manifest.load(dump.path), fingerprint={"format": "something else"})
    manifest.write(dump.path, damaged)
    result = drill.compare_with_dump(dump.path, drill_copy)
    assert not result.is_verified
    assert "is not a releaseops fingerprint" in result.explain()


def test_whole_drill_runs_every_step_and_compares_equal(pg_cluster, source, tmp_path):
    name = f"{source.dbname}_rehearsal"
    report = drill.run(source, pg_cluster.url, name, tmp_path / "backups")
    assert report.is_equal, report.comparison.explain()
    assert list(report.steps) == ["recreate", "backup", "restore", "compare"]
    assert report.backup.path.parent == tmp_path / "backups"
    assert report.restore.jobs == drill.DEFAULT_JOBS
    assert "maintenance_work_mem" in report.restore.target
    assert report.as_dict()["equal"] is True
    assert pg_cluster.url.password not in "\n".join(report.lines())
    drop_database(pg_cluster.url, name)


def test_a_source_taking_writes_during_the_drill_shows_no_false_difference(
    pg_cluster, source, tmp_path
):
    # Rows and sequence values land in the source before, during and after the backup: the
    # restored copy is compared with the dump's own snapshot, so none of them is a difference.
    with source.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        with source.connect(autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO writes DEFAULT VALUES")
                conn.execute("UPDATE questions SET score = score + 1 WHERE id = 1")
                written.append(1)
                time.sleep(0.005)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    name = f"{source.dbname}_busy"
    try:
        report = drill.run(source, pg_cluster.url, name, tmp_path / "backups")
    finally:
        stop.set()
        writer.join(timeout=10)
        drop_database(pg_cluster.url, name)
    assert report.is_equal, report.comparison.explain()
    recorded = report.backup.manifest
    assert recorded is not None and recorded.row_counts["public.writes"] < len(written)
    with source.connect() as conn:
        row = conn.execute("SELECT count(*) FROM writes").fetchone()
    assert row is not None and row[0] > recorded.row_counts["public.writes"]


def test_restore_url_adds_the_session_settings_to_existing_options():
    url = DatabaseUrl("drill", params=(("options", "-c work_mem=64MB"), ("sslmode", "disable")))
    options = dict(drill.restore_url(url).params)["options"]
    assert options.startswith("-c work_mem=64MB -c maintenance_work_mem=")
    assert "-c synchronous_commit=off" in options
    assert dict(drill.restore_url(url).params)["sslmode"] == "disable"


def test_drill_with_a_hostile_name_stops_before_the_backup(pg_cluster, source, tmp_path):
    with pytest.raises(DrillNameRefused, match="refusing drill database name"):
        drill.run(source, pg_cluster.url, "x; DROP DATABASE y", tmp_path / "backups")
    assert not (tmp_path / "backups").exists()


def test_comparison_ignores_a_time_zone_set_only_on_the_source_database(pg_cluster):
    from releaseops.backup import drill
    from releaseops.pg.scratch import ScratchDatabase

    with ScratchDatabase(pg_cluster.url) as source, ScratchDatabase(pg_cluster.url) as copy:
        for url in (source, copy):
            with url.connect(autocommit=True) as conn:
                conn.execute("CREATE TABLE t (at timestamptz)")
                conn.execute("INSERT INTO t VALUES ('2026-11-28 10:00:00+00')")
        with source.connect(autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE \"{source.dbname}\" SET TimeZone = 'Asia/Tokyo'")
        assert drill.compare(source, copy).is_equal


@pytest.mark.parametrize("name", ["postgres", "template0", "template1"])
def test_a_system_database_is_never_a_drill_target(pg_cluster, fresh_db, name):
    from releaseops.backup import drill
    from releaseops.errors import DrillNameRefused

    with pytest.raises(DrillNameRefused, match="is a PostgreSQL system database"):
        drill.recreate_database(pg_cluster.url, name, source=fresh_db)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("localhost", "127.0.0.1", True), ("[::1]", "localhost", True), ("db1", "db2", False)],
)
def test_same_server_treats_every_loopback_spelling_as_one_host(a, b, same):
    from releaseops.backup import drill
    from releaseops.dburl import DatabaseUrl

    assert drill.same_server(DatabaseUrl("x", host=a), DatabaseUrl("y", host=b)) is same
