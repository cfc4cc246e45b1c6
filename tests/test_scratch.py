"""Scratch databases on the session's throwaway cluster: created by file copy, dropped after."""

from releaseops.pg.scratch import ScratchDatabase, copies_files, create_database, drop_database


def test_a_cluster_without_fsync_creates_databases_by_copying_files(pg_cluster):
    with pg_cluster.url.connect(autocommit=True) as conn:
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert copies_files(conn)


def test_a_copy_of_a_template_holds_its_rows_and_is_gone_after_the_block(pg_cluster):
    with ScratchDatabase(pg_cluster.url) as template:
        with template.connect(autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        copy = create_database(pg_cluster.url, f"{template.dbname}_copy", template=template.dbname)
        try:
            with copy.connect() as conn:
                assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2
        finally:
            drop_database(pg_cluster.url, copy.dbname)
    with pg_cluster.url.connect() as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert template.dbname not in names and copy.dbname not in names
