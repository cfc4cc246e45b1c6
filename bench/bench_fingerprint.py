"""Time the database fingerprint against pg_dump -Fc -Z1 of the same database, in one run.

Builds the text-heavy database of bench_backup_restore.py (--size-mb of Zipf-distributed words)
on a throwaway cluster (or on --admin-url), then per round times, one after the other:
  raw pg_dump -Fc -Z1 -f FILE               (the reference)
  fingerprint.take, content sum128, 1 and 2 connections, and the catalog alone
  fingerprint.take, content sorted          (with --sorted: exact, needs a sort)
  backup.create as it is (fingerprint read in the snapshot, concurrently with pg_dump)
  backup.create with the fingerprint replaced by row counts only (what it read before)
and prints the ratios. Goal: content fingerprint <= 0.5x the dump. Run it on an otherwise idle
machine; everything it creates is dropped at the end.

Example:  .venv/bin/python bench/bench_fingerprint.py --size-mb 1000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backup_restore import SOURCE_DB, cpu_model, source, tool  # noqa: E402

from releaseops import backup, pg  # noqa: E402
from releaseops.backup import fingerprint, manifest  # noqa: E402
from releaseops.backup.fingerprint import Fingerprint, Options  # noqa: E402
from releaseops.backup.fingerprint_content import TableContent  # noqa: E402
from releaseops.dburl import DatabaseUrl, parse  # noqa: E402
from releaseops.pg.scratch import drop_database  # noqa: E402
from releaseops.rehearsal.cluster import LocalCluster  # noqa: E402


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def counts_only(conn: Any, url: DatabaseUrl, options: Options, **_: Any) -> Fingerprint:
    """What the backup read in its snapshot before fingerprints: exact row counts."""
    counts = manifest.row_counts(conn)
    content = {f"table {k}": TableContent(v, "") for k, v in counts.items()}
    return Fingerprint(options, {}, content, {})


def one_round(src: DatabaseUrl, work: Path, *, sorted_mode: bool) -> dict[str, float]:
    r: dict[str, float] = {}
    dump = work / "raw_z1.dump"
    r["raw_dump_z1"] = timed(lambda: tool("pg_dump", "-Fc", "-Z1", "-f", str(dump), db=src))
    r["raw_dump_bytes"] = dump.stat().st_size
    dump.unlink()
    for workers in (1, 2):
        r[f"fingerprint_w{workers}"] = timed(lambda w=workers: fingerprint.take(src, workers=w))
    r["fingerprint_catalog"] = timed(lambda: fingerprint.take(src, catalog_only=True))
    if sorted_mode:
        r["fingerprint_sorted_w2"] = timed(lambda: fingerprint.take(src, content_mode="sorted"))
    r["backup"] = timed(lambda: backup.create(src, work / "with"))
    with mock.patch.object(manifest.fingerprint, "read", counts_only):
        r["backup_counts_only"] = timed(lambda: backup.create(src, work / "without"))
    for path in work.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return r


def report(rounds: list[dict[str, float]], size_mb: int) -> dict[str, object]:
    def ratio(a: str, b: str) -> list[float]:
        return [round(r[a] / r[b], 3) for r in rounds if a in r]

    return {
        "size_mb": size_mb,
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "pg": pg.find("pg_dump").version,
        "rounds": rounds,
        "fingerprint_w2_vs_dump": ratio("fingerprint_w2", "raw_dump_z1"),
        "fingerprint_w1_vs_dump": ratio("fingerprint_w1", "raw_dump_z1"),
        "fingerprint_sorted_vs_dump": ratio("fingerprint_sorted_w2", "raw_dump_z1"),
        "backup_vs_backup_counts_only": ratio("backup", "backup_counts_only"),
        "backup_vs_raw_dump": ratio("backup", "raw_dump_z1"),
        "goal": {"fingerprint_vs_dump": 0.5},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=250, help="approximate table data size")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--sorted", action="store_true", help="also time the sorted content digest")
    p.add_argument("--admin-url", help="use this server instead of a throwaway cluster")
    p.add_argument(
        "--reuse",
        action="store_true",
        help=f"with --admin-url: reuse {SOURCE_DB} if it exists, and keep it afterwards",
    )
    args = p.parse_args(argv)
    cluster = None if args.admin_url else LocalCluster().start()
    admin = parse(args.admin_url) if args.admin_url else cluster.url  # type: ignore[union-attr]
    try:
        src = source(admin, args.size_mb, reuse=args.reuse)
        rounds = []
        with tempfile.TemporaryDirectory(prefix="bench-fp-") as work:
            for n in range(args.rounds):
                load = os.getloadavg()[0]
                result = one_round(src, Path(work), sorted_mode=args.sorted)
                result["load_average_1m_at_start"] = load
                rounds.append({k: round(v, 3) for k, v in result.items()})
                print(f"round {n + 1}: {json.dumps(rounds[-1])}", flush=True)
        print(json.dumps(report(rounds, args.size_mb), indent=2))
        if not args.reuse:
            drop_database(admin, SOURCE_DB)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
