"""Time our backup, restore and drill against the raw PostgreSQL commands they wrap.

Builds a text-heavy database of --size-mb on a throwaway cluster (or on --admin-url), then per
round times, one after the other:
  raw pg_dump -Fc -Z1                 vs  scripts/backup_postgres.py (dump + sha256 + verification)
  raw pg_restore (checklist flags)    vs  scripts/restore_postgres.py (checks + verify + restore)
  the checklist's literal drill       vs  releaseops.drill.run (backup with the fingerprint in
     (pg_dump -Fc, sha256sum,                its manifest, restore with the drill's session
      pg_restore --list, DROP/CREATE,        settings, compare the copy with that fingerprint),
      single-job pg_restore)                 once per --drill-jobs value
and prints the ratios and each drill's steps. Run it on an otherwise idle machine; it uses every
core it gets.

Example:  .venv/bin/python bench/bench_backup_restore.py --size-mb 250
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from releaseops import pg
from releaseops.backup import drill
from releaseops.dburl import DatabaseUrl, parse
from releaseops.pg.scratch import create_database, drop_database
from releaseops.rehearsal.cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DB = "bench_source"
ROW_WORDS = 150


def build(admin: DatabaseUrl, size_mb: int) -> DatabaseUrl:
    """A database of about `size_mb` of text rows: random words with Zipf frequencies.

    Word frequencies follow Zipf's law like natural language, so gzip finds matches about as
    often as in real prose (roughly 2.5-3x smaller), rather than the near-incompressible output
    of uniform random characters.
    """
    drop_database(admin, SOURCE_DB)
    db = create_database(admin, SOURCE_DB)
    rng = random.Random(42)
    vocab = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 10))) for _ in range(20000)
    ]
    zipf = list(itertools.accumulate(1 / rank for rank in range(1, len(vocab) + 1)))
    with db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, checksum text, "
            "applied_at timestamptz DEFAULT now(), file_name text, execution_ms int)"
        )
        conn.execute(
            "INSERT INTO schema_migrations (version, checksum, file_name) "
            "SELECT lpad(g::text, 4, '0'), md5(g::text), g || '_step.sql' "
            "FROM generate_series(1, 12) g"
        )
        conn.execute(
            "CREATE TABLE documents (id bigint PRIMARY KEY, title text, body text, "
            "created_at timestamptz DEFAULT now())"
        )
        written, row = 0, 0
        with conn.cursor().copy("COPY documents (id, title, body) FROM STDIN") as copy:
            while written < size_mb * 1_000_000:
                row += 1
                body = " ".join(rng.choices(vocab, cum_weights=zipf, k=ROW_WORDS))
                title = " ".join(rng.choices(vocab, cum_weights=zipf, k=6))
                copy.write_row((row, title, body))
                written += len(body) + len(title) + 40
        conn.execute("CREATE INDEX documents_title ON documents (title)")
        conn.execute(
            "CREATE TABLE tags AS SELECT g AS id, md5(g::text) AS name "
            "FROM generate_series(1, 50000) g"
        )
        conn.execute("VACUUM ANALYZE")
    return db


def source(admin: DatabaseUrl, size_mb: int, *, reuse: bool) -> DatabaseUrl:
    """The bench database: built afresh, or with `reuse` the one a previous run left."""
    with admin.connect() as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (SOURCE_DB,)
        ).fetchone()
    if reuse and found:
        print(f"reusing {SOURCE_DB}", flush=True)
        return admin.with_dbname(SOURCE_DB)
    start = time.perf_counter()
    db = build(admin, size_mb)
    print(f"built {size_mb} MB in {time.perf_counter() - start:.1f} s", flush=True)
    return db


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def tool(name: str, *args: str, db: DatabaseUrl | None = None) -> None:
    argv = pg.build_argv(pg.find(name), list(args), db)
    subprocess.run(argv, env=pg.child_env(db), check=True, stdout=subprocess.DEVNULL)


def script(name: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def fresh(admin: DatabaseUrl, name: str) -> DatabaseUrl:
    drop_database(admin, name)
    return create_database(admin, name)


RESTORE_FLAGS = ("--clean", "--if-exists", "--no-owner", "--no-privileges")


def one_round(
    admin: DatabaseUrl, src: DatabaseUrl, work: Path, drill_jobs: list[int]
) -> dict[str, float]:
    url = src.sqlalchemy(with_password=True)
    r: dict[str, float] = {}
    raw1 = work / "raw_z1.dump"
    r["raw_dump_z1"] = timed(lambda: tool("pg_dump", "-Fc", "-Z1", "-f", str(raw1), db=src))
    ours_dir = work / "ours"
    r["our_backup"] = timed(
        lambda: script("backup_postgres.py", "--db", url, "--out-dir", str(ours_dir))
    )
    ours = next(ours_dir.glob("*.dump"))
    r["our_bytes"] = ours.stat().st_size
    a = fresh(admin, "bench_raw_restore")
    r["raw_restore"] = timed(lambda: tool("pg_restore", *RESTORE_FLAGS, str(raw1), db=a))
    b = fresh(admin, "bench_our_restore")
    r["our_restore"] = timed(
        lambda: script(
            "restore_postgres.py",
            "--db",
            b.sqlalchemy(with_password=True),
            "--dump",
            str(ours),
            "--confirm-db",
            b.dbname,
            "--allow-cross-server",  # the dump is of bench_source, restored under another name
        )
    )
    start = time.perf_counter()
    r["checklist_dump_z6"] = checklist_drill(admin, src, work)
    r["checklist_drill"] = time.perf_counter() - start
    for jobs in drill_jobs:
        shutil.rmtree(ours_dir)
        start = time.perf_counter()
        rehearsal = drill.run(src, admin, "bench_drill", ours_dir, jobs=jobs)
        r[f"our_drill_j{jobs}"] = time.perf_counter() - start
        assert rehearsal.is_equal, rehearsal.comparison.explain()
        r.update({f"our_drill_j{jobs}_{step}": sec for step, sec in rehearsal.steps.items()})
    r["our_drill"] = min(r[f"our_drill_j{jobs}"] for jobs in drill_jobs)
    r["raw_z1_bytes"] = raw1.stat().st_size
    r["raw_z6_bytes"] = (work / "checklist.dump").stat().st_size
    for name in ("bench_raw_restore", "bench_our_restore", "bench_drill", "bench_checklist"):
        drop_database(admin, name)
    for path in work.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return r


def checklist_drill(admin: DatabaseUrl, src: DatabaseUrl, work: Path) -> float:
    """The drill as the checklist writes it; returns the time of its pg_dump (level 6)."""
    dump = work / "checklist.dump"
    start = time.perf_counter()
    tool("pg_dump", "-Fc", "-f", str(dump), db=src)
    z6 = time.perf_counter() - start
    subprocess.run(["sha256sum", str(dump)], check=True, stdout=subprocess.DEVNULL)
    tool("pg_restore", "--list", str(dump))
    tool("psql", "-c", "DROP DATABASE IF EXISTS bench_checklist;", db=admin)
    tool("psql", "-c", "CREATE DATABASE bench_checklist;", db=admin)
    tool("pg_restore", *RESTORE_FLAGS, str(dump), db=admin.with_dbname("bench_checklist"))
    return z6


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def report(
    rounds: list[dict[str, float]], size_mb: int, drill_jobs: list[int]
) -> dict[str, object]:
    def ratio(a: str, b: str) -> list[float]:
        return [round(r[a] / r[b], 3) for r in rounds]

    return {
        "size_mb": size_mb,
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, {platform.platform()}",
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "pg": pg.find("pg_dump").version,
        "rounds": rounds,
        "backup_vs_raw_dump_z1": ratio("our_backup", "raw_dump_z1"),
        "restore_vs_raw_restore": ratio("our_restore", "raw_restore"),
        "drill_vs_checklist": ratio("our_drill", "checklist_drill"),
        **{
            f"drill_j{jobs}_vs_checklist": ratio(f"our_drill_j{jobs}", "checklist_drill")
            for jobs in drill_jobs
        },
        "targets": {"backup": 1.10, "restore": 1.05, "drill": 0.6},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=250, help="approximate table data size")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--admin-url", help="use this server instead of a throwaway cluster")
    p.add_argument(
        "--reuse",
        action="store_true",
        help=f"with --admin-url: reuse {SOURCE_DB} if it exists, and keep it afterwards",
    )
    p.add_argument(
        "--drill-jobs",
        default=str(drill.DEFAULT_JOBS),
        help="comma-separated pg_restore job counts to time the drill with (e.g. 1,2)",
    )
    args = p.parse_args(argv)
    drill_jobs = [int(j) for j in args.drill_jobs.split(",")]
    cluster = None if args.admin_url else LocalCluster().start()
    admin = parse(args.admin_url) if args.admin_url else cluster.url  # type: ignore[union-attr]
    try:
        src = source(admin, args.size_mb, reuse=args.reuse)
        rounds = []
        with tempfile.TemporaryDirectory(prefix="bench-") as work:
            for n in range(args.rounds):
                load = os.getloadavg()[0]
                result = one_round(admin, src, Path(work), drill_jobs)
                result["load_average_1m_at_start"] = load
                rounds.append({k: round(v, 3) for k, v in result.items()})
                print(f"round {n + 1}: {json.dumps(rounds[-1])}", flush=True)
        print(json.dumps(report(rounds, args.size_mb, drill_jobs), indent=2))
        if not args.reuse:
            drop_database(admin, SOURCE_DB)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
