"""Benchmark `releaseops logs` against `jq -c . >/dev/null` on the same generated request log.

Generates a request log the way the reference service writes it (11 keys per line, seeded),
then, round after round, runs both commands as child processes on the same file and measures
each one's wall time, CPU time (user + system) and peak RSS (from wait4). Memory is measured
at every size given; jq only at the sizes given with --jq-lines (it takes minutes at 5 M).

Example:  .venv/bin/python bench/bench_logs.py --lines 1000000 5000000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROUTES = [
    ("GET", "/api/retrieval/search", 0.5),
    ("GET", "/health", 0.15),
    ("GET", "/api/manage/questions", 0.15),
    ("GET", "/api/manage/questions/<id:question_id>", 0.1),
    ("POST", "/api/manage/questions", 0.05),
    ("GET", "/manage", 0.05),
]


def generate(path: Path, lines: int, seed: int = 1) -> None:
    """Write `lines` request lines as exambank logs them (JSON, one per line)."""
    rnd = random.Random(seed)
    start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    weights = [w for _, _, w in ROUTES]
    with path.open("w") as out:
        batch = []
        for n in range(lines):
            method, route, _ = rnd.choices(ROUTES, weights)[0]
            status = 200 if rnd.random() > 0.02 else rnd.choice((404, 400, 503))
            code = None if status < 400 else rnd.choice(("NOT_FOUND", f"HTTP_{status}"))
            line = {
                "level": "INFO" if status < 500 else "ERROR",
                "logger": "exambank.request",
                "message": "request",
                "request_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "method": method,
                "path": route.replace("<id:question_id>", str(rnd.randrange(1, 500))),
                "route": route,
                "status": status,
                "latency": round(rnd.lognormvariate(1.6, 0.6), 3),
                "error_code": code,
                "timestamp": (start + timedelta(milliseconds=n)).isoformat(),
            }
            batch.append(json.dumps(line))
            if len(batch) == 10_000:
                out.write("\n".join(batch) + "\n")
                batch = []
        if batch:
            out.write("\n".join(batch) + "\n")


def measure(argv: list[str]) -> dict[str, float]:
    """Run `argv` (stdout to /dev/null); its wall time, CPU seconds and peak RSS in MiB."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{argv[0]} failed with {code}: {proc.stderr.read().decode()[-500:]}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def ours(path: Path) -> list[str]:
    """The command line of `releaseops logs FILE --json`."""
    return [sys.executable, "-m", "releaseops.cli.main", "logs", str(path), "--json"]


def run_size(lines: int, rounds: int, workdir: Path, *, with_jq: bool) -> dict[str, Any]:
    """Generate one file, then `rounds` interleaved rounds of ours and jq; medians and ratios."""
    path = workdir / f"api-{lines}.log"
    generate(path, lines)
    result: dict[str, Any] = {"lines": lines, "bytes": path.stat().st_size, "rounds": []}
    for _ in range(rounds):
        row = {"releaseops_logs": measure(ours(path))}
        if with_jq:
            row["jq"] = measure(["jq", "-c", ".", str(path)])
        result["rounds"].append(row)
        print(json.dumps({"lines": lines, **row}), file=sys.stderr, flush=True)
    path.unlink()
    for tool in ("releaseops_logs", "jq"):
        rows = [r[tool] for r in result["rounds"] if tool in r]
        if rows:
            result[tool] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    if with_jq:
        ratios = [r["jq"]["wall_s"] / r["releaseops_logs"]["wall_s"] for r in result["rounds"]]
        cpu = [r["jq"]["cpu_s"] / r["releaseops_logs"]["cpu_s"] for r in result["rounds"]]
        result["jq_over_ours_wall"] = [round(x, 2) for x in ratios]
        result["jq_over_ours_cpu"] = [round(x, 2) for x in cpu]
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse the sizes, run every size, print one JSON document."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 5_000_000])
    p.add_argument("--jq-lines", type=int, nargs="*", default=[1_000_000])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dir", type=Path, default=None, help="where the files go (default: /tmp)")
    args = p.parse_args(argv)
    if shutil.which("jq") is None:
        raise SystemExit("jq not found: install it (apt-get install jq) to compare with it")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        sizes = [
            run_size(n, args.rounds, Path(tmp), with_jq=n in args.jq_lines) for n in args.lines
        ]
    load = os.getloadavg()
    print(json.dumps({"load_average_end": load, "sizes": sizes}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
